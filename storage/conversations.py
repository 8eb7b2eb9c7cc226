"""Queries for conversation state (add/flush only; the service owns the transaction)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, select

from storage.engine import is_sqlite
from storage.models import Conversation


def load_conversation(session: Session, *, channel: str, user_id: str, chat_id: str, now: datetime) -> Conversation:
    """The person's conversation row, locked for this transaction; created when new."""
    stmt = select(Conversation).where(Conversation.channel == channel, Conversation.user_id == user_id)
    if not is_sqlite(session.get_bind()):
        stmt = stmt.with_for_update()
    row = session.exec(stmt).first()
    if row is None:
        row = Conversation(channel=channel, user_id=user_id, chat_id=chat_id, updated_at=now)
        session.add(row)
        session.flush()
    return row


def set_conversation_value(session: Session, *, channel: str, user_id: str, key: str, value: object,
                           now: datetime) -> None:
    """Set one key of a person's conversation data (their next message reads it), keeping the rest."""
    row = load_conversation(session, channel=channel, user_id=user_id, chat_id=user_id, now=now)
    try:
        data = json.loads(row.data or "{}")
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    data[key] = value
    row.data = json.dumps(data, ensure_ascii=False)
    row.updated_at = now


def conversation_exists(session: Session, *, channel: str, user_id: str) -> bool:
    """True when this person has a conversation row."""
    return session.exec(select(Conversation.id).where(Conversation.channel == channel,
                                                      Conversation.user_id == user_id)).first() is not None


def conversations_of(session: Session, *, channel: str, user_id: str) -> list[Conversation]:
    """This person's conversation rows (one at most)."""
    return list(session.exec(select(Conversation).where(Conversation.channel == channel,
                                                        Conversation.user_id == user_id)))
