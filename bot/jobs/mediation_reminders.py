"""Reminders of grassroots mediation's own time limits (config `mediation`, bot.officials.mediation):
on the day mediators must be assigned, if none are yet, and on the day mediation must have started,
if no outcome is recorded, the hamlet's team leaders are reminded in private chat (the office of the
ticket when the hamlet has no registered team leader). Code and hamlet only: the parties' names
stay in the case the team already has.

Each (ticket, limit, due date) goes out once, at `reminders.due_day_time` of the due day or at the
first scan after it (after downtime); a new referral to mediation is a new due date.
"""

from __future__ import annotations

from collections import defaultdict

from bot.jobs.context import JobContext
from bot.jobs.office_hours import at_local, local_time
from bot.officials.mediation import mediation_limits, team_leaders
from bot.tickets.recipients import Recipient, office_recipients, official_chat
from storage.mediation import open_mediations
from storage.reminders import claim_reminders

KIND = "mediation_"


def run_due(ctx: JobContext) -> None:
    if not ctx.may_send:
        return
    due = []
    for case in open_mediations(ctx.session):
        started = local_time(ctx.settings, case.started_at).date()
        assign_by, start_by = mediation_limits(ctx.settings, ctx.calendar, started)
        limits = [("assign", assign_by)] if not case.assigned else []
        limits.append(("start", start_by))          # still in mediation: no outcome recorded yet
        come = [(stage, day) for stage, day in limits
                if at_local(ctx.settings, day, ctx.settings.reminders.due_day_time) <= ctx.now]
        if come:
            due.append((case, *come[-1]))           # after downtime only the latest limit is sent
    if not due:
        return
    claimed = claim_reminders(ctx.session, [(KIND + stage, str(case.ticket_id), day.isoformat(), case.ticket_id)
                                            for case, stage, day in due], now=ctx.now)
    by_recipient: dict[Recipient, list[dict]] = defaultdict(list)
    for case, stage, day in due:
        if (KIND + stage, str(case.ticket_id), day.isoformat()) not in claimed:
            continue
        recipients = ([official_chat(o) for o in team_leaders(ctx.session, case.hamlet)]
                      or office_recipients(ctx.session, ctx.settings, case.office_code))
        item = {"code": case.code, "hamlet": case.hamlet, "stage": stage, "due": day,
                "late": max(0, (ctx.today - day).days)}
        for recipient in recipients:
            by_recipient[recipient].append(item)
    for recipient, items in by_recipient.items():
        ctx.send([recipient], ctx.texts.render("office/mediation_reminder", items=items),
                 ticket_code=items[0]["code"] if len(items) == 1 else "")
