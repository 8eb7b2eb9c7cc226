"""An official typing into the core, in an office group or in private chat: sends Inbound events
through the real Service and reads back the outbox rows of a chat (no sender, no mocks)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from sqlmodel import Session, col, select

from bot.core.domain import Channel, Inbound, Reply
from bot.service.transactions import HandleResult, Service
from bot.core.render import html_to_plain
from storage.models import Official, OutboxMessage

_ids = itertools.count(1)


def add_official(engine, *, user_id: str, role: str, office: str | None, name: str = "",
                 channel: str = "telegram") -> Official:
    """Seed an official as `danvan invite` + /dangky would leave one."""
    from datetime import datetime, timezone

    with Session(engine) as session:
        row = Official(channel=channel, user_id=user_id, role=role, office_code=office,
                       display_name=name or f"{role} {office or ''} {user_id}".strip(),
                       created_at=datetime(2026, 11, 1, tzinfo=timezone.utc))
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def rows_for(engine, chat_id: str, *, after: int = 0) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id,
                                                             col(OutboxMessage.id) > after)
                                 .order_by(col(OutboxMessage.id))))


def payloads(rows: list[OutboxMessage]) -> list[dict[str, Any]]:
    return [json.loads(r.payload) for r in rows]


def plain(rows: list[OutboxMessage]) -> str:
    return "\n".join(html_to_plain(json.loads(r.payload)["text"]) for r in rows)


class OfficeChat:
    """One official (or stranger) in one chat: an office group (negative id) or private."""

    def __init__(self, service: Service, *, user_id: str, chat_id: str | None = None) -> None:
        self.service = service
        self.engine = service.services.engine
        self.user_id = user_id
        self.chat_id = chat_id or user_id
        self.is_private = not self.chat_id.startswith("-")
        self.last: HandleResult | None = None

    def send(self, text: str = "", *, payload: str | None = None, **fields: Any) -> HandleResult:
        inbound = Inbound(channel=Channel.TELEGRAM, user_id=self.user_id, chat_id=self.chat_id,
                          external_id=f"o{next(_ids)}", text=text, payload=payload, is_private=self.is_private,
                          **fields)
        self.last = self.service.handle_inbound(inbound)
        return self.last

    def buttons(self, code: str | None = None) -> list[tuple[str, str]]:
        """Buttons of the newest message in this chat (about `code` when given) that has any."""
        for row in reversed(rows_for(self.engine, self.chat_id)):
            reply = Reply.from_json(json.loads(row.payload))
            if reply.buttons and (code is None or code in reply.text):
                return [(b.label, b.payload) for line in reply.buttons for b in line]
        return []

    def payload_of(self, label_part: str, code: str | None = None) -> str:
        for label, payload in self.buttons(code):
            if label_part.lower() in label.lower():
                return payload
        raise AssertionError(f"no button {label_part!r} in {self.buttons(code)}")

    def press(self, label_part: str, code: str | None = None) -> HandleResult:
        return self.send(payload=self.payload_of(label_part, code))
