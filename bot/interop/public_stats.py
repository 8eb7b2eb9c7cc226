"""What the public page may show: counts, trends and (if the commune allows) answers, for public
ticket types and categories only. Khiếu nại and tố cáo never appear; neither does personal data.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import COMPLAINT_TYPES
from bot.language.phones import mask_phones
from bot.documents.statistics import RESOLVED, PeriodReport, answer_text, build_report, local_day_end, report_period, resolved_day
from storage.models import Ticket
from storage.reports import public_batches, received_per_day

NEVER_PUBLIC = COMPLAINT_TYPES
PHONE_RE = re.compile(r"(?<![\w-])(?:\+?84|0)(?:[\s.\-]?\d){8,10}")
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
    text = mask_phones(EMAIL_RE.sub("***", text))
    for pattern in (PHONE_RE, ID_RE):
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
    """Year-to-date figures, monthly trends and published answers for public tickets.

    Nothing here reads every ticket: the year's report streams like the printed reports (finished
    tickets of past years left out), the received trend is a GROUP BY per day, and the resolved
    trend and the answers read only public tickets resolved (last changed) within the trend window;
    older resolutions are read only when the window holds fewer published answers than the page shows.
    """
    period = report_period("year", today.year, today=today)
    until = local_day_end(settings, today)
    report = build_report(session, settings, period, ticket_filter=lambda t: is_public(settings, t))
    page = PublicPage(today=today, report=report, months=month_window(today, settings.portal.trend_months))
    by_month = {(m.year, m.month): m for m in page.months}
    types = sorted(t for t in settings.portal.public_types if t not in NEVER_PUBLIC)
    categories = sorted(settings.portal.public_categories)
    window_start = date(page.months[0].year, page.months[0].month, 1)
    for day, count in received_per_day(session, window_start, today, types=types, categories=categories):
        if (slot := by_month.get((day.year, day.month))) is not None:
            slot.received += count
    # A ticket whose last resolution falls in the window changed (updated_at) at or after its start.
    window_moment = local_day_end(settings, window_start - timedelta(days=1))
    published: list[tuple[date, int, PublicAnswer]] = []

    def scan(batches, *, count_months: bool) -> None:  # noqa: ANN001 - (tickets, events) batches
        for tickets, events in batches:
            for ticket in tickets:
                history = events.get(int(ticket.id or 0), [])
                day = resolved_day(settings, history, until)
                if day is None or ticket.status not in RESOLVED:
                    continue
                if count_months and (slot := by_month.get((day.year, day.month))) is not None:
                    slot.resolved += 1
                if settings.portal.publish_answers and (text := answer_text(history)):
                    published.append((day, int(ticket.id or 0), PublicAnswer(
                        settings.category(ticket.category).name, ticket.hamlet, ticket.received_date, day,
                        mask_personal(text, names=(ticket.contact_name,)))))
            if len(published) > 4 * answers:        # only the latest are shown
                published[:] = heapq.nlargest(answers, published, key=lambda item: item[:2])

    common = dict(until=today, types=types, categories=categories, statuses=RESOLVED, events_until=until)
    scan(public_batches(session, changed_since=window_moment, **common), count_months=True)
    if settings.portal.publish_answers and len(published) < answers:
        # Too few answers in the window: older resolutions, all resolved before the window (so after
        # these in the list) and outside the trend months.
        scan(public_batches(session, changed_before=window_moment, **common), count_months=False)
    page.answers = [a for _, _, a in heapq.nlargest(answers, published, key=lambda item: item[:2])]
    return page
