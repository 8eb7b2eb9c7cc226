"""Queries for the outbox (add/flush only; the sender and service own transactions)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import OutboxMessage


def enqueue_message(session: Session, *, channel: str, chat_id: str, payload: dict[str, Any], now: datetime,
                    ticket_code: str = "") -> OutboxMessage:
    """Add one message to send after this transaction commits."""
    row = OutboxMessage(channel=channel, chat_id=chat_id, payload=json.dumps(payload, ensure_ascii=False),
                        ticket_code=ticket_code, next_attempt_at=now, created_at=now)
    session.add(row)
    return row


# Channels whose sender may hold a row (HeldFailure: Zalo's consultation window, unfollowed OA).
HOLDING_CHANNELS = frozenset({"zalo"})


def release_held(session: Session, *, channel: str, chat_id: str, now: datetime) -> int:
    """Make a chat's held messages due again (the person wrote, so the channel accepts them now)."""
    if channel not in HOLDING_CHANNELS:
        return 0            # nothing is ever held there: skip the UPDATE on every message
    result = session.execute(update(OutboxMessage)
                             .where(OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id,
                                    OutboxMessage.status == "held")
                             .values(status="pending", next_attempt_at=now, last_error="")
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def chat_rows(session: Session, *, channel: str, chat_id: str) -> list[OutboxMessage]:
    """Every outbox row of one chat (any status)."""
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.channel == channel,
                                                         OutboxMessage.chat_id == chat_id)).all())


def rows_of_tickets(session: Session, codes: list[str]) -> list[OutboxMessage]:
    """Every outbox row written about these tickets (office cards, notices)."""
    if not codes:
        return []
    return list(session.exec(select(OutboxMessage).where(col(OutboxMessage.ticket_code).in_(codes))).all())


def erase_payload(row: OutboxMessage) -> None:
    """Forget what a row said: the text is gone, a pending row is not sent, a delivered one stays a record."""
    row.payload = json.dumps({"text": ""})
    if row.status in ("pending", "sent"):
        row.status = "erased"
