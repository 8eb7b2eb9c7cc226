"""Reminders of the commune plan's report deadlines (31/5 six-month, 30/11 annual): each office is
reminded 10 and 3 days before (config), on a working day at report_at."""

from __future__ import annotations

from datetime import date, timedelta

from bot.jobs.office_hours import at_local
from bot.tickets.recipients import office_recipients
from bot.jobs.context import JobContext
from storage.due_tickets import offices_in_code_order
from storage.reminders import claim_reminder, claimed_refs


def reminder_days(ctx: JobContext, deadline: date) -> list[tuple[int, date]]:
    """(days before, the working day it goes out) for each configured offset."""
    found = []
    for offset in sorted(set(ctx.settings.schedule.report_offsets_days), reverse=True):
        day = ctx.calendar.next_working_day(deadline - timedelta(days=offset))
        if day < deadline:
            found.append((offset, day))
    return found


def run_due(ctx: JobContext) -> None:
    """Remind every office once per offset; after downtime only the latest offset goes out."""
    if not ctx.may_send:
        return
    moment = at_local(ctx.settings, ctx.today, ctx.settings.schedule.report_at)
    if ctx.now < moment or ctx.memory.get("report_reminders") == ctx.today.isoformat():
        return
    ctx.remember["report_reminders"] = ctx.today.isoformat()
    for spec in ctx.settings.schedule.report_deadlines:
        for year in (ctx.today.year, ctx.today.year + 1):
            try:
                deadline = date(year, spec.month, spec.day)
            except ValueError:
                continue
            if not ctx.today < deadline:
                continue
            current = None
            for offset, day in reminder_days(ctx, deadline):
                if at_local(ctx.settings, day, ctx.settings.schedule.report_at) <= ctx.now:
                    current = offset
            if current is None:
                continue
            done = claimed_refs(ctx.session, kind="report_reminder", period=deadline.isoformat())
            for office in offices_in_code_order(ctx.session):
                if f"{office.code}:{current}" not in done and claim_reminder(ctx.session, kind="report_reminder", ref=f"{office.code}:{current}",
                                  period=deadline.isoformat(), now=ctx.now):
                    text = ctx.texts.render("office/report_reminder", name=spec.name, deadline=deadline,
                                            days_left=(deadline - ctx.today).days)
                    ctx.send(office_recipients(ctx.session, ctx.settings, office.code), text)
