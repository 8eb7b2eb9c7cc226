"""What the public page may show: counts, trends and (if the commune allows) answers, for public
ticket types and categories only. Khiếu nại and tố cáo never appear; neither does personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from bot.config import Settings
from bot.reports import RESOLVED, PeriodReport, answer_text, build_report, local_day_end, report_period, resolved_day
from storage.models import Ticket
from storage.reports import status_events, tickets_received_until

NEVER_PUBLIC = frozenset({"khieu_nai", "to_cao"})
PHONE_RE = re.compile(r"(?:\+?84|0)(?:[\s.\-]?\d){8,10}")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ID_RE = re.compile(r"\b\d{9,12}\b")
TITLES = "ông|bà|anh|chị|cô|chú|bác|em|cụ"


def is_public(settings: Settings, ticket: Ticket) -> bool:
    """True when this ticket's type and category may be counted or listed publicly."""
    return (ticket.type not in NEVER_PUBLIC and ticket.type in settings.portal.public_types
            and ticket.category in settings.portal.public_categories)


def mask_personal(text: str, *, names: tuple[str, ...] = ()) -> str:
    """Phone numbers, e-mail addresses, ID-card-like numbers and the sender's name replaced by ***.

    A name is masked whole and as "ông/bà/anh/chị … <given name>", the way answers address people."""
    for pattern in (EMAIL_RE, PHONE_RE, ID_RE):
        text = pattern.sub("***", text)
    for name in (n.strip() for n in names if n and n.strip()):
        text = re.sub(re.escape(name), "***", text, flags=re.IGNORECASE)
        given = name.split()[-1]
        text = re.sub(rf"\b({TITLES})\s+{re.escape(given)}\b", r"\1 ***", text, flags=re.IGNORECASE)
    return text


@dataclass
class MonthCount:
    year: int
    month: int
    received: int = 0
    resolved: int = 0


@dataclass
class PublicAnswer:
    category_name: str
    hamlet: str
    received: date
    resolved: date
    answer: str


@dataclass
class PublicPage:
    """Everything the home page shows."""

    today: date
    report: PeriodReport
    months: list[MonthCount] = field(default_factory=list)
    answers: list[PublicAnswer] = field(default_factory=list)


def month_window(today: date, count: int) -> list[MonthCount]:
    """The last `count` calendar months ending with today's, oldest first."""
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(MonthCount(year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(months))


def build_public_page(session: Session, settings: Settings, *, today: date, answers: int = 10) -> PublicPage:
    """Year-to-date figures, monthly trends and published answers for public tickets."""
    period = report_period("year", today.year, today=today)
    until = local_day_end(settings, today)
    tickets = [t for t in tickets_received_until(session, today) if is_public(settings, t)]
    events = status_events(session, [int(t.id or 0) for t in tickets], until=until)
    report = build_report(session, settings, period, loaded=(tickets, events),
                          ticket_filter=lambda t: is_public(settings, t))
    page = PublicPage(today=today, report=report, months=month_window(today, settings.portal.trend_months))
    by_month = {(m.year, m.month): m for m in page.months}
    resolved: list[tuple[date, Ticket]] = []
    for ticket in tickets:
        if (slot := by_month.get((ticket.received_date.year, ticket.received_date.month))) is not None:
            slot.received += 1
        history = events.get(int(ticket.id or 0), [])
        day = resolved_day(settings, history, until)
        if day is None or ticket.status not in RESOLVED:
            continue
        if (slot := by_month.get((day.year, day.month))) is not None:
            slot.resolved += 1
        resolved.append((day, ticket))
    if settings.portal.publish_answers:
        resolved.sort(key=lambda item: (item[0], item[1].id or 0), reverse=True)
        for day, ticket in resolved:
            text = answer_text(events.get(int(ticket.id or 0), []))
            if text:
                page.answers.append(PublicAnswer(settings.category(ticket.category).name, ticket.hamlet,
                                                 ticket.received_date, day,
                                                 mask_personal(text, names=(ticket.contact_name,))))
            if len(page.answers) >= answers:
                break
    return page
