"""Reminders before each deadline (answer / accept / resolve): n working days before (config) and on
the due day, at due_day_time, to the assignee or, while nobody has taken the ticket, the office group.

Each (ticket, stage, due date) goes out once; after downtime only the latest stage that fell due is
sent, so nobody gets three stale reminders at once. An extended deadline is a new due date and so
gets its own reminders.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlmodel import col, or_, select

from bot.office_hours import at_local, local_time, working_days_before
from bot.recipients import Recipient, ticket_handler
from bot.schedule import OPEN, DueStep, JobContext, due_steps
from storage.models import Official, SentReminder, Ticket
from storage.reminders import claim_reminder

STEP_NAMES = {"answer": "trả lời công dân", "accept": "thụ lý", "resolve": "giải quyết"}


def stages(ctx: JobContext, due: date) -> list[tuple[str, datetime, int]]:
    """(stage key, UTC moment, working days left) for one due date, earliest first."""
    at = ctx.settings.reminders.due_day_time
    found = [(f"d{n}", at_local(ctx.settings, working_days_before(ctx.calendar, due, n), at), n)
             for n in sorted(set(ctx.settings.reminders.offsets_working_days), reverse=True)]
    found.append(("d0", at_local(ctx.settings, due, at), 0))
    return found


def latest_due_stage(ctx: JobContext, ticket: Ticket, step: DueStep) -> tuple[str, int] | None:
    """The most recent stage whose time has come (and that came after the ticket existed)."""
    if step.due < ctx.today:
        return None          # overdue: the daily escalation takes over
    current = None
    for key, moment, left in stages(ctx, step.due):
        if ticket.received_at <= moment <= ctx.now:
            current = (key, left)
    return current


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
    horizon = ctx.today + timedelta(days=31)
    today = ctx.today
    tickets = ctx.session.exec(select(Ticket).where(col(Ticket.status).in_(OPEN), or_(
        col(Ticket.answer_due).between(today, horizon), col(Ticket.accept_due).between(today, horizon),
        col(Ticket.resolve_due).between(today, horizon))).order_by(col(Ticket.id))).all()
    if not tickets:
        return
    done = {(k, r, p) for k, r, p in ctx.session.exec(
        select(SentReminder.kind, SentReminder.ref, SentReminder.period)
        .where(col(SentReminder.ticket_id).in_([t.id for t in tickets]))).all()}
    by_recipient: dict[Recipient, list[dict]] = defaultdict(list)
    for ticket in tickets:
        for step in due_steps(ticket):
            stage = latest_due_stage(ctx, ticket, step)
            if stage is None:
                continue
            kind = f"remind_{step.step}_{stage[0]}"
            key = (kind, str(ticket.id), step.due.isoformat())
            if key in done or not claim_reminder(ctx.session, kind=kind, ref=key[1], period=key[2], now=ctx.now,
                                                 ticket_id=ticket.id):
                continue
            item = {"code": ticket.code, "step": STEP_NAMES[step.step], "due": step.due, "left": stage[1],
                    "category": ctx.settings.category(ticket.category).name, "hamlet": ticket.hamlet,
                    "assignee": _assignee_name(ctx, ticket)}
            for recipient in ticket_handler(ctx.session, ticket):
                by_recipient[recipient].append(item)
    for recipient, items in by_recipient.items():
        text = ctx.texts.render("office/deadline_reminder", items=items)
        ctx.send([recipient], text, ticket_code=items[0]["code"] if len(items) == 1 else "")


def _assignee_name(ctx: JobContext, ticket: Ticket) -> str:
    if ticket.assignee_id is None:
        return ""
    official = ctx.session.get(Official, ticket.assignee_id)
    return official.display_name if official else ""
