"""Queries for inbound events: the keys of events already handled, and raw webhook events waiting
to be processed (add/flush only; callers own transactions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.engine import upsert_insert
from storage.models import InboundEvent, ProcessedInbound


def claim_inbound(session: Session, *, channel: str, external_id: str, now: datetime) -> bool:
    """Record that this event is handled in this transaction; False when it already was.

    ON CONFLICT DO NOTHING rather than a failing INSERT: a redelivery then costs no exception,
    which on PostgreSQL would abort the whole transaction (and with it a batch of other events).
    """
    insert = upsert_insert(session)
    table = ProcessedInbound.__table__
    # RETURNING, not rowcount: psycopg through SQLAlchemy reports -1 for this statement.
    stmt = (insert(table).values(channel=channel, external_id=external_id, processed_at=now)
            .on_conflict_do_nothing(index_elements=["channel", "external_id"]).returning(table.c.channel))
    return session.execute(stmt).first() is not None


def store_event(session: Session, *, channel: str, dedupe_key: str, event_name: str, payload: str,
                now: datetime, flush: bool = True) -> InboundEvent:
    """Add one raw event; the unique (channel, dedupe_key) makes a redelivery fail at flush."""
    row = InboundEvent(channel=channel, dedupe_key=dedupe_key, event_name=event_name[:48], payload=payload,
                       received_at=now)
    session.add(row)
    if flush:
        session.flush()
    return row


def existing_keys(session: Session, *, channel: str, keys: list[str]) -> set[str]:
    """Which of these dedupe keys are stored already."""
    if not keys:
        return set()
    return set(session.exec(select(InboundEvent.dedupe_key).where(InboundEvent.channel == channel,
                                                                  col(InboundEvent.dedupe_key).in_(keys))))


def event_exists(session: Session, *, channel: str, dedupe_key: str) -> bool:
    """True when this event was already stored."""
    return session.exec(select(InboundEvent.id).where(InboundEvent.channel == channel,
                                                      InboundEvent.dedupe_key == dedupe_key)).first() is not None


def pending_events(session: Session, *, channel: str, limit: int = 100) -> list[InboundEvent]:
    """The oldest events not processed yet, in arrival order."""
    return list(session.exec(select(InboundEvent)
                             .where(InboundEvent.channel == channel, InboundEvent.status == "pending")
                             .order_by(col(InboundEvent.id)).limit(limit)))


def finish_event(session: Session, event_id: int, *, status: str, now: datetime, error: str = "") -> None:
    """Record what processing did with an event (done | ignored | failed)."""
    session.execute(update(InboundEvent).where(col(InboundEvent.id) == event_id)
                    .values(status=status, processed_at=now, attempts=InboundEvent.attempts + 1,
                            last_error=error[:500]))


def finish_events(session: Session, event_ids: list[int], *, status: str, now: datetime) -> None:
    """Record the same outcome for many events at once."""
    session.execute(update(InboundEvent).where(col(InboundEvent.id).in_(event_ids))
                    .values(status=status, processed_at=now, attempts=InboundEvent.attempts + 1))
