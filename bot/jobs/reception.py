"""The chairman's weekly citizen reception: on the working day before it, leaders get the open
cases worth raising (overdue, reopened, repeat petitioners, mass cases).

The brief lists the most pressing `schedule.reception.max_cases` (mass cases, then reopened, then
the longest overdue) and counts the rest: at scale the whole list would be thousands of lines."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import TicketStatus
from bot.jobs.office_hours import at_local, previous_working_day
from bot.tickets.recipients import leaders
from bot.jobs.context import OPEN, JobContext, overdue_steps
from bot.core.workdays import WorkingCalendar
from storage.due_tickets import open_tickets, petitioners_since
from storage.hotspots import linked_ticket_ids
from storage.reminders import claim_reminder, claimed_refs

REPEAT_LOOKBACK_DAYS = 180


def next_reception(settings: Settings, calendar: WorkingCalendar, today: date) -> date | None:
    """The next reception day after `today` within two weeks, when it is a working day."""
    for offset in range(1, 15):
        day = today + timedelta(days=offset)
        if day.weekday() == settings.schedule.reception.weekday and calendar.is_working_day(day):
            return day
    return None


def cases_to_raise(session: Session, settings: Settings, today: date) -> list[dict]:
    """Open tickets that are overdue, reopened, from repeat petitioners, or mass/linked cases, the
    most pressing first; the template words each reason."""
    tickets = open_tickets(session, open_statuses=OPEN)
    since = today - timedelta(days=REPEAT_LOOKBACK_DAYS)
    counts = Counter(petitioners_since(session, since))
    linked = linked_ticket_ids(session)
    found = []
    for t in tickets:
        late = overdue_steps(t, today)
        case = {"days_late": max((today - s.due).days for s in late) if late else 0,
                "reopened": t.status == TicketStatus.REOPENED,
                "repeat": counts[t.citizen_id] if t.citizen_id is not None and counts[t.citizen_id] >= 2 else 0,
                "cosigners": t.cosigners if t.cosigners >= settings.hotspots.cosigners else 0,
                "duplicate": t.id in linked}
        if any(case.values()):
            found.append({"code": t.code, "category": settings.category(t.category).name, "hamlet": t.hamlet,
                          "type": settings.ticket_type(t.type).name, **case})
    found.sort(key=lambda c: (-c["cosigners"], not c["reopened"], -c["days_late"], -c["repeat"],
                              not c["duplicate"], c["code"]))
    return found


def run_due(ctx: JobContext) -> None:
    """Send the brief once, on the working day before the reception, at brief_at."""
    if not ctx.may_send:
        return
    day = next_reception(ctx.settings, ctx.calendar, ctx.today)
    if day is None or previous_working_day(ctx.calendar, day) != ctx.today:
        return
    if ctx.now < at_local(ctx.settings, ctx.today, ctx.settings.schedule.reception.brief_at):
        return
    if ctx.memory.get("reception") == day.isoformat():
        return
    ctx.remember["reception"] = day.isoformat()
    if claimed_refs(ctx.session, kind="reception", period=day.isoformat()):
        return
    if not claim_reminder(ctx.session, kind="reception", ref="leaders", period=day.isoformat(), now=ctx.now):
        return
    cases = cases_to_raise(ctx.session, ctx.settings, ctx.today)
    ctx.send(leaders(ctx.session, ctx.settings), ctx.texts.render(
        "leader/reception_brief", day=day, cases=cases, limit=ctx.settings.schedule.reception.max_cases))
