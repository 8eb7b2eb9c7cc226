"""Queries of the web back office: the queue with its filters and counts, a ticket's neighbours,
the dashboard's groupings (read only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from storage.models import (Official, SatisfactionSurvey, Ticket, TicketAttachment, TicketEvent, TicketLink)


@dataclass(frozen=True)
class QueueWhere:
    """What the queue shows; None/"" means any. `statuses` is the set of statuses allowed."""

    statuses: tuple[str, ...]
    office_code: str | None = None
    type: str = ""
    category: str = ""
    hamlet: str = ""
    channel: str = ""
    received_from: date | None = None
    received_to: date | None = None
    ids: tuple[int, ...] | None = None       # restrict to these (a search's matches)


def _conditions(where: QueueWhere) -> list:
    conds = [col(Ticket.status).in_(where.statuses)]
    if where.office_code:
        conds.append(Ticket.office_code == where.office_code)
    for column, value in ((Ticket.type, where.type), (Ticket.category, where.category),
                          (Ticket.hamlet, where.hamlet), (Ticket.channel, where.channel)):
        if value:
            conds.append(column == value)
    if where.received_from:
        conds.append(Ticket.received_date >= where.received_from)
    if where.received_to:
        conds.append(Ticket.received_date <= where.received_to)
    if where.ids is not None:
        conds.append(col(Ticket.id).in_(where.ids or (-1,)))
    return conds


def queue_rows(session: Session, where: QueueWhere, *, limit: int, offset: int = 0) -> list[Ticket]:
    """One page of the queue, earliest resolution deadline first."""
    stmt = (select(Ticket).where(*_conditions(where))
            .order_by(col(Ticket.resolve_due), col(Ticket.id)).limit(limit).offset(offset))
    return list(session.exec(stmt).all())


def queue_counts(session: Session, where: QueueWhere, *, today: date, soon: date) -> dict[str, int]:
    """How many match, how many are overdue, how many fall due by `soon`."""
    late = case((Ticket.resolve_due < today, 1), else_=0)
    near = case(((Ticket.resolve_due >= today) & (Ticket.resolve_due <= soon), 1), else_=0)
    total, overdue, due_soon = session.execute(
        select(func.count(), func.coalesce(func.sum(late), 0), func.coalesce(func.sum(near), 0))
        .select_from(Ticket).where(*_conditions(where))).one()
    return {"total": int(total or 0), "overdue": int(overdue or 0), "due_soon": int(due_soon or 0)}


def search_candidates(session: Session, where: QueueWhere, *, scan: int) -> list:
    """(id, code, hamlet, description) of the newest `scan` matching tickets, to fold and match in Python."""
    stmt = (select(Ticket.id, Ticket.code, Ticket.hamlet, Ticket.description).where(*_conditions(where))
            .order_by(col(Ticket.id).desc()).limit(scan))
    return list(session.execute(stmt).all())


def official_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: n for i, n in session.execute(select(Official.id, Official.display_name)
                                             .where(col(Official.id).in_(ids))).all()}


def attachments_of(session: Session, ticket_id: int) -> list[TicketAttachment]:
    return list(session.exec(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket_id)
                             .order_by(col(TicketAttachment.id))))


def events_of(session: Session, ticket_id: int) -> list[TicketEvent]:
    """The audited history (refused attempts included: the page shows them to the office)."""
    return list(session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                             .order_by(col(TicketEvent.id))))


def linked_tickets(session: Session, ticket_id: int) -> list[tuple[Ticket, str, float]]:
    """Duplicates and related tickets in both directions: (ticket, kind, score)."""
    links = session.exec(select(TicketLink).where((TicketLink.ticket_id == ticket_id)
                                                  | (TicketLink.linked_to_id == ticket_id))).all()
    found = []
    for link in links:
        other = session.get(Ticket, link.linked_to_id if link.ticket_id == ticket_id else link.ticket_id)
        if other is not None:
            found.append((other, link.kind, link.score))
    return found


def same_place(session: Session, ticket: Ticket, *, since: date, limit: int) -> list:
    """Other tickets of the same category in the same hamlet received since `since` (a possible hot spot)."""
    if not ticket.hamlet:
        return []
    stmt = (select(Ticket.id, Ticket.code, Ticket.status, Ticket.received_date, Ticket.office_code)
            .where(Ticket.hamlet == ticket.hamlet, Ticket.category == ticket.category, Ticket.id != ticket.id,
                   Ticket.received_date >= since).order_by(col(Ticket.id).desc()).limit(limit))
    return list(session.execute(stmt).all())


def grouped_counts(session: Session, column, *, start: date, end: date, open_statuses: tuple[str, ...],
                   today: date) -> list:
    """Per value of `column` among tickets received in [start, end]: received, resolved, on time."""
    done = case((col(Ticket.resolved_at).is_not(None), 1), else_=0)
    resolved_day = func.date(Ticket.resolved_at)
    on_time = case((col(Ticket.resolved_at).is_not(None) & (resolved_day <= func.date(Ticket.resolve_due)), 1),
                   else_=0)
    late_open = case((col(Ticket.status).in_(open_statuses) & (Ticket.resolve_due < today), 1), else_=0)
    stmt = (select(column, func.count(), func.sum(done), func.sum(on_time), func.sum(late_open))
            .where(Ticket.received_date >= start, Ticket.received_date <= end).group_by(column))
    return list(session.execute(stmt).all())


def grouped_satisfaction(session: Session, column, *, start: datetime, end: datetime) -> list:
    """Per value of `column`: surveys asked, answered, satisfied (rating >= 4), asked in [start, end)."""
    answered = case((col(SatisfactionSurvey.rating).is_not(None), 1), else_=0)
    satisfied = case((SatisfactionSurvey.rating >= 4, 1), else_=0)
    stmt = (select(column, func.count(), func.sum(answered), func.sum(satisfied))
            .select_from(SatisfactionSurvey).join(Ticket, col(Ticket.id) == SatisfactionSurvey.ticket_id)
            .where(SatisfactionSurvey.asked_at >= start, SatisfactionSurvey.asked_at < end).group_by(column))
    return list(session.execute(stmt).all())


def received_by_day(session: Session, *, start: date, end: date) -> dict[date, int]:
    rows = session.execute(select(Ticket.received_date, func.count())
                           .where(Ticket.received_date >= start, Ticket.received_date <= end)
                           .group_by(Ticket.received_date)).all()
    return {d: int(n) for d, n in rows}


def resolved_between(session: Session, *, start: datetime, end: datetime) -> list[datetime]:
    return [r for r in session.exec(select(Ticket.resolved_at).where(Ticket.resolved_at >= start,
                                                                     Ticket.resolved_at < end))]
