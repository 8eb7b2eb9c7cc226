"""A citizen on Telegram: posts updates to danvan's real webhook and reads what the fake Bot API
received from danvan's real python-telegram-bot client."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from sqlmodel import Session, select

from storage.models import OutboxMessage
from testkit.fakes.telegram_api import FakeTelegramAPI, callback_update, post_update, text_update


async def outbox_settled(engine, *, timeout: float = 10.0) -> None:
    """Wait until the sender has delivered every pending outbox row."""
    def pending() -> int:
        with Session(engine) as session:
            return len(session.exec(select(OutboxMessage.id).where(OutboxMessage.status == "pending")).all())

    deadline = asyncio.get_running_loop().time() + timeout
    while await asyncio.to_thread(pending):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("outbox did not drain in time")
        await asyncio.sleep(0.02)


class TelegramCitizen:
    """One Telegram user in a private chat with the bot."""

    def __init__(self, fake: FakeTelegramAPI, http: aiohttp.ClientSession, webhook_url: str, secret: str,
                 engine, user_id: int) -> None:
        self.fake, self.http, self.url, self.secret = fake, http, webhook_url, secret
        self.engine = engine
        self.user_id = user_id
        self.seen = 0

    async def post(self, update: dict[str, Any], *, expect: int = 200) -> list[dict]:
        status = await post_update(self.http, self.url, update, secret=self.secret)
        assert status == expect, status
        await outbox_settled(self.engine)
        return self.new_messages()

    def new_messages(self) -> list[dict]:
        messages = self.fake.sent_messages(self.user_id)
        fresh = messages[self.seen:]
        self.seen = len(messages)
        return fresh

    async def say(self, text: str) -> list[dict]:
        return await self.post(text_update(self.user_id, text))

    def last_keyboard(self) -> tuple[dict, list[dict]]:
        """The newest message with buttons and its buttons (inline or reply keyboard)."""
        for message in reversed(self.fake.sent_messages(self.user_id)):
            markup = message.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") or markup.get("keyboard")
            if rows:
                return message, [button for row in rows for button in row]
        raise AssertionError("no keyboard sent yet")

    async def tap(self, label_part: str) -> list[dict]:
        """Tap a button as a person would: inline → callback query; reply keyboard → its text."""
        message, buttons = self.last_keyboard()
        for button in buttons:
            if label_part.lower() in button["text"].lower():
                if "callback_data" in button:
                    return await self.post(callback_update(self.user_id, button["callback_data"],
                                                           message_id=message["message_id"]))
                return await self.say(button["text"])
        raise AssertionError(f"no button {label_part!r} in {[b['text'] for b in buttons]}")

    @staticmethod
    def texts(messages: list[dict]) -> str:
        return "\n".join(m.get("text") or m.get("caption") or "" for m in messages)


class TelegramOfficial:
    """One official on Telegram, acting in an office group (negative chat id) or in private chat."""

    def __init__(self, fake: FakeTelegramAPI, http: aiohttp.ClientSession, webhook_url: str, secret: str,
                 engine, user_id: int, chat_id: int | None = None, name: str = "Cán bộ") -> None:
        self.fake, self.http, self.url, self.secret = fake, http, webhook_url, secret
        self.engine = engine
        self.user_id = user_id
        self.chat_id = chat_id if chat_id is not None else user_id
        self.name = name

    async def post(self, update: dict[str, Any], *, expect: int = 200) -> None:
        status = await post_update(self.http, self.url, update, secret=self.secret)
        assert status == expect, status
        await outbox_settled(self.engine)

    async def say(self, text: str) -> None:
        await self.post(text_update(self.user_id, text, chat_id=self.chat_id, first_name=self.name))

    def card(self, code: str) -> dict:
        """The ticket's card in this chat as it is now (after in-place edits)."""
        for sent in reversed(self.fake.sent_messages(self.chat_id)):
            current = self.fake.message(self.chat_id, sent["message_id"])
            if current and code in (current.get("text") or "") and "Hồ sơ" in current.get("text", "")[:40]:
                return current
        raise AssertionError(f"no card for {code} in chat {self.chat_id}")

    def keyboard_message(self, code: str | None = None) -> dict:
        for sent in reversed(self.fake.sent_messages(self.chat_id)):
            current = self.fake.message(self.chat_id, sent["message_id"]) or sent
            rows = (current.get("reply_markup") or {}).get("inline_keyboard")
            if rows and (code is None or code in (current.get("text") or "")):
                return current
        raise AssertionError("no inline keyboard in this chat")

    async def tap(self, label_part: str, code: str | None = None) -> str:
        """Tap an inline button of the newest matching message; returns the callback toast text."""
        message = self.keyboard_message(code)
        for row in message["reply_markup"]["inline_keyboard"]:
            for button in row:
                if label_part.lower() in button["text"].lower():
                    before = len(self.fake.calls)
                    chat_type = "private" if self.chat_id > 0 else "supergroup"
                    await self.post(callback_update(self.user_id, button["callback_data"],
                                                    message_id=message["message_id"], chat_id=self.chat_id,
                                                    chat_type=chat_type, first_name=self.name))
                    answers = [c for c in self.fake.calls[before:] if c.method == "answerCallbackQuery"]
                    return str(answers[-1].params.get("text") or "") if answers else ""
        raise AssertionError(f"no button {label_part!r}")

    def texts(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.fake.sent_messages(self.chat_id))


def reply_update(user_id: int, chat_id: int, text: str, reply_to: dict) -> dict:
    """A text message that answers (Reply) one of the bot's messages."""
    update = text_update(user_id, text, chat_id=chat_id)
    update["message"]["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_markup"}
    return update
