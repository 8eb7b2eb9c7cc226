"""The leaders' weekly digest: last week's numbers (received by type, category, hamlet, office and
channel; resolved; on-time rate; overdue list; average handling time; satisfaction against the
target with the response rate), the change from the week before, hot spots, and a chart image.
`danvan digest --week 2026-W24 --out DIR` writes the same text and PNG.
"""

from __future__ import annotations

import logging
import textwrap
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import SATISFIED_FROM, Attachment
from bot.core.lifecycle import RESOLVED_STATUSES
from bot.jobs.hotspots import Hotspot, find_hotspots
from bot.jobs.office_hours import at_local, week_label, week_monday, weekly_fire_day
from bot.jobs.overdue import DueLine, overdue_counts, overdue_tickets
from bot.tickets.recipients import leaders
from bot.jobs.context import JobContext
from bot.core.render import Texts, labels
from storage.tickets import office_names
from storage.reminders import claim_reminder, claimed_refs
from storage.weekly_numbers import event_counts, received_counts, resolved_between, survey_counts

MAX_OVERDUE_LISTED = 20
MEDIATION_ACTIONS = ("mediation_started", "mediation_success", "mediation_failed")
log = logging.getLogger(__name__)


@dataclass
class WeekNumbers:
    """The counts of one week (Monday to Sunday, local time)."""

    monday: date
    received: int = 0
    by_type: Counter = field(default_factory=Counter)
    by_category: Counter = field(default_factory=Counter)
    by_hamlet: Counter = field(default_factory=Counter)
    by_office: Counter = field(default_factory=Counter)
    by_channel: Counter = field(default_factory=Counter)
    resolved: int = 0
    resolved_on_time: int = 0
    handling_days_total: float = 0.0
    surveys_asked: int = 0
    surveys_answered: int = 0
    surveys_satisfied: int = 0
    mediation: Counter = field(default_factory=Counter)     # mediation_started / _success / _failed events

    @property
    def mediation_rate(self) -> float | None:
        finished = self.mediation["mediation_success"] + self.mediation["mediation_failed"]
        return self.mediation["mediation_success"] / finished if finished else None

    @property
    def on_time_rate(self) -> float | None:
        return self.resolved_on_time / self.resolved if self.resolved else None

    @property
    def avg_handling_days(self) -> float | None:
        return self.handling_days_total / self.resolved if self.resolved else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.surveys_satisfied / self.surveys_answered if self.surveys_answered else None

    @property
    def response_rate(self) -> float | None:
        return self.surveys_answered / self.surveys_asked if self.surveys_asked else None


@dataclass
class Digest:
    """Everything the weekly digest shows."""

    week: WeekNumbers
    previous: WeekNumbers
    overdue: list[DueLine]        # the most late, as many as the text lists
    overdue_total: int
    hotspots: list[Hotspot]
    target: float


def count_week(session: Session, settings: Settings, monday: date) -> WeekNumbers:
    """Count one week straight from the tickets (and satisfaction surveys when that table exists)."""
    numbers = WeekNumbers(monday=monday)
    sunday = monday + timedelta(days=6)
    start, end = at_local(settings, monday, time(0)), at_local(settings, sunday + timedelta(days=1), time(0))
    # Counted by the database: one row per combination that occurs (a few hundred), not per ticket.
    rows = received_counts(session, monday, sunday)
    for type_, category, hamlet, office, channel, source, count in rows:
        numbers.received += count
        numbers.by_type[type_] += count
        numbers.by_category[category] += count
        numbers.by_hamlet[hamlet or ""] += count
        numbers.by_office[office] += count
        numbers.by_channel[channel if source == "electronic" else source] += count   # as channel_key
    tz = settings.commune.tz
    # Resolved as the report counts it (bot.core.lifecycle): a refusal or a referral outside is not.
    resolved = resolved_between(session, start, end, statuses=sorted(str(s) for s in RESOLVED_STATUSES))
    for received_at, resolved_at, resolve_due in resolved:
        numbers.resolved += 1
        if resolved_at.astimezone(tz).date() <= resolve_due:
            numbers.resolved_on_time += 1
        numbers.handling_days_total += (resolved_at - received_at).total_seconds() / 86400
    numbers.mediation = Counter(event_counts(session, MEDIATION_ACTIONS, start, end))
    surveys = survey_counts(session, start, end, satisfied_from=SATISFIED_FROM)
    if surveys is not None:
        numbers.surveys_asked, numbers.surveys_answered, numbers.surveys_satisfied = surveys
    return numbers


def build_digest(session: Session, settings: Settings, *, monday: date, now: datetime) -> Digest:
    """The digest of the week starting `monday`, overdue as of the Monday after it."""
    as_of = monday + timedelta(days=7)
    return Digest(week=count_week(session, settings, monday),
                  previous=count_week(session, settings, monday - timedelta(days=7)),
                  overdue=overdue_tickets(session, settings, as_of, limit=MAX_OVERDUE_LISTED),
                  overdue_total=sum(o.count for o in overdue_counts(session, as_of).values()),
                  hotspots=find_hotspots(session, settings, now), target=settings.schedule.satisfaction_target)


def ranked(counter: Counter) -> list[tuple[str, int]]:
    """Largest first, equal counts by key: the same order on every engine, whatever order the rows came in."""
    return sorted(counter.items(), key=lambda item: (-item[1], item[0] or ""))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%".replace(".", ",")


def _delta(now: float | int | None, before: float | int | None, *, percent: bool = False) -> str:
    if now is None or before is None:
        return ""
    diff = (now - before) * (100 if percent else 1)
    if abs(diff) < 0.05:
        return labels()["digest_unchanged"]
    sign = "+" if diff > 0 else "−"
    shown = f"{abs(diff):.1f}".replace(".", ",") if (percent or isinstance(diff, float)) else f"{abs(diff)}"
    return labels()["digest_delta"].format(sign=sign, shown=shown, unit=labels()["digest_delta_points"] if percent else "")


def render_digest(texts: Texts, settings: Settings, digest: Digest, *, office_names: dict[str, str]) -> str:
    """The digest text for leaders."""
    w, p = digest.week, digest.previous
    label = lambda counter, names: [(names.get(k, k or labels()["digest_unknown"]), v) for k, v in ranked(counter)]  # noqa: E731
    types = {t.code: t.name for t in settings.ticket_types}
    cats = {c.code: c.name for c in settings.categories}
    return texts.render(
        "leader/weekly_digest", w=w, p=p, week=w.monday.isocalendar()[1], year=w.monday.isocalendar()[0],
        sunday=w.monday + timedelta(days=6), by_type=label(w.by_type, types), by_category=label(w.by_category, cats),
        by_hamlet=label(w.by_hamlet, {}), by_office=label(w.by_office, office_names),
        by_channel=label(w.by_channel, texts.channel_names()), on_time=_pct(w.on_time_rate),
        avg_days=("–" if w.avg_handling_days is None else f"{w.avg_handling_days:.1f}".replace(".", ",")),
        satisfaction=_pct(w.satisfaction_rate), response=_pct(w.response_rate), target=_pct(digest.target),
        mediation_rate=_pct(w.mediation_rate),
        below_target=w.satisfaction_rate is not None and w.satisfaction_rate < digest.target,
        d_received=_delta(w.received, p.received), d_resolved=_delta(w.resolved, p.resolved),
        d_on_time=_delta(w.on_time_rate, p.on_time_rate, percent=True),
        d_satisfaction=_delta(w.satisfaction_rate, p.satisfaction_rate, percent=True),
        overdue=digest.overdue[:MAX_OVERDUE_LISTED], overdue_total=digest.overdue_total, offices=office_names,
        hotspots=[{"kind": h.kind, "hamlet": h.hamlet, "category": cats.get(h.category, h.category),
                   "codes": h.codes, "cosigners": h.cosigners} for h in digest.hotspots])




CHART_WARMUP_AHEAD = timedelta(hours=1)
WARMUP_THREAD = "digest-chart-warmup"


def warm_chart_library() -> threading.Thread | None:
    """Import matplotlib (Agg) in a background thread, once per process.

    The import costs 0.3 s on a quiet 2-core machine (3.7 s measured under load) and ~38 MB: paid inside the
    digest job it held the scan transaction that long. The digest's scans call this in the hour
    before its slot, so the job itself only draws; the rest of the week the process never loads it.
    Returns the thread (None when matplotlib is already loaded)."""
    if "matplotlib.pyplot" in sys.modules or any(t.name == WARMUP_THREAD for t in threading.enumerate()):
        return None
    warmup = threading.Thread(target=_import_chart_library, name=WARMUP_THREAD, daemon=True)
    warmup.start()
    return warmup


def _import_chart_library() -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot  # noqa: F401 - loaded for write_chart
    except Exception:  # noqa: BLE001 - write_chart imports again and reports the error in its job
        log.warning("could not preload matplotlib for the digest chart", exc_info=True)


def write_chart(settings: Settings, digest: Digest, path: Path) -> Path:
    """A PNG with last week's petitions by category and by hamlet (Vietnamese labels, DejaVu Sans)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    cats = {c.code: c.name for c in settings.categories}
    w = digest.week
    words = labels()
    plt.rcParams["font.family"] = "DejaVu Sans"
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6), dpi=90)
    try:
        items = ranked(w.by_category)
        left.barh([_wrap(cats.get(k, k)) for k, _ in items][::-1], [v for _, v in items][::-1], color="#2b6cb0")
        left.set_title(words["chart_by_category"])
        left.set_xlabel(words["chart_count"])
        hamlets = ranked(w.by_hamlet)[:10]
        right.barh([_wrap(k or words["chart_unknown_hamlet"]) for k, _ in hamlets][::-1], [v for _, v in hamlets][::-1], color="#c05621")
        right.set_title(words["chart_by_hamlet"])
        right.set_xlabel(words["chart_count"])
        for axis in (left, right):          # counts: whole-number ticks only
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        week = w.monday.isocalendar()
        fig.suptitle(words["chart_title"].format(week=week[1], year=week[0], received=w.received, resolved=w.resolved,
                                                 on_time=_pct(w.on_time_rate), satisfaction=_pct(w.satisfaction_rate)))
        fig.subplots_adjust(left=0.17, right=0.98, wspace=0.55, top=0.88, bottom=0.1)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def _wrap(label: str, width: int = 22) -> str:
    """A whole chart label, wrapped onto lines of about `width` characters (never cut)."""
    return textwrap.fill(label, width=width, break_long_words=False)


def _due_week(ctx: JobContext) -> date | None:
    """The Monday of the week whose digest is due now and not yet sent by this process, else None
    (in the hour before the slot, the chart library is loaded in the background meanwhile)."""
    if not ctx.may_send:
        return None
    monday = week_monday(ctx.today)
    slot = ctx.settings.schedule.digest
    day = weekly_fire_day(ctx.calendar, monday, slot.weekday)
    if day is None:
        return None
    moment = at_local(ctx.settings, day, slot.at)
    if ctx.now < moment:
        if moment - ctx.now <= CHART_WARMUP_AHEAD:
            warm_chart_library()        # the scans before the slot load matplotlib; the digest only draws
        return None
    last_monday = monday - timedelta(days=7)
    if ctx.memory.get("digest") == week_label(last_monday):
        return None
    return last_monday


@dataclass(frozen=True)
class PreparedDigest:
    """A digest computed and its chart drawn before the scan's write transaction."""

    period: str
    digest: Digest
    chart: Path


def _chart_path(ctx: JobContext, last_monday: date) -> Path:
    return Path(ctx.settings.schedule.digest_dir) / f"digest-{week_label(last_monday)}.png"


def prepare(ctx: JobContext) -> PreparedDigest | None:
    """Before the transaction (a read session): when the digest is about to go, compute it and draw the chart,
    so the scan's write transaction only queues the message."""
    last_monday = _due_week(ctx)
    if last_monday is None or claimed_refs(ctx.session, kind="digest", period=week_label(last_monday)):
        return None
    if not leaders(ctx.session, ctx.settings):
        return None
    digest = build_digest(ctx.session, ctx.settings, monday=last_monday, now=ctx.now)
    return PreparedDigest(period=week_label(last_monday), digest=digest,
                          chart=write_chart(ctx.settings, digest, _chart_path(ctx, last_monday)))


def run_due(ctx: JobContext) -> None:
    """Send last week's digest once, at the configured slot (moved to the first working day)."""
    last_monday = _due_week(ctx)
    if last_monday is None:
        return
    period = week_label(last_monday)
    ctx.remember["digest"] = period
    if claimed_refs(ctx.session, kind="digest", period=period):
        return
    if not claim_reminder(ctx.session, kind="digest", ref="leaders", period=period, now=ctx.now):
        return
    recipients = leaders(ctx.session, ctx.settings)
    if not recipients:
        return
    prepared = ctx.prepared.get("digest")
    if isinstance(prepared, PreparedDigest) and prepared.period == period:
        digest, png = prepared.digest, prepared.chart
    else:       # called without the scheduler's preparation (a direct call): draw here
        digest = build_digest(ctx.session, ctx.settings, monday=last_monday, now=ctx.now)
        png = write_chart(ctx.settings, digest, _chart_path(ctx, last_monday))
    body = render_digest(ctx.texts, ctx.settings, digest, office_names=office_names(ctx.session))
    caption = ctx.texts.render("leader/digest_caption", week=last_monday.isocalendar()[1],
                               year=last_monday.isocalendar()[0])
    ctx.send(recipients, body, attachments=(Attachment(kind="photo", path=str(png), name=caption),))
