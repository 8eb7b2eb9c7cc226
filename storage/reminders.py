"""The record of scheduled messages already written to the outbox (add/flush only)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from storage.engine import upsert_insert
from storage.models import SentReminder


def claim_reminder(session: Session, *, kind: str, ref: str, period: str, now: datetime,
                   ticket_id: int | None = None) -> bool:
    """Record that (kind, ref, period) goes out in this transaction; False when it already has.

    Decided by RETURNING (see claim_reminders), not rowcount: psycopg reported -1 rows for the
    insert this used to be, which made every claim on PostgreSQL look new."""
    return bool(claim_reminders(session, [(kind, ref, period, ticket_id)], now=now))


def claim_reminders(session: Session, keys: list[tuple[str, str, str, int | None]], *,
                    now: datetime) -> set[tuple[str, str, str]]:
    """Record many (kind, ref, period, ticket_id) at once; returns the (kind, ref, period) recorded
    now (those already recorded by someone else are left out). One executemany: SQLAlchemy sends
    it as a few multi-row INSERT ... RETURNING batches from one compiled statement, so a day's
    reminders at a million tickets (thousands of rows) cost a tenth of a second, not half a second
    of building and compiling a 500-row VALUES clause per chunk."""
    if not keys:
        return set()
    table = SentReminder.__table__
    stmt = (upsert_insert(session)(table).on_conflict_do_nothing(index_elements=["kind", "ref", "period"])
            .returning(table.c.kind, table.c.ref, table.c.period))
    rows = [dict(kind=k, ref=r, period=p, ticket_id=t, recipients=0, created_at=now) for k, r, p, t in keys]
    return {(k, r, p) for k, r, p in session.execute(stmt, rows)}


def claimed_refs(session: Session, *, kind: str, period: str) -> set[str]:
    """The refs already recorded for one kind and period (one cheap query before any work)."""
    return set(session.exec(select(SentReminder.ref).where(SentReminder.kind == kind,
                                                           SentReminder.period == period)).all())


def reminder_sent(session: Session, *, kind: str, ref: str, period: str) -> bool:
    """True when this scheduled message was already written."""
    return session.exec(select(SentReminder.id).where(SentReminder.kind == kind, SentReminder.ref == ref,
                                                      SentReminder.period == period)).first() is not None


def claimed_keys(session: Session, *, kind_prefix: str) -> set[tuple[str, str, str]]:
    """Every (kind, ref, period) already recorded for kinds starting with `kind_prefix`."""
    rows = session.exec(select(SentReminder.kind, SentReminder.ref, SentReminder.period)
                        .where(SentReminder.kind.startswith(kind_prefix))).all()  # type: ignore[attr-defined]
    return {(k, r, p) for k, r, p in rows}
