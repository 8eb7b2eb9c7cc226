"""Queries for ticket attachments (add/flush only; callers own the transaction)."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from storage.models import Ticket, TicketAttachment


def pending_downloads(session: Session, *, channel: str, limit: int) -> list[tuple[int, str, str, str, int, str]]:
    """Attachments of a channel with no stored copy and no verdict yet: (id, ref, kind, mime, size, ticket code)."""
    rows = session.exec(
        select(TicketAttachment.id, TicketAttachment.ref, TicketAttachment.kind, TicketAttachment.mime,
               TicketAttachment.size, Ticket.code)
        .join(Ticket, col(Ticket.id) == TicketAttachment.ticket_id)
        .where(TicketAttachment.path == "", TicketAttachment.ref != "", Ticket.channel == channel)
        .order_by(col(TicketAttachment.id)).limit(limit)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def record_stored_copy(session: Session, attachment_id: int, path: str, size: int | None = None) -> None:
    """Where the copy is (or why there is none: a `skipped:` verdict)."""
    row = session.get(TicketAttachment, attachment_id)
    if row is not None:
        row.path = path
        if size is not None:
            row.size = size


def refs_starting_with(session: Session, prefix: str) -> list[str]:
    """The refs of every attachment whose ref starts with `prefix` (a channel's stored uploads)."""
    return list(session.exec(select(TicketAttachment.ref).where(col(TicketAttachment.ref).startswith(prefix))))


def count_attachments(session: Session, ticket_id: int | None) -> int:
    """How many files a ticket has."""
    return int(session.exec(select(func.count()).select_from(TicketAttachment)
                            .where(TicketAttachment.ticket_id == ticket_id)).one() or 0)
