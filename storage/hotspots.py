"""The tickets hot spots look at (a recent window of open tickets) and the links between
near-duplicates (ticket_links)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Row, func
from sqlmodel import Session, col, select

from storage.models import SentReminder, Ticket, TicketLink

# What hot spots read of a ticket: plain rows (no ORM objects, no sealed columns to open).
RECENT_COLUMNS = (Ticket.id, Ticket.code, Ticket.status, Ticket.hamlet, Ticket.category, Ticket.cosigners,
                  Ticket.description, Ticket.received_at, Ticket.received_date, Ticket.answer_due)


def open_tickets_received_since(session: Session, since: datetime, *, open_statuses: Collection[str]) -> list[Row]:
    """Open tickets received at or after `since`, oldest first (rows with RECENT_COLUMNS)."""
    return list(session.execute(select(*RECENT_COLUMNS).where(col(Ticket.status).in_(open_statuses),
                                                             Ticket.received_at >= since)
                                .order_by(col(Ticket.id))).all())


def received_since_fingerprint(session: Session, since: datetime) -> tuple[int, int | None]:
    """(how many tickets, the highest id) received at or after `since`: cheap, and it changes
    whenever a ticket arrives in the window."""
    return tuple(session.execute(select(func.count(), func.max(Ticket.id)).where(
        Ticket.received_at >= since)).one())


def open_tickets_unmarked_since(session: Session, since: datetime, *, open_statuses: Collection[str],
                                mark_kind: str) -> set[int]:
    """Ids of open tickets received at or after `since` with no sent_reminders row of `mark_kind`:
    a NOT EXISTS probe per ticket on the ticket_id index. (Reading every mark of the window instead
    made the database walk a million marks at 1M tickets.)"""
    seen = select(SentReminder.id).where(SentReminder.kind == mark_kind, SentReminder.ticket_id == Ticket.id)
    return set(session.exec(select(Ticket.id).where(
        col(Ticket.status).in_(open_statuses), Ticket.received_at >= since, ~seen.exists())).all())


def first_link_of(session: Session, ticket_id: int) -> TicketLink | None:
    """The earliest link from a ticket to another (the one it was first found to repeat)."""
    return session.exec(select(TicketLink).where(TicketLink.ticket_id == ticket_id)
                        .order_by(col(TicketLink.id))).first()


def links_from(session: Session, ticket_ids: Collection[int]) -> Sequence[TicketLink]:
    """Every link from one of these tickets (one IN query)."""
    return session.exec(select(TicketLink).where(col(TicketLink.ticket_id).in_(list(ticket_ids)))).all()


def tickets_linked_to(session: Session, root_id: int) -> set[int]:
    """Ids of the tickets linked to `root_id`."""
    return set(session.exec(select(TicketLink.ticket_id).where(TicketLink.linked_to_id == root_id)).all())


def linked_ticket_ids(session: Session) -> set[int]:
    """Every ticket on either end of a link (two plain column reads)."""
    return set(session.exec(select(TicketLink.linked_to_id)).all()) | set(
        session.exec(select(TicketLink.ticket_id)).all())
