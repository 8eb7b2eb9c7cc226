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


def last_buttons_to(session: Session, *, channel: str, chat_id: str, scan: int = 20) -> list[tuple[str, str]]:
    """The (payload, label) buttons of the newest message with buttons among the last `scan`
    written to one chat: what the person there sees last and may answer by number or label."""
    rows = session.exec(select(OutboxMessage.payload)
                        .where(OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id)
                        .order_by(OutboxMessage.id.desc()).limit(scan))
    for payload in rows:
        try:
            buttons = json.loads(payload).get("buttons") or []
        except (ValueError, AttributeError):
            continue
        flat = [(b.get("payload", ""), b.get("label", "")) for row in buttons for b in row if b.get("payload")]
        if flat:
            return flat
    return []


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


def chat_rows_after(session: Session, *, channel: str, chat_id: str, after: int, statuses: list[str],
                    limit: int) -> list[OutboxMessage]:
    """A chat's rows with id > `after` in one of `statuses`, oldest first, at most `limit`."""
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.channel == channel,
                                                         OutboxMessage.chat_id == chat_id,
                                                         col(OutboxMessage.id) > after,
                                                         col(OutboxMessage.status).in_(statuses))
                             .order_by(col(OutboxMessage.id)).limit(limit)).all())


def mark_fetched(session: Session, ids: list[int], *, now: datetime) -> list[OutboxMessage]:
    """Mark these rows sent (fetched by the browser: one UPDATE) and return them to be edited."""
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
                    .values(status="sent", sent_at=now, attempts=OutboxMessage.attempts + 1))
    return list(session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))))


def other_held_row(session: Session, *, channel: str, chat_id: str, outbox_id: int,
                   ticket_code: str | None = None) -> int | None:
    """The id of another held row of this chat (about `ticket_code` when given), if any."""
    conditions = [OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id]
    if ticket_code is not None:
        conditions.append(OutboxMessage.ticket_code == ticket_code)
    return session.exec(select(OutboxMessage.id).where(*conditions, OutboxMessage.status == "held",
                                                       col(OutboxMessage.id) != outbox_id)).first()
