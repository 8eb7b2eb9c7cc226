"""The daily escalation: on working days at escalation_at, each office head gets the office's late
tickets and the leaders get the whole list, with how many days each is late."""

from __future__ import annotations

from collections import defaultdict
from sqlmodel import select

from bot.office_hours import at_local
from bot.overdue import OverdueItem, overdue_tickets
from bot.recipients import leaders, office_heads
from bot.schedule import JobContext
from storage.models import Office
from storage.reminders import claim_reminder, claimed_refs

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
    items = overdue_tickets(ctx.session, ctx.settings, ctx.today)
    if not items:
        return
    by_office: dict[str, list[OverdueItem]] = defaultdict(list)
    for item in items:
        by_office[item.office_code].append(item)
    for code, office_items in sorted(by_office.items()):
        if claim_reminder(ctx.session, kind="escalation", ref=code, period=period, now=ctx.now):
            office = ctx.session.get(Office, code)
            text = ctx.texts.render("office/escalation", office_name=office.name if office else code,
                                    items=office_items[:MAX_LISTED], total=len(office_items), today=ctx.today)
            ctx.send(office_heads(ctx.session, code), text)
    if claim_reminder(ctx.session, kind="escalation", ref="leaders", period=period, now=ctx.now):
        names = {o.code: o.name for o in ctx.session.exec(select(Office)).all()}
        summary = [{"office": names.get(code, code), "count": len(v), "max_late": max(i.days_late for i in v)}
                   for code, v in sorted(by_office.items())]
        text = ctx.texts.render("leader/escalation", items=items[:MAX_LISTED], total=len(items), today=ctx.today,
                                summary=summary, offices=names)
        ctx.send(leaders(ctx.session, ctx.settings), text)

