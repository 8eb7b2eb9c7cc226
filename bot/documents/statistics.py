"""Petition statistics for a period, computed from the database: the numbers behind the 6-month and
annual reports, the public page and the register. Pure functions take `now`; queries are in storage.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import COMPLAINT_TYPES, is_satisfied
from bot.core.lifecycle import CLOSED, NOT_COMPETENT_STATUSES, RESOLVED_STATUSES, final_answer
from storage.models import Ticket, TicketEvent
from storage.reports import satisfaction_answers, ticket_batches, tickets_by_id

# THE sets (bot.core.lifecycle) as plain strings. An internal transfer is neither finished nor
# outside competence: it is open at the receiving office.
FINISHED = frozenset(CLOSED)
RESOLVED = frozenset(str(s) for s in RESOLVED_STATUSES)
NOT_COMPETENT = frozenset(str(s) for s in NOT_COMPETENT_STATUSES)
MAX_HOT_SPOTS = 15
MAX_CODES_LISTED = 10


@dataclass(frozen=True)
class Period:
    """A reporting period in local dates, both ends included."""

    kind: str          # 6m | year | custom
    year: int
    start: date
    end: date


def report_period(kind: str, year: int, *, start: date | None = None, end: date | None = None,
                  today: date | None = None) -> Period:
    """The 6-month (1/1–30/6) or annual (1/1–31/12) period, cut at `today`; explicit dates win."""
    nominal_end = date(year, 6, 30) if kind == "6m" else date(year, 12, 31)
    first = start or date(year, 1, 1)
    last = end or (min(nominal_end, today) if today and today >= first else nominal_end)
    if last < first:
        raise ValueError(f"the period ends ({last:%d/%m/%Y}) before it starts ({first:%d/%m/%Y})")
    return Period(kind=kind if not (start or end) else ("custom" if kind not in ("6m", "year") else kind),
                  year=year, start=first, end=last)


@dataclass
class Row:
    """One line of a statistics table."""

    key: str
    name: str
    carried: int = 0
    new: int = 0
    resolved: int = 0
    on_time: int = 0
    late: int = 0
    referred: int = 0      # not within competence: referred outside or the citizen guided elsewhere
    pending: int = 0
    overdue: int = 0
    mediated: int = 0      # referred to the hamlet's mediation team during the period
    mediation_success: int = 0

    @property
    def total(self) -> int:
        """carried + new = resolved + referred + pending (every table adds up)."""
        return self.carried + self.new


@dataclass
class HotSpot:
    """A warning worth a leader's attention: a mass petition or a cluster in one hamlet."""

    kind: str          # mass | cluster
    label: str
    count: int
    codes: tuple[str, ...]


@dataclass
class PeriodReport:
    """Every number a petition report needs, for one period."""

    period: Period
    commune_name: str
    carried_over: int = 0
    received_new: int = 0
    anonymous_denunciations: int = 0
    eligible: int = 0
    not_competent: int = 0
    within_competence: int = 0
    mass_petitions: int = 0
    by_type: list[Row] = field(default_factory=list)
    by_category: list[Row] = field(default_factory=list)
    by_hamlet: list[Row] = field(default_factory=list)
    by_office: list[Row] = field(default_factory=list)
    handling: dict[str, int] = field(default_factory=dict)
    by_channel: list[Row] = field(default_factory=list)
    complaints: Row = field(default_factory=lambda: Row("complaints", ""))
    petitions: Row = field(default_factory=lambda: Row("petitions", ""))
    mediated: int = 0
    mediation_success: int = 0
    mediation_failed: int = 0
    surveys_asked: int = 0
    ratings: list[int] = field(default_factory=list)
    hot_spots: list[HotSpot] = field(default_factory=list)
    hot_spots_more: int = 0
    ticket_codes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.carried_over + self.received_new

    @property
    def resolved(self) -> int:
        return sum(r.resolved for r in self.by_type)

    @property
    def on_time(self) -> int:
        return sum(r.on_time for r in self.by_type)

    @property
    def satisfied(self) -> int:
        return sum(1 for r in self.ratings if is_satisfied(r))

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / len(self.ratings) if self.ratings else None

    @property
    def response_rate(self) -> float | None:
        return len(self.ratings) / self.surveys_asked if self.surveys_asked else None

    @property
    def mediation_rate(self) -> float | None:
        finished = self.mediation_success + self.mediation_failed
        return self.mediation_success / finished if finished else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.resolved if self.resolved else None


def local_day_end(settings: Settings, day: date) -> datetime:
    """The UTC instant at which a local day ends."""
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=settings.commune.tz)
    return local.astimezone(timezone.utc)


def local_day_of(settings: Settings, moment: datetime) -> date:
    """The commune's local date of a stored instant."""
    return _aware(moment).astimezone(settings.commune.tz).date()


def status_at(ticket: Ticket, events: list[TicketEvent], moment: datetime) -> str | None:
    """The ticket's state at `moment` from its audit trail (None: not received yet)."""
    if _aware(ticket.received_at) > moment:
        return None
    state = "received"
    for event in events:
        if _aware(event.at) <= moment and event.to_status:
            state = event.to_status
    return state


def resolved_day(settings: Settings, events: list[TicketEvent], moment: datetime) -> date | None:
    """The local date the ticket was (last) resolved up to `moment`, or None."""
    day = None
    for event in events:
        if _aware(event.at) <= moment and event.to_status in RESOLVED and event.from_status not in RESOLVED:
            day = _aware(event.at).astimezone(settings.commune.tz).date()
        elif _aware(event.at) <= moment and event.to_status == "reopened":
            day = None
    return day


def answer_text(events: list[TicketEvent]) -> str:
    """The text of the final answer sent to the citizen, or ""."""
    found = final_answer(events)
    return found.note if found is not None else ""


def channel_key(ticket) -> str:  # noqa: ANN001 - a ticket row
    """How a ticket came in, as the report's channel table groups it: paper/phone intake at the
    commune (source direct/post/forwarded) or the electronic channel it arrived on."""
    return ticket.channel if ticket.source == "electronic" else ticket.source


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def build_report(session: Session, settings: Settings, period: Period, *, ticket_filter=None,  # noqa: ANN001
                 loaded: tuple[list, dict] | None = None) -> PeriodReport:
    """Count everything for the period; tickets finished before it started are left out.

    `ticket_filter` keeps some tickets only; `loaded` passes (tickets, events) already read up to the period's end.
    """
    start_moment = local_day_end(settings, period.start - timedelta(days=1))
    end_moment = local_day_end(settings, period.end)
    if loaded is None:      # streamed: a million tickets never sit in memory at once
        batches = ticket_batches(session, end=period.end, events_until=end_moment,
                                 finished_before=(period.start, start_moment, FINISHED))
    else:
        batches = iter([loaded])
    report = PeriodReport(period=period, commune_name=settings.commune.name)
    types = {t.code: Row(t.code, t.name) for t in settings.ticket_types}
    cats = {c.code: Row(c.code, c.name) for c in settings.categories}
    hamlets = {h: Row(h, h) for h in settings.hamlets}
    offices = {o.code: Row(o.code, o.name) for o in settings.offices}
    channels: dict[str, Row] = {}
    clusters: dict[tuple[str, str], list] = {}
    handling: Counter[str] = Counter()
    counted: set[int] = set()
    for tickets, events in batches:
        for ticket in tickets:
            if ticket_filter is not None:
                if not ticket_filter(ticket):
                    continue
                counted.add(int(ticket.id or 0))
            _add_ticket(report, settings, period, ticket, events.get(int(ticket.id or 0), []),
                        start_moment=start_moment, end_moment=end_moment, rows=(types, cats, hamlets, offices, channels),
                        clusters=clusters, handling=handling)
    for (category, hamlet), (count, *codes) in sorted(clusters.items(), key=lambda item: -item[1][0]):
        if count >= settings.portal.hot_spot_same_place:
            report.hot_spots.append(HotSpot("cluster", f"{cats[category].name} – {hamlet}", count, tuple(codes)))
    # The largest first; a report lists a readable number of them and says how many more there are.
    report.hot_spots.sort(key=lambda h: (h.kind != "mass", -h.count))
    report.hot_spots_more = max(0, len(report.hot_spots) - MAX_HOT_SPOTS)
    report.hot_spots = [HotSpot(h.kind, h.label, h.count, h.codes[:MAX_CODES_LISTED])
                        for h in report.hot_spots[:MAX_HOT_SPOTS]]
    report.by_type = list(types.values())
    report.by_category = [r for r in cats.values() if r.total]
    report.by_hamlet = [r for r in hamlets.values() if r.total]
    report.by_office = list(offices.values())
    report.by_channel = [channels[k] for k in sorted(channels)]
    report.handling = dict(handling)
    surveyed = satisfaction_answers(session, start_moment, end_moment)
    if ticket_filter is not None and loaded is None:
        # Streaming left out tickets finished before the period; a survey of one still counts
        # when the ticket passes the filter.
        counted |= {int(t.id) for t in tickets_by_id(session, {i for i, _ in surveyed} - counted)
                    if t.received_date <= period.end and ticket_filter(t)}
    answers = [rating for ticket_id, rating in surveyed if ticket_id in counted or ticket_filter is None]
    report.surveys_asked, report.ratings = len(answers), [r for r in answers if r is not None]
    return report


def _add_ticket(report: PeriodReport, settings: Settings, period: Period, ticket, history: list,  # noqa: ANN001
                *, start_moment: datetime, end_moment: datetime, rows: tuple[dict, dict, dict, dict, dict],
                clusters: dict[tuple[str, str], list], handling: Counter) -> None:
    """Count one ticket into the report (nothing when it was finished before the period)."""
    types, cats, hamlets, offices, channels = rows
    carried = ticket.received_date < period.start
    if carried and status_at(ticket, history, start_moment) in FINISHED:
        return
    report.ticket_codes.append(ticket.code)
    state = status_at(ticket, history, end_moment) or "received"
    handling[state] += 1
    done_day = resolved_day(settings, history, end_moment)
    counted_rows = [types.setdefault(ticket.type, Row(ticket.type, ticket.type)),
                    cats.setdefault(ticket.category, Row(ticket.category, ticket.category)),
                    hamlets.setdefault(ticket.hamlet, Row(ticket.hamlet, ticket.hamlet)),
                    offices.setdefault(ticket.office_code, Row(ticket.office_code, ticket.office_code)),
                    channels.setdefault(channel_key(ticket), Row(channel_key(ticket), channel_key(ticket))),
                    report.complaints if ticket.type in COMPLAINT_TYPES else report.petitions]
    mediation = _mediation(history, start_moment, end_moment)
    for row in counted_rows:
        _count(row, carried=carried, state=state, done_day=done_day, due=ticket.resolve_due, end=period.end)
        row.mediated += mediation[0]
        row.mediation_success += mediation[1]
    report.mediated += mediation[0]
    report.mediation_success += mediation[1]
    report.mediation_failed += mediation[2]
    if carried:
        report.carried_over += 1
    else:
        report.received_new += 1
    anonymous_denunciation = ticket.type == "to_cao" and ticket.anonymous
    report.anonymous_denunciations += anonymous_denunciation
    if not anonymous_denunciation:
        report.eligible += 1
        if state in NOT_COMPETENT:
            report.not_competent += 1
        else:
            report.within_competence += 1
    if ticket.cosigners >= settings.hotspots.cosigners:
        report.mass_petitions += 1
        report.hot_spots.append(HotSpot("mass", f"{cats[ticket.category].name} – {ticket.hamlet or '—'}",
                                        ticket.cosigners, (ticket.code,)))
    if not carried and ticket.hamlet:
        count_and_codes = clusters.setdefault((ticket.category, ticket.hamlet), [0])
        count_and_codes[0] += 1
        if len(count_and_codes) <= MAX_CODES_LISTED:       # a report lists only the first few codes
            count_and_codes.append(ticket.code)


def _count(row: Row, *, carried: bool, state: str, done_day: date | None, due: date, end: date) -> None:
    if carried:
        row.carried += 1
    else:
        row.new += 1
    if state in RESOLVED:
        row.resolved += 1
        if done_day is None or done_day <= due:
            row.on_time += 1
        else:
            row.late += 1
    elif state in NOT_COMPETENT:
        row.referred += 1
    else:
        row.pending += 1
        if due < end:
            row.overdue += 1


def _mediation(history: list, start: datetime, end: datetime) -> tuple[int, int, int]:
    """(referred to mediation, succeeded, failed) within the period, from the audit trail."""
    started = success = failed = 0
    for event in history:
        if not start < _aware(event.at) <= end:
            continue
        action = getattr(event, "action", "")
        started += action == "mediation_started"
        success += action == "mediation_success"
        failed += action == "mediation_failed"
    return started, success, failed


def report_due(settings: Settings, today: date) -> str | None:
    """Which report's draft leaders should receive today ("6m" or "year"), if any."""
    for kind in ("6m", "year"):
        deadline = report_deadline(settings, kind, today.year)
        if deadline is not None and today == deadline - timedelta(days=settings.reports.draft_days_before):
            return kind
    return None


def report_deadline(settings: Settings, kind: str, year: int) -> date | None:
    """The deadline of the 6-month or annual report (schedule.report_deadlines, by kind)."""
    for spec in settings.schedule.report_deadlines:
        if spec.kind == kind:
            return date(year, spec.month, spec.day)
    return None
