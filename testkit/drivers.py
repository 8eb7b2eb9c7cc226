"""A person typing into the core: sends Inbound events through the real Service and reads back
what the outbox holds for their chat (no sender, no mocks)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from sqlmodel import Session, col, select

from bot.core.domain import Channel, Inbound, Reply
from bot.service.transactions import Service
from bot.core.render import html_to_plain
from storage.models import OutboxMessage

_ids = itertools.count(1)


class CoreChat:
    """One citizen on one channel, talking to the core."""

    def __init__(self, service: Service, *, user_id: str = "1001", channel: Channel = Channel.CONSOLE) -> None:
        self.service = service
        self.engine = service.services.engine
        self.user_id = user_id
        self.channel = channel
        self.last_id = 0
        self.history: list[Reply] = []

    def send(self, text: str = "", *, payload: str | None = None, external_id: str | None = None,
             **fields: Any) -> list[Reply]:
        inbound = Inbound(channel=self.channel, user_id=self.user_id, chat_id=self.user_id,
                          external_id=external_id or f"t{next(_ids)}", text=text, payload=payload, **fields)
        self.service.handle_inbound(inbound)
        return self.read()

    def read(self) -> list[Reply]:
        with Session(self.engine) as session:
            rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == str(self.channel),
                                                            OutboxMessage.chat_id == self.user_id,
                                                            col(OutboxMessage.id) > self.last_id)
                                .order_by(col(OutboxMessage.id))).all()
        if rows:
            self.last_id = rows[-1].id
        replies = [Reply.from_json(json.loads(r.payload)) for r in rows]
        self.history.extend(replies)
        return replies

    def last_buttons(self) -> list[tuple[str, str]]:
        for reply in reversed(self.history):
            if reply.buttons:
                return [(b.label, b.payload) for row in reply.buttons for b in row]
        return []

    def press(self, label_part: str) -> list[Reply]:
        """Press the newest button whose label contains `label_part` (case-insensitive)."""
        for label, payload in self.last_buttons():
            if label_part.lower() in label.lower():
                return self.send(payload=payload)
        raise AssertionError(f"no button {label_part!r} in {self.last_buttons()}")

    @staticmethod
    def text_of(replies: list[Reply]) -> str:
        return "\n".join(html_to_plain(r.text) for r in replies)
