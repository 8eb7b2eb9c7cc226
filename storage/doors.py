"""Counters of the public doors: wrong tries at secrets (SecretAttempt) and per-window counts of
messages, uploads and petitions (DoorCounter). Rows are locked while changed (FOR UPDATE on
PostgreSQL; SQLite's write transactions are serial), so concurrent tries are all counted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.engine import upsert_insert
from storage.models import DoorCounter, SecretAttempt


def secret_attempt(session: Session, scope: str, key: str, *, now: datetime, lock: bool = False) -> SecretAttempt:
    """The attempt row of (scope, key), created empty when missing."""
    insert = upsert_insert(session)
    session.execute(insert(SecretAttempt).values(scope=scope, key=key, failures=0, window_start=now, lockouts=0,
                                                 updated_at=now).on_conflict_do_nothing())
    stmt = select(SecretAttempt).where(SecretAttempt.scope == scope, SecretAttempt.key == key)
    if lock:
        stmt = stmt.with_for_update()
    return session.exec(stmt.execution_options(populate_existing=True)).one()


def peek_secret_attempt(session: Session, scope: str, key: str) -> SecretAttempt | None:
    """The attempt row without creating it (read paths)."""
    return session.exec(select(SecretAttempt).where(SecretAttempt.scope == scope, SecretAttempt.key == key)).first()


def count_in(session: Session, scope: str, key: str, bucket: int) -> int:
    row = session.exec(select(DoorCounter.count).where(DoorCounter.scope == scope, DoorCounter.key == key,
                                                       DoorCounter.bucket == bucket)).first()
    return int(row or 0)


def add_count(session: Session, scope: str, key: str, bucket: int, amount: int = 1) -> None:
    """count += amount for (scope, key, bucket), in one statement."""
    insert = upsert_insert(session)
    stmt = insert(DoorCounter).values(scope=scope, key=key, bucket=bucket, count=amount)
    session.execute(stmt.on_conflict_do_update(index_elements=["scope", "key", "bucket"],
                                               set_={"count": DoorCounter.__table__.c["count"] + amount}))


def forget_before(session: Session, *, bucket: int, attempts_before: datetime) -> int:
    """Housekeeping: drop counters of finished windows and attempt rows idle since `attempts_before`."""
    gone = session.execute(delete(DoorCounter).where(col(DoorCounter.bucket) < bucket)).rowcount or 0
    gone += session.execute(delete(SecretAttempt).where(
        col(SecretAttempt.updated_at) < attempts_before,
        (col(SecretAttempt.locked_until).is_(None)) | (col(SecretAttempt.locked_until) < attempts_before))).rowcount or 0
    return gone
