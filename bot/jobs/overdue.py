"""Overdue tickets as of a day: which deadline passed and by how many days.

The list is computed in SQL (storage.due_tickets): the earliest running deadline of each open ticket
is a CASE expression (the same rule as bot.jobs.context.due_steps), so the database filters, counts
per office and orders by lateness, and Python only builds the few rows a message shows. At a million
tickets the backlog is tens of thousands of late tickets; building them all in Python took seconds,
and no message lists more than a few dozen.
"""

from __future__ import annotations

from types import MappingProxyType

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import TicketStatus
from bot.core.render import labels
from bot.jobs.context import OPEN
from storage.due_tickets import (LateTicket, late_tickets, late_tickets_by_office, officials_with_ids,
                                 overdue_per_office)

STEP_NAMES = MappingProxyType({step: labels()[f"step_{step}"] for step in ("answer", "accept", "resolve")})

# The earliest running deadline is storage.due_tickets.first_running_deadline (the SQL twin of
# min(due_steps(ticket), key=due)); it needs the status of a ticket nobody has answered yet.
_RECEIVED = str(TicketStatus.RECEIVED)


@dataclass(frozen=True)
class DueLine:
    """One open ticket with one running deadline (the earliest passed one for the overdue lists):
    the step, its due date and the days late (0 when not yet due). Overdue lists, escalation, the
    digest and the weekly plan all list tickets with it."""

    code: str
    office_code: str
    step: str
    due: date
    days_late: int
    category: str
    hamlet: str
    assignee: str


@dataclass(frozen=True)
class OfficeOverdue:
    """How many tickets of one office are late, and the longest delay."""

    count: int
    max_late: int


def overdue_counts(session: Session, today: date) -> dict[str, OfficeOverdue]:
    """Late tickets per office as of `today` (one GROUP BY), offices without any left out."""
    return {office: OfficeOverdue(count, (today - first).days)
            for office, count, first in overdue_per_office(session, today, open_statuses=OPEN, received=_RECEIVED)}


def overdue_tickets(session: Session, settings: Settings, today: date, *, office: str | None = None,
                    limit: int | None = None) -> list[DueLine]:
    """Open tickets with a passed deadline as of `today`, most late first (then by code); at most
    `limit` of them when given."""
    return _items(session, settings, today, late_tickets(session, today, open_statuses=OPEN, received=_RECEIVED,
                                                          office=office, limit=limit))


def overdue_by_office(session: Session, settings: Settings, today: date, *, limit: int) -> dict[str, list[DueLine]]:
    """The `limit` most late tickets of each office with any, in one query (ROW_NUMBER per office)."""
    rows = late_tickets_by_office(session, today, open_statuses=OPEN, received=_RECEIVED, limit=limit)
    found: dict[str, list[DueLine]] = {}
    for item in _items(session, settings, today, rows):
        found.setdefault(item.office_code, []).append(item)
    return found


def most_late(lists: dict[str, list[DueLine]], limit: int) -> list[DueLine]:
    """The `limit` most late over all offices from each office's most late (enough: the overall
    first `limit` are among every office's first `limit`)."""
    return sorted((i for items in lists.values() for i in items), key=lambda i: (-i.days_late, i.code))[:limit]


def _items(session: Session, settings: Settings, today: date, rows: list[LateTicket]) -> list[DueLine]:
    if not rows:
        return []
    assignees = {r.assignee_id for r in rows if r.assignee_id is not None}
    names = {o.id: o.display_name for o in officials_with_ids(session, assignees)}
    categories = {c.code: c.name for c in settings.categories}
    return [DueLine(code=r.code, office_code=r.office_code, step=STEP_NAMES[r.step], due=r.due,
                    days_late=(today - r.due).days, category=categories[r.category], hamlet=r.hamlet,
                    assignee=names.get(r.assignee_id, "") if r.assignee_id else "") for r in rows]
