"""Queries for the outbox (add/flush only; the sender and service own transactions)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.models import OutboxMessage


def enqueue_message(session: Session, *, channel: str, chat_id: str, payload: dict[str, Any], now: datetime,
                    ticket_code: str = "") -> OutboxMessage:
    """Add one message to send after this transaction commits."""
    row = OutboxMessage(channel=channel, chat_id=chat_id, payload=json.dumps(payload, ensure_ascii=False),
                        ticket_code=ticket_code, next_attempt_at=now, created_at=now)
    session.add(row)
    return row
