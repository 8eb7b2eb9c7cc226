"""Run the fake Bot API (tests/fakes/telegram_api.py) as its own process for benchmarks.

Prints its base URL on the first line of stdout, then serves until terminated.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from testkit.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI


async def main(enforce_limits: bool) -> None:
    api = FakeTelegramAPI(DEFAULT_TOKEN, enforce_limits=enforce_limits)
    await api.start()
    print(api.url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await api.stop()


if __name__ == "__main__":
    asyncio.run(main("--enforce-limits" in sys.argv))
