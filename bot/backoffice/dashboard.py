"""The leaders' dashboard: the week and the year — received, resolved, on time, satisfaction with
its response rate by office, category, hamlet and channel — a monthly trend, the overdue list, hot
spots and the next reception day's brief. Numbers and codes only; never an identity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.backoffice.desk import Desk
from bot.core.lifecycle import OPEN_STATUSES
from bot.jobs.hotspots import find_hotspots
from bot.jobs.overdue import overdue_tickets
from bot.jobs.reception import cases_to_raise, next_reception
from storage.backoffice import grouped_counts, grouped_satisfaction, received_by_day, resolved_between
from storage.models import Ticket

OVERDUE_LIMIT = 30
TREND_MONTHS = 12
OPEN = tuple(str(s) for s in OPEN_STATUSES)


@dataclass
class Line:
    key: str
    name: str
    received: int = 0
    resolved: int = 0
    on_time: int = 0
    overdue: int = 0
    asked: int = 0
    answered: int = 0
    satisfied: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.resolved if self.resolved else None

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.asked if self.asked else None


@dataclass
class MonthCount:
    year: int
    month: int
    received: int
    resolved: int


DIMENSIONS = (("office", Ticket.office_code), ("category", Ticket.category), ("hamlet", Ticket.hamlet),
              ("channel", Ticket.channel))


def _start_of(settings: Any, day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=settings.commune.tz)


def _names(desk: Desk, dimension: str) -> dict[str, str]:
    s = desk.settings
    if dimension == "office":
        return {o.code: o.name for o in s.offices}
    if dimension == "category":
        return {c.code: c.name for c in s.categories}
    if dimension == "channel":
        return desk.texts.channel_names()
    return {}


def period_figures(desk: Desk, start: date, end: date) -> dict[str, Any]:
    """Totals and the four groupings for tickets received in [start, end]."""
    tables: dict[str, list[Line]] = {}
    total = Line("total", "")
    for dimension, column in DIMENSIONS:
        names = _names(desk, dimension)
        lines: dict[str, Line] = {}
        for key, received, resolved, on_time, overdue in grouped_counts(desk.session, column, start=start, end=end,
                                                                         open_statuses=OPEN, today=desk.today):
            key = str(key or "")
            lines[key] = Line(key, names.get(key, key or "—"), int(received or 0), int(resolved or 0),
                              int(on_time or 0), int(overdue or 0))
        for key, asked, answered, satisfied in grouped_satisfaction(
                desk.session, column, start=_start_of(desk.settings, start),
                end=_start_of(desk.settings, end + timedelta(days=1))):
            key = str(key or "")
            line = lines.setdefault(key, Line(key, names.get(key, key or "—")))
            line.asked, line.answered, line.satisfied = int(asked or 0), int(answered or 0), int(satisfied or 0)
        tables[dimension] = sorted(lines.values(), key=lambda x: (-x.received, x.name))
    for line in tables["office"]:
        for attr in ("received", "resolved", "on_time", "overdue", "asked", "answered", "satisfied"):
            setattr(total, attr, getattr(total, attr) + getattr(line, attr))
    return {"start": start, "end": end, "total": total, "tables": tables}


def trend(desk: Desk) -> list[MonthCount]:
    """Received and resolved per month, the last TREND_MONTHS months."""
    today = desk.today
    year, month = today.year, today.month - (TREND_MONTHS - 1)
    while month <= 0:
        year, month = year - 1, month + 12
    first = date(year, month, 1)
    received = received_by_day(desk.session, start=first, end=today)
    resolved = resolved_between(desk.session, start=_start_of(desk.settings, first),
                                end=_start_of(desk.settings, today + timedelta(days=1)))
    months: dict[tuple[int, int], MonthCount] = {}
    cursor = first
    while cursor <= today:
        months[(cursor.year, cursor.month)] = MonthCount(cursor.year, cursor.month, 0, 0)
        cursor = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
    for day, count in received.items():
        if (day.year, day.month) in months:
            months[(day.year, day.month)].received += count
    for moment in resolved:
        if moment is None:
            continue
        local = moment.astimezone(desk.settings.commune.tz) if moment.tzinfo else moment
        if (local.year, local.month) in months:
            months[(local.year, local.month)].resolved += 1
    return list(months.values())


def build_dashboard(desk: Desk) -> dict[str, Any]:
    """Everything the dashboard shows."""
    today = desk.today
    monday = today - timedelta(days=today.weekday())
    reception = next_reception(desk.settings, desk.services.calendar, today)
    cases = cases_to_raise(desk.session, desk.settings, today) if reception else []
    return {
        "week": period_figures(desk, monday, monday + timedelta(days=6)),
        "year": period_figures(desk, date(today.year, 1, 1), today),
        "trend": trend(desk),
        "overdue": overdue_tickets(desk.session, desk.settings, today, limit=OVERDUE_LIMIT),
        "hotspots": find_hotspots(desk.session, desk.settings, desk.now),
        "reception": reception, "cases": cases[:desk.settings.schedule.reception.max_cases],
        "cases_more": max(0, len(cases) - desk.settings.schedule.reception.max_cases), "today": today,
    }
