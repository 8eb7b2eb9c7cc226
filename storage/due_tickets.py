"""Open tickets and their deadlines as the scheduled jobs read them (overdue lists, reminders, weekly
plan, escalation, reception), with the offices and officials those jobs address."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy import ColumnElement, Row, and_, case, func, literal, or_
from sqlmodel import Session, col, select

from storage.models import Office, Official, SentReminder, Ticket

# What the scheduled jobs read of an open ticket: plain rows of these columns, not ORM objects
# (no sealed columns to open, a fraction of the memory), so a large backlog stays cheap.
OPEN_TICKET_COLUMNS = (Ticket.id, Ticket.code, Ticket.type, Ticket.status, Ticket.category, Ticket.hamlet,
                       Ticket.office_code, Ticket.assignee_id, Ticket.citizen_id, Ticket.cosigners,
                       Ticket.received_at, Ticket.received_date, Ticket.answer_due, Ticket.accept_due,
                       Ticket.accepted_at, Ticket.resolve_due)

# What the reminder scan reads of a ticket: plain rows, not ORM objects (no sealed columns to open).
SCAN_COLUMNS = (Ticket.id, Ticket.code, Ticket.status, Ticket.category, Ticket.hamlet, Ticket.office_code,
                Ticket.assignee_id, Ticket.received_at, Ticket.answer_due, Ticket.accept_due, Ticket.accepted_at,
                Ticket.resolve_due)


@lru_cache(maxsize=4)
def first_running_deadline(received: str) -> tuple[ColumnElement, ColumnElement]:
    """(step, due) CASE expressions for the earliest running deadline of an open ticket: the SQL twin
    of min(bot.jobs.context.due_steps(ticket), key=due), ties going to the earlier step (answer,
    accept, resolve). `received` is the status value of a ticket nobody has answered yet."""
    # Acceptance runs only while nobody accepted the ticket (it is a running step only in 'received').
    accept_running = case((col(Ticket.accepted_at).is_(None), col(Ticket.accept_due)), else_=None)
    # Answer until the ticket leaves 'received', acceptance while it is 'received' and not accepted,
    # resolution always.
    answer_first = and_(col(Ticket.answer_due) <= col(Ticket.resolve_due),
                        or_(accept_running.is_(None), col(Ticket.answer_due) <= accept_running))
    accept_first = and_(accept_running.is_not(None), accept_running <= col(Ticket.resolve_due))
    step = case((col(Ticket.status) != received, literal("resolve")), (answer_first, literal("answer")),
                (accept_first, literal("accept")), else_=literal("resolve"))
    due = case((col(Ticket.status) != received, col(Ticket.resolve_due)), (answer_first, col(Ticket.answer_due)),
               (accept_first, col(Ticket.accept_due)), else_=col(Ticket.resolve_due))
    return step, due


@dataclass(frozen=True)
class LateTicket:
    """One late open ticket as the overdue lists read it: its earliest running step and due date."""

    code: str
    office_code: str
    category: str
    hamlet: str
    assignee_id: int | None
    step: str
    due: date


def _late(today: date, office: str | None, open_statuses: Collection[str], received: str):  # noqa: ANN202
    """Open, and the earliest running deadline ended before `today` (a deadline is the end of its day).
    The OR of plain column comparisons lets the database use the deadline indexes first."""
    due = first_running_deadline(received)[1]
    found = (col(Ticket.status).in_(open_statuses), due < today,
             or_(Ticket.answer_due < today, Ticket.accept_due < today, Ticket.resolve_due < today))
    return found + ((Ticket.office_code == office,) if office else ())


def overdue_per_office(session: Session, today: date, *, open_statuses: Collection[str],
                       received: str) -> list[tuple[str, int, date]]:
    """(office, late tickets, earliest passed due date) per office with any, as of `today` (one GROUP BY)."""
    due = first_running_deadline(received)[1]
    rows = session.execute(select(Ticket.office_code, func.count(), func.min(due))
                           .where(*_late(today, None, open_statuses, received)).group_by(Ticket.office_code)).all()
    return [(office, int(count), _as_date(first)) for office, count, first in rows]


def _code_order(session: Session):  # noqa: ANN202 - an ORDER BY term
    code = col(Ticket.code)
    return code.collate("C") if session.get_bind().dialect.name == "postgresql" else code  # byte order, as Python


def _listed(received: str) -> tuple:
    step, due = first_running_deadline(received)
    return (Ticket.code, Ticket.office_code, Ticket.category, Ticket.hamlet, Ticket.assignee_id,
            step.label("step"), due.label("due"))


def late_tickets(session: Session, today: date, *, open_statuses: Collection[str], received: str,
                 office: str | None = None, limit: int | None = None) -> list[LateTicket]:
    """Open tickets with a passed deadline as of `today`, most late first (then by code, byte order);
    at most `limit` of them when given."""
    due = first_running_deadline(received)[1]
    stmt = (select(*_listed(received)).where(*_late(today, office, open_statuses, received))
            .order_by(due, _code_order(session)))
    if limit is not None:
        stmt = stmt.limit(limit)
    return _late_rows(session.execute(stmt).all())


def late_tickets_by_office(session: Session, today: date, *, open_statuses: Collection[str], received: str,
                           limit: int) -> list[LateTicket]:
    """The `limit` most late tickets of each office with any, by office then lateness, in one query
    (ROW_NUMBER per office)."""
    due = first_running_deadline(received)[1]
    rank = func.row_number().over(partition_by=Ticket.office_code,
                                  order_by=(due, _code_order(session))).label("rank")
    ranked = select(*_listed(received), rank).where(*_late(today, None, open_statuses, received)).subquery()
    rows = session.execute(select(ranked).where(ranked.c.rank <= limit)
                           .order_by(ranked.c.office_code, ranked.c.rank)).all()
    return _late_rows(rows)


def _late_rows(rows: Iterable[Row]) -> list[LateTicket]:
    return [LateTicket(code=r.code, office_code=r.office_code, category=r.category, hamlet=r.hamlet,
                       assignee_id=r.assignee_id, step=r.step, due=_as_date(r.due)) for r in rows]


def _as_date(value: date | str) -> date:
    """A CASE over date columns comes back as a date on PostgreSQL; SQLite may hand back its text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _due_between(start: date, end: date, open_statuses: Collection[str]):  # noqa: ANN202 - SQL conditions
    return (col(Ticket.status).in_(open_statuses), or_(
        col(Ticket.answer_due).between(start, end), col(Ticket.accept_due).between(start, end),
        col(Ticket.resolve_due).between(start, end)))


def open_tickets_due_between(session: Session, start: date, end: date, *,
                             open_statuses: Collection[str]) -> Sequence[Row]:
    """Open tickets with an answer, acceptance or resolution due date in [start, end], by id
    (rows of SCAN_COLUMNS)."""
    return session.execute(select(*SCAN_COLUMNS).where(*_due_between(start, end, open_statuses))
                           .order_by(col(Ticket.id))).all()


def reminders_sent_for_due_between(session: Session, start: date, end: date, *, open_statuses: Collection[str],
                                   kind_prefix: str, period_from: str) -> set[tuple[str, str, str]]:
    """(kind, ref, period) already recorded for the tickets open_tickets_due_between finds, of kinds
    starting with `kind_prefix` and periods from `period_from` on (a subquery: no list of ids as
    parameters)."""
    window = _due_between(start, end, open_statuses)
    return {(k, r, p) for k, r, p in session.execute(
        select(SentReminder.kind, SentReminder.ref, SentReminder.period)
        .where(col(SentReminder.ticket_id).in_(select(Ticket.id).where(*window)),
               col(SentReminder.kind).startswith(kind_prefix), SentReminder.period >= period_from)).all()}


def open_tickets(session: Session, *, open_statuses: Collection[str], office: str | None = None) -> Sequence[Row]:
    """Every open ticket (of one office when given), by id (rows of OPEN_TICKET_COLUMNS)."""
    stmt = select(*OPEN_TICKET_COLUMNS).where(col(Ticket.status).in_(open_statuses)).order_by(col(Ticket.id))
    if office:
        stmt = stmt.where(Ticket.office_code == office)
    return session.execute(stmt).all()


def petitioners_since(session: Session, since: date) -> list[int]:
    """The citizen of every ticket received on or after `since` (once per ticket; anonymous left out)."""
    return list(session.exec(select(Ticket.citizen_id).where(
        col(Ticket.citizen_id).is_not(None), Ticket.received_date >= since)).all())


def offices_in_code_order(session: Session) -> list[Office]:
    """Every office, by code."""
    return list(session.exec(select(Office).order_by(col(Office.code))).all())


def all_offices(session: Session) -> list[Office]:
    """Every office (no order: loaded so later lookups by code hit the session)."""
    return list(session.exec(select(Office)).all())


def officials_with_ids(session: Session, ids: Collection[int]) -> list[Official]:
    """The officials with these ids (one IN query; none read when `ids` is empty)."""
    if not ids:
        return []
    return list(session.exec(select(Official).where(col(Official.id).in_(ids))).all())
