"""Overdue tickets as of a day: which deadline passed and by how many days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, or_, select

from bot.config import Settings
from bot.schedule import OPEN, OPEN_TICKET_COLUMNS, overdue_steps
from storage.models import Official, Ticket

STEP_NAMES = {"answer": "trả lời", "accept": "thụ lý", "resolve": "giải quyết"}


@dataclass(frozen=True)
class OverdueItem:
    """One late ticket: the earliest passed deadline and the days since."""

    code: str
    office_code: str
    step: str
    due: date
    days_late: int
    category: str
    hamlet: str
    assignee: str


def overdue_tickets(session: Session, settings: Settings, today: date, *, office: str | None = None) -> list[OverdueItem]:
    """Open tickets with a passed deadline as of `today`, most late first."""
    # Plain rows of the columns used (no ORM objects, no sealed columns to open): a large backlog stays cheap.
    stmt = select(*OPEN_TICKET_COLUMNS).where(col(Ticket.status).in_(OPEN), or_(
        Ticket.answer_due < today, Ticket.accept_due < today, Ticket.resolve_due < today))
    if office:
        stmt = stmt.where(Ticket.office_code == office)
    names = {o.id: o.display_name for o in session.exec(select(Official)).all()}
    categories = {c.code: c.name for c in settings.categories}
    items = []
    for ticket in session.execute(stmt.order_by(col(Ticket.id))):
        late = overdue_steps(ticket, today)
        if not late:
            continue
        first = min(late, key=lambda s: s.due)
        items.append(OverdueItem(code=ticket.code, office_code=ticket.office_code, step=STEP_NAMES[first.step],
                                 due=first.due, days_late=(today - first.due).days,
                                 category=categories[ticket.category], hamlet=ticket.hamlet,
                                 assignee=names.get(ticket.assignee_id, "") if ticket.assignee_id else ""))
    items.sort(key=lambda i: (-i.days_late, i.code))
    return items
