"""The counts behind the leaders' weekly digest: tickets received and resolved in a period, events
of some actions and satisfaction surveys, counted by the database."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import Row, func, inspect, text
from sqlmodel import Session, col, select

from storage.models import Ticket, TicketEvent


def received_counts(session: Session, first: date, last: date) -> Sequence[Row]:
    """(type, category, hamlet, office_code, channel, source, count) for tickets received from `first`
    to `last` (both included): one row per combination that occurs (a few hundred), not per ticket."""
    keys = (Ticket.type, Ticket.category, Ticket.hamlet, Ticket.office_code, Ticket.channel, Ticket.source)
    return session.execute(select(*keys, func.count()).where(Ticket.received_date >= first,
                                                           Ticket.received_date <= last).group_by(*keys)).all()


def resolved_between(session: Session, start: datetime, end: datetime, *,
                     statuses: Collection[str]) -> Sequence[tuple[datetime, datetime, date]]:
    """(received_at, resolved_at, resolve_due) of tickets resolved in [start, end) and now in one of
    `statuses`."""
    return session.exec(select(Ticket.received_at, Ticket.resolved_at, Ticket.resolve_due)
                        .where(Ticket.resolved_at >= start, Ticket.resolved_at < end,
                               col(Ticket.status).in_(statuses))).all()


def event_counts(session: Session, actions: Collection[str], start: datetime, end: datetime) -> dict[str, int]:
    """How many events of each of these actions happened in [start, end) (actions without any left out)."""
    rows = session.execute(select(TicketEvent.action, func.count()).where(
        col(TicketEvent.action).in_(actions), TicketEvent.at >= start, TicketEvent.at < end)
        .group_by(TicketEvent.action)).all()
    return {str(action): int(count) for action, count in rows}


def survey_counts(session: Session, start: datetime, end: datetime, *,
                  satisfied_from: int) -> tuple[int, int, int] | None:
    """(asked, answered, rated at least `satisfied_from`) for surveys asked in [start, end); None
    when the satisfaction_surveys table does not exist."""
    if not inspect(session.connection()).has_table("satisfaction_surveys"):
        return None
    asked = session.execute(text(
        "SELECT COUNT(*), SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN rating >= :satisfied THEN 1 ELSE 0 END) FROM satisfaction_surveys "
        "WHERE asked_at >= :start AND asked_at < :end"),
        {"start": start, "end": end, "satisfied": satisfied_from}).one()
    return int(asked[0] or 0), int(asked[1] or 0), int(asked[2] or 0)
