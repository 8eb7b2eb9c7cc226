"""Driving the real outbox sender against the fake Bot API."""

from __future__ import annotations

import asyncio
from sqlmodel import Session, col, select
from telegram import Bot
from bot.core.clock import SystemClock
from bot.core.domain import Reply
from handlers.telegram.request import AiohttpRequest
from notifications.outbox.sender import OutboxSender
from notifications.telegram.sender import TelegramSender
from storage.engine import write_session
from storage.models import OutboxMessage
from storage.outbox import enqueue_message
from testkit.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI


ADMIN = "777"


def make_bot(fake: FakeTelegramAPI, *, read_timeout: float = 5.0) -> Bot:
    return Bot(DEFAULT_TOKEN, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot",
               request=AiohttpRequest(read_timeout=read_timeout, connect_timeout=2))


def make_sender(engine, bot: Bot, *, interval: float, **kw) -> OutboxSender:
    options = dict(base_delay=0.05, max_delay=0.3, poll_interval=0.05, admin_chats=(("telegram", ADMIN),))
    options.update(kw)
    return OutboxSender(engine, SystemClock(), {"telegram": TelegramSender(bot, per_chat_interval=interval)},
                        **options)


def enqueue(engine, messages: list[tuple[str, str]]) -> None:
    clock = SystemClock()
    with write_session(engine) as session:
        for chat_id, text in messages:
            enqueue_message(session, channel="telegram", chat_id=chat_id, payload=Reply(text=text).to_json(),
                            now=clock.now())


def rows(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


async def run_until_drained(sender: OutboxSender, engine, *, timeout: float = 15.0, stop_early=None) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while any(r.status == "pending" for r in await asyncio.to_thread(rows, engine)):
            if stop_early is not None and stop_early():
                return
            assert loop.time() < deadline, "outbox did not drain"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def delivered_texts(fake: FakeTelegramAPI, chat_id: str) -> list[str]:
    return [m["text"] for m in fake.sent_messages(int(chat_id)) if "text" in m]
