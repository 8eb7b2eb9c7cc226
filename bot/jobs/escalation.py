"""The daily escalation: on working days at escalation_at, each office head gets the office's late
tickets and the leaders get the whole list, with how many days each is late."""

from __future__ import annotations

from bot.jobs.office_hours import at_local
from bot.jobs.overdue import most_late, overdue_by_office, overdue_counts
from bot.tickets.recipients import leaders, office_heads
from bot.jobs.context import JobContext
from storage.models import Office
from storage.reminders import claim_reminder, claimed_refs
from storage.tickets import office_names

MAX_LISTED = 60


def run_due(ctx: JobContext) -> None:
    """Send today's escalation once, at or after the configured time."""
    if not ctx.may_send or ctx.now < at_local(ctx.settings, ctx.today, ctx.settings.schedule.escalation_at):
        return
    period = ctx.today.isoformat()
    if ctx.memory.get("escalation") == period:
        return
    if "leaders" in claimed_refs(ctx.session, kind="escalation", period=period):
        ctx.remember["escalation"] = period
        return
    # Counts per office in one GROUP BY; only the listed tickets are read (the database ranks them).
    by_office = overdue_counts(ctx.session, ctx.today)
    if not by_office:
        return
    lists = overdue_by_office(ctx.session, ctx.settings, ctx.today, limit=MAX_LISTED)
    for code, late in sorted(by_office.items()):
        if claim_reminder(ctx.session, kind="escalation", ref=code, period=period, now=ctx.now):
            office = ctx.session.get(Office, code)
            office_items = lists.get(code, [])
            text = ctx.texts.render("office/escalation", office_name=office.name if office else code,
                                    items=office_items, total=late.count, today=ctx.today)
            ctx.send(office_heads(ctx.session, code), text)
    if claim_reminder(ctx.session, kind="escalation", ref="leaders", period=period, now=ctx.now):
        names = office_names(ctx.session)
        summary = [{"office": names.get(code, code), "count": late.count, "max_late": late.max_late}
                   for code, late in sorted(by_office.items())]
        items = most_late(lists, MAX_LISTED)
        text = ctx.texts.render("leader/escalation", items=items, total=sum(v.count for v in by_office.values()),
                                today=ctx.today, summary=summary, offices=names)
        ctx.send(leaders(ctx.session, ctx.settings), text)

