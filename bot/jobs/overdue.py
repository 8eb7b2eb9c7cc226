"""Overdue tickets as of a day: which deadline passed and by how many days.

The list is computed in SQL: the earliest running deadline of each open ticket is a CASE expression
(the same rule as bot.jobs.registry.due_steps), so the database filters, counts per office and orders by
lateness, and Python only builds the few rows a message shows. At a million tickets the backlog is
tens of thousands of late tickets; building them all in Python took seconds, and no message lists
more than a few dozen.
"""

from __future__ import annotations

from types import MappingProxyType

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, literal, or_
from sqlmodel import Session, col, select

from bot.config.settings import Settings
from bot.core.domain import TicketStatus
from bot.core.render import labels
from bot.jobs.context import OPEN
from storage.models import Official, Ticket

STEP_NAMES = MappingProxyType({step: labels()[f"step_{step}"] for step in ("answer", "accept", "resolve")})

_RECEIVED = str(TicketStatus.RECEIVED)
# Acceptance runs only while nobody accepted the ticket (it is a running step only in 'received').
_ACCEPT_RUNNING = case((col(Ticket.accepted_at).is_(None), col(Ticket.accept_due)), else_=None)
# The earliest running deadline, ties going to the earlier step (answer, accept, resolve), as
# min(due_steps(ticket), key=due) does: answer until the ticket leaves 'received', acceptance while
# it is 'received' and not accepted, resolution always.
_ANSWER_FIRST = and_(col(Ticket.answer_due) <= col(Ticket.resolve_due),
                     or_(_ACCEPT_RUNNING.is_(None), col(Ticket.answer_due) <= _ACCEPT_RUNNING))
_ACCEPT_FIRST = and_(_ACCEPT_RUNNING.is_not(None), _ACCEPT_RUNNING <= col(Ticket.resolve_due))
FIRST_STEP = case((col(Ticket.status) != _RECEIVED, literal("resolve")), (_ANSWER_FIRST, literal("answer")),
                  (_ACCEPT_FIRST, literal("accept")), else_=literal("resolve"))
FIRST_DUE = case((col(Ticket.status) != _RECEIVED, col(Ticket.resolve_due)), (_ANSWER_FIRST, col(Ticket.answer_due)),
                 (_ACCEPT_FIRST, col(Ticket.accept_due)), else_=col(Ticket.resolve_due))


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


def _late(today: date, office: str | None):  # noqa: ANN202 - a tuple of SQL conditions
    """Open, and the earliest running deadline ended before `today` (a deadline is the end of its day).
    The OR of plain column comparisons lets the database use the deadline indexes first."""
    found = (col(Ticket.status).in_(OPEN), FIRST_DUE < today,
             or_(Ticket.answer_due < today, Ticket.accept_due < today, Ticket.resolve_due < today))
    return found + ((Ticket.office_code == office,) if office else ())


def overdue_counts(session: Session, today: date) -> dict[str, OfficeOverdue]:
    """Late tickets per office as of `today` (one GROUP BY), offices without any left out."""
    rows = session.execute(select(Ticket.office_code, func.count(), func.min(FIRST_DUE))
                           .where(*_late(today, None)).group_by(Ticket.office_code)).all()
    return {office: OfficeOverdue(int(count), (today - _as_date(first)).days) for office, count, first in rows}


def _code_order(session: Session):  # noqa: ANN202 - an ORDER BY term
    code = col(Ticket.code)
    return code.collate("C") if session.get_bind().dialect.name == "postgresql" else code  # byte order, as Python


_LISTED = (Ticket.code, Ticket.office_code, Ticket.category, Ticket.hamlet, Ticket.assignee_id,
           FIRST_STEP.label("step"), FIRST_DUE.label("due"))


def overdue_tickets(session: Session, settings: Settings, today: date, *, office: str | None = None,
                    limit: int | None = None) -> list[DueLine]:
    """Open tickets with a passed deadline as of `today`, most late first (then by code); at most
    `limit` of them when given."""
    stmt = select(*_LISTED).where(*_late(today, office)).order_by(FIRST_DUE, _code_order(session))
    if limit is not None:
        stmt = stmt.limit(limit)
    return _items(session, settings, today, session.execute(stmt).all())


def overdue_by_office(session: Session, settings: Settings, today: date, *, limit: int) -> dict[str, list[DueLine]]:
    """The `limit` most late tickets of each office with any, in one query (ROW_NUMBER per office)."""
    rank = func.row_number().over(partition_by=Ticket.office_code,
                                  order_by=(FIRST_DUE, _code_order(session))).label("rank")
    ranked = select(*_LISTED, rank).where(*_late(today, None)).subquery()
    rows = session.execute(select(ranked).where(ranked.c.rank <= limit)
                           .order_by(ranked.c.office_code, ranked.c.rank)).all()
    found: dict[str, list[DueLine]] = {}
    for item in _items(session, settings, today, rows):
        found.setdefault(item.office_code, []).append(item)
    return found


def most_late(lists: dict[str, list[DueLine]], limit: int) -> list[DueLine]:
    """The `limit` most late over all offices from each office's most late (enough: the overall
    first `limit` are among every office's first `limit`)."""
    return sorted((i for items in lists.values() for i in items), key=lambda i: (-i.days_late, i.code))[:limit]


def _items(session: Session, settings: Settings, today: date, rows: list) -> list[DueLine]:
    if not rows:
        return []
    assignees = {r.assignee_id for r in rows if r.assignee_id is not None}
    names = {o.id: o.display_name for o in session.exec(
        select(Official).where(col(Official.id).in_(assignees)))} if assignees else {}
    categories = {c.code: c.name for c in settings.categories}
    return [DueLine(code=r.code, office_code=r.office_code, step=STEP_NAMES[r.step], due=_as_date(r.due),
                        days_late=(today - _as_date(r.due)).days, category=categories[r.category], hamlet=r.hamlet,
                        assignee=names.get(r.assignee_id, "") if r.assignee_id else "") for r in rows]


def _as_date(value: date | str) -> date:
    """A CASE over date columns comes back as a date on PostgreSQL; SQLite may hand back its text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
