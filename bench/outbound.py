"""Benchmark 18: 1,000 notifications to 50 private chats and 10 groups through a fake Bot API that
enforces Telegram's limits (1/s per chat, 20/min per group, 30/s overall). Reports the time against
the limit-bound minimum and the number of 429 answers, and appends a row to the results table.

    python -m bench.outbound [--messages 1000] [--latency 0.3]

--latency adds a network round trip of about that many seconds to every send (half each way, each
leg ±20 %), as a loaded machine or a distant Bot API does: the time must stay limit-bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import tempfile
from datetime import datetime, timezone
from pathlib import Path
import time

from bot.core.clock import SystemClock
from bot.core.domain import Reply
from handlers.telegram.request import AiohttpRequest
from notifications.outbox.sender import OutboxSender
from notifications.telegram.sender import TelegramSender
from bench.harness import RESULTS
from bench.report import add_row
from notifications.outbox.channel import ChannelSender
from storage.engine import make_engine, write_session
from storage.migrate import upgrade_database
from storage.outbox import enqueue_message
from testkit.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from telegram import Bot


def plan(messages: int, privates: int = 50, groups: int = 10) -> list[str]:
    """Chat ids in enqueue order: 80% private chats, 20% groups, interleaved."""
    chats = [str(100_000 + i) for i in range(privates)]
    group_ids = [str(-100_000 - i) for i in range(groups)]
    order, to_private, to_group = [], 0, 0
    for n in range(messages):
        if n % 5 == 4:
            order.append(group_ids[to_group % groups])
            to_group += 1
        else:
            order.append(chats[to_private % privates])
            to_private += 1
    return order


def limit_bound_seconds(order: list[str]) -> float:
    """The least time Telegram's limits allow for this plan."""
    per_chat: dict[str, int] = {}
    for chat in order:
        per_chat[chat] = per_chat.get(chat, 0) + 1
    bounds = [len(order) / 30.0]
    for chat, count in per_chat.items():
        bounds.append(count - 1)                                   # 1 message per second
        if chat.startswith("-"):
            bounds.append(60.0 * math.floor((count - 1) / 20))      # 20 per minute
    return max(bounds)


class SlowNetwork:
    """A channel sender with a network in front: each leg of a round trip takes latency/2 ± 20 %."""

    channel = "telegram"

    def __init__(self, inner: TelegramSender, latency: float, seed: int = 17) -> None:
        self.inner, self.latency, self.random = inner, latency, random.Random(seed)

    def min_interval(self, chat_id: str) -> float:
        return self.inner.min_interval(chat_id)

    async def send(self, chat_id: str, reply: Reply) -> str:
        await asyncio.sleep(self.latency / 2 * self.random.uniform(0.8, 1.2))
        sent = await self.inner.send(chat_id, reply)
        await asyncio.sleep(self.latency / 2 * self.random.uniform(0.8, 1.2))
        return sent


async def run(messages: int, latency: float = 0.0) -> dict:
    order = plan(messages)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'out.sqlite3'}")
        upgrade_database(engine)
        now = datetime.now(timezone.utc)
        with write_session(engine) as session:
            for n, chat in enumerate(order):
                enqueue_message(session, channel="telegram", chat_id=chat, now=now,
                                payload=Reply(text=f"Thông báo số {n + 1}").to_json())
        async with FakeTelegramAPI(enforce_limits=True) as fake:
            bot = Bot(DEFAULT_TOKEN, base_url=f"{fake.url}/bot", request=AiohttpRequest())
            await bot.initialize()
            channel: ChannelSender = TelegramSender(bot)
            if latency > 0:
                channel = SlowNetwork(TelegramSender(bot), latency)
            sender = OutboxSender(engine, SystemClock(), {"telegram": channel})
            started = time.perf_counter()
            stop = asyncio.Event()
            task = asyncio.create_task(sender.run(stop))
            while len(fake.sent_messages()) < messages and time.perf_counter() - started < 600:
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - started
            stop.set()
            await task
            await bot.shutdown()
            per_chat_order_ok = all(
                [int(m["text"].split()[-1]) for m in fake.sent_messages(int(chat))]
                == sorted(int(m["text"].split()[-1]) for m in fake.sent_messages(int(chat)))
                for chat in set(order))
            result = {"messages": messages, "added_latency_s": latency, "delivered": len(fake.sent_messages()), "seconds": elapsed,
                      "limit_bound_seconds": limit_bound_seconds(order),
                      "rate_limit_429s": fake.rate_limit_hits, "per_chat_order_kept": per_chat_order_ok}
        engine.dispose()
    result["ratio_to_minimum"] = result["seconds"] / result["limit_bound_seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.0, help="added round trip per send, seconds")
    args = parser.parse_args()
    result = asyncio.run(run(args.messages, args.latency))
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))
    print(f"ratio to the limit-bound minimum: {result['ratio_to_minimum']:.3f} (goal <= 1.1, 0 x 429); "
          f"429s: {result['rate_limit_429s']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "outbound.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    name = "outbound" + (f" (+{args.latency * 1000:.0f} ms round trip)" if args.latency else "")
    add_row(name, f"{result['delivered']} notifications, 50 chats + 10 groups", result["seconds"], unit="s",
            floor=result["limit_bound_seconds"], ratio=result["ratio_to_minimum"],
            goal=f"<= 1.1×, 0 × 429 (got {result['rate_limit_429s']}"
                 f"{'' if result['per_chat_order_kept'] else ', ORDER BROKEN'})")


if __name__ == "__main__":
    main()
