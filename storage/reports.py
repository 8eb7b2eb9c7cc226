"""Read queries behind reports, the register, the public page and metrics (no writes)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime

from sqlalchemy import Row, func, inspect, or_, text
from sqlmodel import Session, col, select

from storage.models import OutboxMessage, ProcessedInbound, Ticket, TicketEvent


TICKET_FACTS = (Ticket.id, Ticket.code, Ticket.type, Ticket.category, Ticket.hamlet, Ticket.office_code,
                Ticket.status, Ticket.cosigners, Ticket.anonymous, Ticket.received_at, Ticket.received_date,
                Ticket.resolve_due, Ticket.channel, Ticket.source, Ticket.contact_name, Ticket.contact_address,
                Ticket.description)
EVENT_FACTS = (TicketEvent.ticket_id, TicketEvent.at, TicketEvent.from_status, TicketEvent.to_status, TicketEvent.note,
               TicketEvent.action, TicketEvent.actor)


def tickets_received_until(session: Session, until: date) -> list[Row]:
    """Facts of every ticket received on or before `until` (local date), oldest first.

    Plain rows, not ORM objects: a year of petitions loads ten times faster."""
    stmt = select(*TICKET_FACTS).where(Ticket.received_date <= until).order_by(col(Ticket.received_date), col(Ticket.id))
    return list(session.execute(stmt))


def tickets_received_between(session: Session, start: date, end: date) -> list[Row]:
    """Facts of tickets received from `start` to `end` inclusive (local dates), oldest first."""
    stmt = (select(*TICKET_FACTS).where(Ticket.received_date >= start, Ticket.received_date <= end)
            .order_by(col(Ticket.received_date), col(Ticket.id)))
    return list(session.execute(stmt))


BATCH = 2000


def ticket_batches(session: Session, *, end: date, start: date | None = None, events_until: datetime,
                   size: int = BATCH, finished_before: tuple[date, datetime, frozenset[str]] | None = None,
                   ) -> Iterator[tuple[list[Row], dict[int, list[Row]]]]:
    """Tickets received up to `end` (from `start` if given), oldest first, a batch at a time with
    their events up to `events_until`: a report or register over a million tickets streams them
    (server-side cursor on PostgreSQL) instead of holding them all in memory.

    `finished_before=(day, moment, statuses)` leaves out tickets received before `day` that are in
    one of `statuses` and have not changed since `moment` (every status change sets updated_at):
    years of finished petitions are not read again for each report."""
    stmt = select(*TICKET_FACTS).where(Ticket.received_date <= end)
    if start is not None:
        stmt = stmt.where(Ticket.received_date >= start)
    if finished_before is not None:
        day, moment, statuses = finished_before
        stmt = stmt.where(or_(Ticket.received_date >= day, col(Ticket.status).not_in(sorted(statuses)),
                              Ticket.updated_at >= moment))
    return _with_events(session, stmt.order_by(col(Ticket.received_date), col(Ticket.id)), size=size,
                        events_until=events_until)


def public_batches(session: Session, *, until: date, types: list[str], categories: list[str],
                   statuses: frozenset[str], changed_since: datetime | None = None,
                   changed_before: datetime | None = None, events_until: datetime,
                   size: int = BATCH) -> Iterator[tuple[list[Row], dict[int, list[Row]]]]:
    """Tickets of the given types and categories received up to `until`, in one of `statuses`,
    whose last change (updated_at: every status change sets it) is at or after `changed_since`
    and/or before `changed_before`, a batch at a time with their events up to `events_until`.
    The public page reads the tickets resolved within its trend window this way instead of every
    ticket ever received."""
    stmt = select(*TICKET_FACTS).where(Ticket.received_date <= until, col(Ticket.type).in_(types),
                                       col(Ticket.category).in_(categories),
                                       col(Ticket.status).in_(sorted(statuses)))
    if changed_since is not None:
        stmt = stmt.where(Ticket.updated_at >= changed_since)
    if changed_before is not None:
        stmt = stmt.where(Ticket.updated_at < changed_before)
    return _with_events(session, stmt.order_by(col(Ticket.id)), size=size, events_until=events_until)


def _with_events(session: Session, stmt, *, size: int,  # noqa: ANN001 - a Select of TICKET_FACTS
                 events_until: datetime) -> Iterator[tuple[list[Row], dict[int, list[Row]]]]:
    """The tickets of `stmt`, streamed `size` at a time (server-side cursor on PostgreSQL), each batch
    with its events up to `events_until`."""
    for part in session.execute(stmt.execution_options(yield_per=size)).partitions(size):
        yield part, status_events(session, [int(t.id) for t in part], until=events_until)


def received_per_day(session: Session, start: date, end: date, *, types: list[str],
                     categories: list[str]) -> list[tuple[date, int]]:
    """(local day, tickets received) from `start` to `end` for the given types and categories."""
    rows = session.execute(select(Ticket.received_date, func.count()).where(
        Ticket.received_date >= start, Ticket.received_date <= end, col(Ticket.type).in_(types),
        col(Ticket.category).in_(categories)).group_by(Ticket.received_date)).all()
    return [(day if isinstance(day, date) else date.fromisoformat(str(day)), int(n)) for day, n in rows]


def tickets_by_id(session: Session, ids: set[int]) -> list[Row]:
    """Facts of these tickets (a few: those a report needs beyond the ones it streamed)."""
    found: list[Row] = []
    ordered = sorted(ids)
    for start in range(0, len(ordered), BATCH):
        found.extend(session.execute(select(*TICKET_FACTS).where(col(Ticket.id).in_(ordered[start:start + BATCH]))))
    return found


def count_received_between(session: Session, start: date, end: date) -> int:
    """How many tickets were received from `start` to `end` inclusive (local dates)."""
    return int(session.execute(select(func.count()).select_from(Ticket).where(
        Ticket.received_date >= start, Ticket.received_date <= end)).scalar() or 0)


def status_events(session: Session, ticket_ids: list[int], *, until: datetime) -> dict[int, list[Row]]:
    """Audit events per ticket up to `until`, in order (status changes and their notes)."""
    events: dict[int, list[Row]] = defaultdict(list)
    if not ticket_ids:
        return events
    wanted = set(ticket_ids)
    if len(wanted) <= BATCH:         # a batch: the ticket_id index finds exactly these
        which = col(TicketEvent.ticket_id).in_(sorted(wanted))
    else:                            # many tickets: one range, filtered here (no huge IN list)
        which = col(TicketEvent.ticket_id).between(min(wanted), max(wanted))
    stmt = (select(*EVENT_FACTS).where(which, TicketEvent.at <= until)
            .order_by(col(TicketEvent.at), col(TicketEvent.id)))
    for event in session.execute(stmt):
        if event.ticket_id in wanted:
            events[int(event.ticket_id)].append(event)
    return events


def has_table(session: Session, name: str) -> bool:
    """True when the table exists (tables of other features may not be migrated yet)."""
    return inspect(session.connection()).has_table(name)


def satisfaction_answers(session: Session, start: datetime, end: datetime) -> list[tuple[int, int | None]]:
    """(ticket id, rating or None) of satisfaction surveys asked in the period, if surveys exist yet."""
    if not has_table(session, "satisfaction_surveys"):
        return []
    rows = session.execute(text("SELECT ticket_id, rating FROM satisfaction_surveys "
                                "WHERE asked_at >= :start AND asked_at < :end"), {"start": start, "end": end}).all()
    return [(int(r[0]), None if r[1] is None else int(r[1])) for r in rows]


def tickets_by_status(session: Session) -> dict[str, int]:
    """How many tickets are in each state now."""
    rows = session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all()
    return {str(status): int(count) for status, count in rows}


def inbound_by_channel(session: Session) -> dict[str, int]:
    """How many inbound events each channel delivered (the dedupe table counts each once)."""
    rows = session.execute(select(ProcessedInbound.channel, func.count()).group_by(ProcessedInbound.channel)).all()
    return {str(channel): int(count) for channel, count in rows}


def outbox_counts(session: Session) -> dict[tuple[str, str], int]:
    """Outbox rows by (channel, status)."""
    rows = session.execute(select(OutboxMessage.channel, OutboxMessage.status, func.count())
                           .group_by(OutboxMessage.channel, OutboxMessage.status)).all()
    return {(str(channel), str(status)): int(count) for channel, status, count in rows}


def oldest_pending_outbox(session: Session) -> datetime | None:
    """When the oldest message still waiting to be sent was written."""
    return session.execute(select(func.min(OutboxMessage.created_at))
                           .where(OutboxMessage.status == "pending", OutboxMessage.channel != "web")).scalar()


def counts_by_status_and_type(session: Session, office_code: str | None) -> list[tuple[str, str, int]]:
    """(status, type, tickets) over every ticket, or one office's."""
    stmt = select(Ticket.status, Ticket.type, func.count()).group_by(Ticket.status, Ticket.type)
    if office_code:
        stmt = stmt.where(Ticket.office_code == office_code)
    return list(session.exec(stmt))
