"""Reminders before each deadline (answer / accept / resolve): n working days before (config) and on
the due day, at due_day_time, to the assignee or, while nobody has taken the ticket, the office group.

Each (ticket, stage, due date) goes out once; after downtime only the latest stage that fell due is
sent, so nobody gets three stale reminders at once. An extended deadline is a new due date and so
gets its own reminders.
"""

from __future__ import annotations

from types import MappingProxyType

from collections import defaultdict
from datetime import date, datetime, timedelta

from bot.jobs.office_hours import at_local, local_time, working_days_before
from bot.tickets.recipients import Recipient, ticket_handler
from bot.core.render import labels
from bot.jobs.context import OPEN, DueStep, JobContext, due_steps
from storage.due_tickets import (all_offices, open_tickets_due_between,
                                 reminders_sent_for_due_between)
from storage.models import Ticket
from storage.officials import list_officials
from storage.reminders import claim_reminders

STEP_NAMES = MappingProxyType({step: labels()[f"reminder_step_{step}"] for step in ("answer", "accept", "resolve")})


def stages(ctx: JobContext, due: date) -> list[tuple[str, datetime, int]]:
    """(stage key, UTC moment, working days left) for one due date, earliest first."""
    at = ctx.settings.reminders.due_day_time
    found = [(f"d{n}", at_local(ctx.settings, working_days_before(ctx.calendar, due, n), at), n)
             for n in sorted(set(ctx.settings.reminders.offsets_working_days), reverse=True)]
    found.append(("d0", at_local(ctx.settings, due, at), 0))
    return found


def latest_due_stage(ctx: JobContext, ticket: Ticket, step: DueStep,
                     cache: dict[date, list[tuple[str, datetime, int]]] | None = None) -> tuple[str, int] | None:
    """The most recent stage whose time has come (and that came after the ticket existed)."""
    if step.due < ctx.today:
        return None          # overdue: the daily escalation takes over
    found = None if cache is None else cache.get(step.due)
    if found is None:
        found = stages(ctx, step.due)
        if cache is not None:
            cache[step.due] = found
    current = None
    for key, moment, left in found:
        if ticket.received_at <= moment <= ctx.now:
            current = (key, left)
    return current


def due_horizon(ctx: JobContext) -> date:
    """The last due date whose earliest reminder day is today or before: a deadline after it has
    no stage yet, so the scan never reads tickets that cannot be due (a few days, not a month)."""
    first = max(ctx.settings.reminders.offsets_working_days, default=0)
    day = ctx.today
    for _ in range(400):
        if working_days_before(ctx.calendar, day + timedelta(days=1), first) > ctx.today:
            return day
        day += timedelta(days=1)
    return day


def stage_moment_between(ctx: JobContext, last: datetime, now: datetime) -> bool:
    """True when a due_day_time moment lies in (last, now]: only then can a new stage be due."""
    if now - last > timedelta(days=3):
        return True
    day = local_time(ctx.settings, last).date()
    while day <= ctx.today:
        if last < at_local(ctx.settings, day, ctx.settings.reminders.due_day_time) <= now:
            return True
        day += timedelta(days=1)
    return False


def run_due(ctx: JobContext) -> None:
    """Write the reminders that are due now, one message per recipient listing its tickets."""
    if not ctx.may_send:
        return
    last = ctx.memory.get("reminders_last")
    if last is not None and not stage_moment_between(ctx, last, ctx.now):
        return          # stages only happen at due_day_time: nothing new since the last full check
    ctx.remember["reminders_last"] = ctx.now
    horizon = due_horizon(ctx)
    today = ctx.today
    tickets = open_tickets_due_between(ctx.session, today, horizon, open_statuses=OPEN)
    if not tickets:
        return
    # Reminders already written for these tickets.
    done = reminders_sent_for_due_between(ctx.session, today, horizon, open_statuses=OPEN, kind_prefix="remind_",
                                          period_from=today.isoformat())
    cache: dict[date, list[tuple[str, datetime, int]]] = {}
    due: list[tuple[tuple[str, str, str], object, DueStep, tuple[str, int]]] = []
    for ticket in tickets:
        for step in due_steps(ticket):
            stage = latest_due_stage(ctx, ticket, step, cache)
            if stage is None:
                continue
            key = (f"remind_{step.step}_{stage[0]}", str(ticket.id), step.due.isoformat())
            if key not in done:
                due.append((key, ticket, step, stage))
    if not due:
        return
    claimed = claim_reminders(ctx.session, [(*key, ticket.id) for key, ticket, _, _ in due], now=ctx.now)
    officials = {o.id: o for o in list_officials(ctx.session)}     # held: no reload per ticket
    offices = {o.code: o for o in all_offices(ctx.session)}       # noqa: F841 - kept in the session
    handlers: dict[tuple[int | None, str], list[Recipient]] = {}
    by_recipient: dict[Recipient, list[dict]] = defaultdict(list)
    for key, ticket, step, stage in due:
        if key not in claimed:
            continue
        official = officials.get(ticket.assignee_id) if ticket.assignee_id is not None else None
        item = {"code": ticket.code, "step": STEP_NAMES[step.step], "due": step.due, "left": stage[1],
                "category": ctx.settings.category(ticket.category).name, "hamlet": ticket.hamlet,
                "assignee": official.display_name if official else ""}
        handler = handlers.get((ticket.assignee_id, ticket.office_code))
        if handler is None:
            handler = handlers[(ticket.assignee_id, ticket.office_code)] = ticket_handler(ctx.session, ticket, ctx.settings)
        for recipient in handler:
            by_recipient[recipient].append(item)
    for recipient, items in by_recipient.items():
        text = ctx.texts.render("office/deadline_reminder", items=items)
        ctx.send([recipient], text, ticket_code=items[0]["code"] if len(items) == 1 else "")

