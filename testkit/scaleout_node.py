"""One `danvan run` process for the scale-out and outage tests, on an accelerated clock.

The real TelegramBotApp (webhook, outbox sender, scheduler) as `danvan run` builds it, except for
the clock, the scheduler's tick and the sender's poll, which are shortened so that a simulated half
hour passes in about half a minute. Every node computes the same simulated time from the same
environment: SIM_START + (wall time - SIM_T0) * SIM_FACTOR.

    DANVAN_CONFIG=... DATABASE_URL=... SIM_START=2026-12-01T00:45:00+00:00 SIM_T0=<epoch> SIM_FACTOR=60 \
    NODE_NAME=a SCAN_SECONDS=0.5 python -m testkit.scaleout_node

Prints one JSON line {"port": ...} when it serves, and one JSON line of counters after SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from datetime import datetime, timedelta, timezone

from bot.main.composition import TelegramBotApp, build_services
from bot.config.settings import load_settings


class AcceleratedClock:
    """Simulated time shared by every node: SIM_START at wall time SIM_T0, then SIM_FACTOR times
    faster than the wall clock for SIM_SECONDS simulated seconds, then at the wall clock's pace (so
    that draining after the window cannot run into the next scheduled event)."""

    def __init__(self, start: datetime, t0: float, factor: float, window: float = float("inf")) -> None:
        self.start, self.t0, self.factor, self.window = start.astimezone(timezone.utc), t0, factor, window

    def now(self) -> datetime:
        return self.start + timedelta(seconds=sim_seconds(time.time(), self.t0, self.factor, self.window))


def sim_seconds(wall: float, t0: float, factor: float, window: float) -> float:
    """Simulated seconds since the start at this wall time."""
    fast = (wall - t0) * factor
    if fast <= window:
        return fast
    return window + (wall - t0 - window / factor)


async def main() -> None:
    env = os.environ
    name = env.get("NODE_NAME", "node")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "apscheduler", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load_settings(env["DANVAN_CONFIG"], dotenv=False)
    clock = AcceleratedClock(datetime.fromisoformat(env["SIM_START"]), float(env["SIM_T0"]),
                             float(env.get("SIM_FACTOR", "60")), float(env.get("SIM_SECONDS", "inf")))
    services = build_services(settings, clock=clock, migrate=False)
    app = TelegramBotApp(settings, services=services, port=0)
    app.sender.owner = f"{name}:{os.getpid()}"
    app.sender.poll_interval = float(env.get("POLL_SECONDS", "0.2"))
    app.scanner.interval_seconds = float(env.get("SCAN_SECONDS", "0.5"))
    await app.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, app.stop_event.set)
    print(json.dumps({"port": app.port, "owner": app.sender.owner}), flush=True)
    try:
        await app.stop_event.wait()
    finally:
        scans = app.scanner.scans
        await app.stop()
        print(json.dumps({"owner": app.sender.owner, "scans": scans}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
