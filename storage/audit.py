"""A hash chain over the audit log: every ticket_events row carries the hash of the row before it,
so a changed, inserted or deleted row is detected by `danvan audit verify`.

The chain is extended in the same flush that inserts events (whoever inserts them), under a lock
on the single audit_head row, so concurrent writers on PostgreSQL cannot fork it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import event, update
from sqlmodel import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from storage.engine import read_session
from storage.models import AuditHead, TicketEvent

GENESIS = "0" * 64


def event_hash(prev_hash: str, row: TicketEvent) -> str:
    """SHA-256 over the previous hash and the row's content (not its id)."""
    at = row.at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    content = json.dumps([prev_hash, row.ticket_id, at, row.actor, row.action, row.from_status, row.to_status,
                          row.note or ""], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()


@event.listens_for(OrmSession, "after_flush")
def _extend_chain(session: OrmSession, _flush_context) -> None:  # type: ignore[no-untyped-def]
    new_events = sorted((o for o in session.new if isinstance(o, TicketEvent)), key=lambda e: e.id or 0)
    if not new_events:
        return
    connection = session.connection()
    stmt = select(AuditHead.last_hash).where(AuditHead.id == 1)
    if connection.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    prev = connection.execute(stmt).scalar_one_or_none()
    if prev is None:            # an emptied table: start a new chain
        connection.execute(AuditHead.__table__.insert().values(id=1, last_hash=GENESIS))
        prev = GENESIS
    table = TicketEvent.__table__
    for row in new_events:
        digest = event_hash(prev, row)
        connection.execute(update(table).where(table.c.id == row.id).values(prev_hash=prev, hash=digest))
        set_committed_value(row, "prev_hash", prev)
        set_committed_value(row, "hash", digest)
        prev = digest
    connection.execute(update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                       .values(last_hash=prev, last_event_id=new_events[-1].id))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    broken_at: int | None = None
    reason: str = ""


def verify_chain(engine: Engine, *, batch: int = 5000) -> ChainReport:
    """Recompute the chain from the first event; the first mismatch is reported."""
    prev, count, last_id = GENESIS, 0, 0
    with read_session(engine) as session:
        while True:
            rows = session.exec(select(TicketEvent).where(col(TicketEvent.id) > last_id)
                                .order_by(col(TicketEvent.id)).limit(batch)).all()
            if not rows:
                break
            for row in rows:
                if row.prev_hash != prev:
                    return ChainReport(False, count, row.id, "an earlier row was deleted or inserted")
                if event_hash(prev, row) != row.hash:
                    return ChainReport(False, count, row.id, "the row was changed")
                prev, last_id, count = row.hash, row.id, count + 1
        head = session.get(AuditHead, 1)
    if head is None or head.last_hash != prev:
        return ChainReport(False, count, head.last_event_id if head else None, "the newest rows were deleted")
    return ChainReport(True, count)
