"""The weekly plan ("Kế hoạch giải quyết đơn thư tuần NN"): each office group gets, at the start of
the week, what is overdue, what falls due this week and what was received but not yet accepted,
with assignees; the leaders get the consolidated plan. `danvan plan` prints the same text in full.

In chat each list is cut at `schedule.weekly_plan_max_lines` lines and the complete plan goes with
the message as an .xlsx sheet: a backlog of hundreds of files would otherwise be dozens of Telegram
messages that nobody scrolls through."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Attachment, TicketStatus
from bot.jobs.office_hours import at_local, week_label, week_monday, weekly_fire_day
from bot.jobs.overdue import STEP_NAMES, DueLine
from bot.tickets.recipients import leaders, office_recipients
from bot.jobs.context import OPEN, JobContext, due_steps
from bot.core.render import Texts
from bot.documents.weekly_plan_xlsx import XLSX_MIME, sheet_words, write_plan_xlsx
from storage.due_tickets import offices_in_code_order, open_tickets
from storage.officials import list_officials
from storage.models import Office
from storage.reminders import claim_reminder, claimed_refs


@dataclass
class OfficePlan:
    """One office's plan for one week."""

    office_code: str
    office_name: str
    overdue: list[DueLine] = field(default_factory=list)
    due_this_week: list[DueLine] = field(default_factory=list)
    not_accepted: list[DueLine] = field(default_factory=list)
    mediation: list[DueLine] = field(default_factory=list)
    later: list[DueLine] = field(default_factory=list)

    @property
    def sections(self) -> tuple[list[DueLine], ...]:
        """Most urgent first; each open ticket of the office is in exactly one of them."""
        return self.overdue, self.due_this_week, self.not_accepted, self.mediation, self.later

    @property
    def codes(self) -> list[str]:
        return [line.code for lines in self.sections for line in lines]

    @property
    def empty(self) -> bool:
        return not any(self.sections)


def build_plan(session: Session, settings: Settings, *, monday: date, today: date | None = None,
               office: str | None = None) -> list[OfficePlan]:
    """Every office's plan for the week starting `monday`, as of `today` (default: that Monday).

    Each open ticket is listed once, in its most urgent section: overdue when a running deadline
    ended before `today`; else due this week when its earliest running deadline falls within the
    week; else not accepted while it waits at its office (received, or transferred there from
    another office of the UBND); else with the hamlet's mediation team; else in progress, due later.
    """
    today = today or monday
    sunday = monday + timedelta(days=6)
    offices = offices_in_code_order(session)
    plans = {o.code: OfficePlan(o.code, o.name) for o in offices if office in (None, o.code)}
    names = {o.id: o.display_name for o in list_officials(session)}
    categories = {c.code: c.name for c in settings.categories}
    for ticket in open_tickets(session, open_statuses=OPEN, office=office):
        plan = plans.get(ticket.office_code)
        if plan is None:
            continue
        steps = due_steps(ticket)
        late = [s for s in steps if s.due < today]
        upcoming = [s for s in steps if today <= s.due <= sunday]

        def line(step):  # noqa: ANN001, ANN202 - a local shorthand
            return DueLine(code=ticket.code, office_code=ticket.office_code, step=STEP_NAMES[step.step],
                            due=step.due, days_late=max(0, (today - step.due).days),
                            category=categories[ticket.category], hamlet=ticket.hamlet,
                            assignee=names.get(ticket.assignee_id, "") if ticket.assignee_id else "")

        if late:
            plan.overdue.append(line(min(late, key=lambda s: s.due)))
        elif upcoming:
            plan.due_this_week.append(line(min(upcoming, key=lambda s: s.due)))
        elif ticket.status in (TicketStatus.RECEIVED, TicketStatus.TRANSFERRED):
            plan.not_accepted.append(line(min(steps, key=lambda s: s.due)))
        elif ticket.status == TicketStatus.MEDIATION:
            plan.mediation.append(line(min(steps, key=lambda s: s.due)))
        else:
            plan.later.append(line(min(steps, key=lambda s: s.due)))
    for plan in plans.values():
        plan.overdue.sort(key=lambda x: (-x.days_late, x.code))
        for lines in (plan.due_this_week, plan.not_accepted, plan.mediation, plan.later):
            lines.sort(key=lambda x: (x.due, x.code))
    return list(plans.values())


CONSOLIDATED_OVERDUE_LINES = 15      # overdue lines per office in the leaders' plan (the template's cut)


def render_plan(texts: Texts, plans: list[OfficePlan], *, monday: date, consolidated: bool,
                limit: int | None = None, attached: bool = False) -> str:
    """The plan text (one office, or every office for the leaders); each list cut at `limit` lines
    (None: all), saying so and, when `attached`, pointing to the attached sheet."""
    week = monday.isocalendar()[1]
    return texts.render("office/weekly_plan", plans=plans, week=week, year=monday.isocalendar()[0],
                        monday=monday, sunday=monday + timedelta(days=6), consolidated=consolidated,
                        limit=limit if limit is not None else 10**9, attached=attached,
                        totals={"overdue": sum(len(p.overdue) for p in plans),
                                "due": sum(len(p.due_this_week) for p in plans),
                                "not_accepted": sum(len(p.not_accepted) for p in plans),
                                "mediation": sum(len(p.mediation) for p in plans),
                                "later": sum(len(p.later) for p in plans)})


def _due_monday(ctx: JobContext) -> date | None:
    """This week's Monday when its plans are due now and not yet sent by this process, else None."""
    if not ctx.may_send:
        return None
    monday = week_monday(ctx.today)
    slot = ctx.settings.schedule.weekly_plan
    day = weekly_fire_day(ctx.calendar, monday, slot.weekday)
    if day is None or ctx.now < at_local(ctx.settings, day, slot.at):
        return None
    if ctx.memory.get("weekly_plan") == week_label(monday):
        return None
    return monday


@dataclass(frozen=True)
class PreparedPlans:
    """The week's plans and their spreadsheets, built before the scan's write transaction."""

    period: str
    plans: list[OfficePlan]
    sheets: dict[str, tuple[Attachment, ...]]      # by office code, "xa" for the leaders' consolidated plan


def _sheets_for(ctx: JobContext, plans: list[OfficePlan], monday: date, offices: list[Office],
                refs: set[str]) -> dict[str, tuple[Attachment, ...]]:
    """The .xlsx of each plan whose chat message is cut (only for `refs`, the messages still to send)."""
    limit = ctx.settings.schedule.weekly_plan_max_lines
    sheets: dict[str, tuple[Attachment, ...]] = {}
    for office in offices:
        own = [p for p in plans if p.office_code == office.code]
        if office.code in refs and _longest(own) > limit:
            sheets[office.code] = _sheet(ctx, own, monday=monday, office=office.name, ref=office.code)
    if "leaders" in refs and any(len(p.overdue) > CONSOLIDATED_OVERDUE_LINES for p in plans):
        sheets["xa"] = _sheet(ctx, plans, monday=monday, office="", ref="xa")
    return sheets


def prepare(ctx: JobContext) -> PreparedPlans | None:
    """Before the transaction (a read session): build the plans and write the spreadsheets of the messages
    about to go, so the scan's write transaction only queues them."""
    monday = _due_monday(ctx)
    if monday is None:
        return None
    period = week_label(monday)
    sent = claimed_refs(ctx.session, kind="weekly_plan", period=period)
    if "leaders" in sent:
        return None
    offices = offices_in_code_order(ctx.session)
    refs = {o.code for o in offices} - set(sent) | {"leaders"}
    plans = build_plan(ctx.session, ctx.settings, monday=monday, today=ctx.today)
    return PreparedPlans(period=period, plans=plans, sheets=_sheets_for(ctx, plans, monday, offices, refs))


def run_due(ctx: JobContext) -> None:
    """Send this week's plans once, at the configured slot (moved to the first working day)."""
    monday = _due_monday(ctx)
    if monday is None:
        return
    period = week_label(monday)
    ctx.remember["weekly_plan"] = period
    if "leaders" in claimed_refs(ctx.session, kind="weekly_plan", period=period):
        return
    offices = offices_in_code_order(ctx.session)
    refs = {o.code for o in offices if claim_reminder(ctx.session, kind="weekly_plan", ref=o.code, period=period,
                                                      now=ctx.now)}
    if claim_reminder(ctx.session, kind="weekly_plan", ref="leaders", period=period, now=ctx.now):
        refs.add("leaders")
    if not refs:
        return
    prepared = ctx.prepared.get("weekly_plan")
    if isinstance(prepared, PreparedPlans) and prepared.period == period:
        plans, sheets = prepared.plans, prepared.sheets
    else:       # called without the scheduler's preparation (a direct call): write the sheets here
        plans = build_plan(ctx.session, ctx.settings, monday=monday, today=ctx.today)
        sheets = _sheets_for(ctx, plans, monday, offices, refs)
    limit = ctx.settings.schedule.weekly_plan_max_lines
    for office in offices:
        if office.code not in refs:
            continue
        own = [p for p in plans if p.office_code == office.code]
        recipients = office_recipients(ctx.session, ctx.settings, office.code)
        sheet = sheets.get(office.code, ())
        ctx.send(recipients, render_plan(ctx.texts, own, monday=monday, consolidated=False, limit=limit,
                                         attached=bool(sheet)), attachments=sheet)
    if "leaders" in refs:
        sheet = sheets.get("xa", ())
        ctx.send(leaders(ctx.session, ctx.settings),
                 render_plan(ctx.texts, plans, monday=monday, consolidated=True, attached=bool(sheet)),
                 attachments=sheet)


def _longest(plans: list[OfficePlan]) -> int:
    return max((len(lines) for p in plans for lines in p.sections), default=0)


def _sheet(ctx: JobContext, plans: list[OfficePlan], *, monday: date, office: str,
           ref: str) -> tuple[Attachment, ...]:
    """The complete plan as an .xlsx attachment, written beside the digests."""
    commune = ctx.settings.commune.name
    words = sheet_words(ctx.texts, monday=monday, office=office, commune=commune)
    name = f"{words['file_name']}-{ref.lower()}.xlsx"
    path = write_plan_xlsx(ctx.texts, plans, monday=monday, office=office, commune=commune,
                           path=Path(ctx.settings.schedule.digest_dir) / name)
    return (Attachment(kind="document", path=str(path), name=name, mime=XLSX_MIME, size=path.stat().st_size),)
