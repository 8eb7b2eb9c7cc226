"""Queries for a ticket's audit events (ticket_events): its history, its latest event of a kind, counts
(add/flush only; storage.audit chains the rows)."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from storage.models import TicketEvent


def ticket_history(session: Session, ticket_id: int | None, *, hide_action: str) -> list[TicketEvent]:
    """A ticket's events in order, without those of action `hide_action` (refusals)."""
    return list(session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                                       TicketEvent.action != hide_action)
                             .order_by(col(TicketEvent.id))).all())


def latest_event(session: Session, ticket_id: int | None, action: str) -> TicketEvent | None:
    """The ticket's newest event of this action."""
    return session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.action == action)
                        .order_by(col(TicketEvent.id).desc())).first()


def count_events(session: Session, ticket_id: int | None, action: str) -> int:
    """How many events of this action the ticket has."""
    return int(session.exec(select(func.count()).select_from(TicketEvent)
                            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.action == action)).one() or 0)


def count_events_except(session: Session, ticket_id: int | None, action: str) -> int:
    """How many events the ticket has, not counting those of this action."""
    return int(session.exec(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.action != action)).one() or 0)
