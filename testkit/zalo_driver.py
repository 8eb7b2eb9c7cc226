"""A citizen on Zalo: posts signed events to danvan's real webhook (the running app on 127.0.0.1)
and reads what danvan's real aiohttp client sent to the fake Zalo OA API."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
from sqlalchemy import func
from sqlmodel import Session, select

from bot.main.composition import TelegramBotApp, build_services
from bot.config.settings import Settings, load_settings
from storage.models import InboundEvent, OutboxMessage
from testkit.config import write_config
from testkit.fakes.telegram_api import DEFAULT_TOKEN
from testkit.fakes.zalo_api import (APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZalo, SentMessage, post_event,
                                  submit_info_event, text_event)

TG_SECRET = "webhook-secret-for-tests"


def zalo_settings(tmp_path, database_url: str, zalo: FakeZalo, telegram_url: str, *, mutate: Any = None,
                  refresh_token: str | None = None) -> Settings:
    """Settings with Telegram and Zalo pointed at the fakes, secrets from a test environment."""
    def change(raw: dict) -> None:
        raw["telegram"].update(base_url=f"{telegram_url}/bot", base_file_url=f"{telegram_url}/file/bot",
                               webhook_url="https://danvan.test/telegram/webhook", per_chat_interval=0)
        raw["zalo"].update(api_base_url=zalo.url, oauth_base_url=zalo.url, per_chat_interval=0)
        if mutate:
            mutate(raw)
    env = {"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
           "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET, "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
           "ZALO_REFRESH_TOKEN": refresh_token if refresh_token is not None else zalo.issue_refresh_token()}
    return load_settings(write_config(tmp_path, change), environ=env)


async def start_app(settings: Settings, engine, clock) -> TelegramBotApp:
    app = TelegramBotApp(settings, services=build_services(settings, clock=clock, engine=engine, migrate=False),
                         port=0)
    await app.start()
    return app


def pending_work(engine) -> int:
    """Stored Zalo events not yet processed plus outbox rows not yet sent."""
    with Session(engine) as session:
        events = session.exec(select(func.count()).select_from(InboundEvent)
                              .where(InboundEvent.status == "pending")).one()
        outbox = session.exec(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status == "pending")).one()
        return int(events) + int(outbox)


async def settled(engine, *, timeout: float = 10.0) -> None:
    """Wait until every stored event is processed and every due outbox row is sent (held rows wait)."""
    def busy() -> int:
        return pending_work(engine)

    deadline = asyncio.get_running_loop().time() + timeout
    while await asyncio.to_thread(busy):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("events or outbox did not settle in time")
        await asyncio.sleep(0.02)


class ZaloCitizen:
    """One Zalo user chatting with the OA."""

    def __init__(self, fake: FakeZalo, http: aiohttp.ClientSession, app: TelegramBotApp, user_id: str) -> None:
        self.fake, self.http, self.app, self.user_id = fake, http, app, user_id
        self.seen = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app.port}{self.app.settings.zalo.webhook_path}"

    def now_ms(self) -> int:
        return int(self.app.services.clock.now().timestamp() * 1000)

    async def post(self, event: dict, *, expect: int = 200) -> list[SentMessage]:
        status = await post_event(self.http, self.url, event)
        assert status == expect, status
        await settled(self.app.services.engine)
        return self.new_messages()

    def new_messages(self) -> list[SentMessage]:
        messages = self.fake.messages(self.user_id)
        fresh = messages[self.seen:]
        self.seen = len(messages)
        return fresh

    async def say(self, text: str) -> list[SentMessage]:
        return await self.post(text_event(self.user_id, text, self.now_ms()))

    async def submit_info(self, *, name: str, phone: str, nested: bool = False) -> list[SentMessage]:
        return await self.post(submit_info_event(self.user_id, self.now_ms(), name=name, phone=phone, nested=nested))

    def last_buttons(self) -> list[dict]:
        for message in reversed(self.fake.messages(self.user_id)):
            if message.buttons:
                return message.buttons
        raise AssertionError("no buttons sent yet")

    async def tap(self, label_part: str) -> list[SentMessage]:
        """Tap an oa.query.show button: Zalo sends its payload back as the user's text."""
        for button in self.last_buttons():
            if label_part.lower() in button["title"].lower():
                return await self.say(button["payload"])
        raise AssertionError(f"no button {label_part!r} in {[b['title'] for b in self.last_buttons()]}")

    async def pick(self, label_part: str) -> list[SentMessage]:
        """Answer a numbered list (more than 5 choices) with the digit of the line holding `label_part`."""
        for message in reversed(self.fake.messages(self.user_id)):
            for line in message.text.splitlines():
                number, dot, label = line.partition(". ")
                if dot and number.strip().isdigit() and label_part.lower() in label.lower():
                    return await self.say(number.strip())
        raise AssertionError(f"no numbered choice {label_part!r}")

    @staticmethod
    def texts(messages: list[SentMessage]) -> str:
        return "\n".join(m.text for m in messages)


async def file_petition(user: ZaloCitizen, *, type_label: str, description: str, name: str = "",
                        phone: str = "") -> str:
    """Go through the whole intake on Zalo and return the new ticket's code (from the citizen's reply)."""
    await user.say("/start")
    await user.tap("Đồng ý")
    await user.tap("Gửi phản ánh")
    await user.pick(type_label)
    await user.say(description)
    await user.tap(user.last_buttons()[0]["title"])
    asked = user.fake.messages(user.user_id)[-1].text
    if "Có phải ở thôn Mẫu 2" in asked:
        await user.tap("Đúng")                  # the hamlet named in the description (issue 16)
    else:
        if "Có phải ở" in asked:
            await user.tap("Thôn khác")         # another hamlet named: choose Mẫu 2 from the list
        await user.pick("Mẫu 2")
    await user.tap("Tiếp tục")
    if type_label != "Góp ý":
        await user.tap("Một mình")
    if phone:
        await user.submit_info(name=name, phone=phone)
        await user.tap(name)
        await user.say("Xóm Chợ, thôn Mẫu 2")                  # the sender's own address
    else:
        await user.tap("Không để lại")
        if type_label == "Tố cáo":
            await user.tap("Vẫn gửi")
    done = user.texts(await user.pick("Gửi đơn"))
    found = re.search(r"Mã hồ sơ: (\S+)", done)
    assert found, done
    return found.group(1)
