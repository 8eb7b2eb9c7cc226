"""The web chat's side of the outbox: the browser pulls its chat's rows, and a row counts as sent
when the browser has fetched it (there is no push connection to deliver to)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.core.domain import Reply
from storage.engine import read_session, write_session
from storage.models import Conversation, OutboxMessage

CHANNEL = "web"


@dataclass(frozen=True)
class WebMessage:
    id: int
    reply: Reply


def fetch_replies(engine: Engine, chat_id: str, *, after: int, now: datetime, limit: int = 100) -> list[WebMessage]:
    """This chat's messages with id > after, oldest first; pending ones are marked sent."""
    with read_session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == CHANNEL,
                                                        OutboxMessage.chat_id == chat_id,
                                                        col(OutboxMessage.id) > after,
                                                        col(OutboxMessage.status).in_(["pending", "sent"]))
                            .order_by(col(OutboxMessage.id)).limit(limit)).all()
    pending = [r.id for r in rows if r.status == "pending"]
    if pending:
        with write_session(engine) as session:
            session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(pending))
                            .values(status="sent", sent_at=now, attempts=OutboxMessage.attempts + 1))
    return [WebMessage(int(r.id or 0), Reply.from_json(json.loads(r.payload))) for r in rows]


def conversation_started(engine: Engine, user_id: str) -> bool:
    """True when this web user has talked to the core before."""
    with read_session(engine) as session:
        return session.exec(select(Conversation.id).where(Conversation.channel == CHANNEL,
                                                          Conversation.user_id == user_id)).first() is not None
