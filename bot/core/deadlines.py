"""Pure deadline computation for petitions (domain brief §1): no config loading, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.config.deadline_rules import Period, ResolveFrom, TypeRules, Unit, rules_from_config  # noqa: F401
from bot.core.workdays import WorkingCalendar


@dataclass(frozen=True)
class Deadlines:
    """Due dates of one ticket; each is due at the end of that day, local time."""

    answer_due: date
    accept_due: date | None
    resolve_due: date


def add_period(day: date, period: Period, *, calendar: WorkingCalendar) -> date:
    """BLDS arts. 147–148: the event day is not counted and a due date never falls on a day off."""
    if period.unit == "working":
        return calendar.add_working_days(day, period.days)
    return calendar.add_calendar_days(day, period.days)


def compute_deadlines(
    rules: TypeRules,
    *,
    received: date,
    accepted: date | None = None,
    calendar: WorkingCalendar,
) -> Deadlines:
    """Until a ticket is accepted, plan resolution from the latest allowed acceptance day."""
    if accepted is not None and accepted < received:
        raise ValueError(
            f"accepted {accepted.isoformat()} is before received {received.isoformat()}"
        )
    answer_due = add_period(received, rules.answer, calendar=calendar)
    accept_due = (
        add_period(received, rules.accept, calendar=calendar) if rules.accept is not None else None
    )
    if rules.resolve_from == "acceptance":
        start = accepted if accepted is not None else accept_due
        assert start is not None  # TypeRules guarantees an accept period here
    else:
        start = received
    resolve_due = add_period(start, rules.resolve, calendar=calendar)
    return Deadlines(answer_due=answer_due, accept_due=accept_due, resolve_due=resolve_due)


def deadlines_to_json(d: Deadlines) -> dict:
    """ISO dates keep the JSON stable for the database, the web page and Open311 exports."""
    return {
        "answer_due": d.answer_due.isoformat(),
        "accept_due": d.accept_due.isoformat() if d.accept_due is not None else None,
        "resolve_due": d.resolve_due.isoformat(),
    }
