"""What the scheduler runs: every job is a plain function of (session, now) that asks the database
what is due, writes outbox rows and records what it wrote (sent_reminders) in ONE transaction, so a
restart neither skips nor repeats a message and whatever fell due during downtime goes out once.

APScheduler only calls :func:`run_due_jobs` every few minutes (bot/main/scheduler.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import Engine

from bot.config.settings import Settings
from bot.core.render import Texts
from bot.core.workdays import WorkingCalendar
from bot.jobs import (digest, escalation, hotspots, mediation_reminders, reception, reminders, report_reminders,
                      weekly_plan)
from bot.jobs.context import JobContext
from bot.jobs.office_hours import may_send
from storage.engine import read_session, write_session
from storage.locks import lock_scan_transaction

log = logging.getLogger(__name__)

@dataclass
class JobResult:
    """Messages written per job in one run."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


Job = Callable[[JobContext], Any]
URGENT_JOBS = frozenset({"hotspots"})      # leaders' hot-spot alerts ignore quiet hours and days off


def default_jobs() -> list[tuple[str, Job]]:
    """Every scheduled job in the order they run (hot spots first: they are urgent)."""
    return [("hotspots", hotspots.run_due), ("reminders", reminders.run_due),
            ("mediation_reminders", mediation_reminders.run_due), ("escalation", escalation.run_due),
            ("weekly_plan", weekly_plan.run_due), ("digest", digest.run_due), ("reception", reception.run_due),
            ("report_reminders", report_reminders.run_due)]


# Jobs with slow rendering (charts, spreadsheets) do it here, in a read session before the scan's write
# transaction, so on SQLite no other writer waits for matplotlib or openpyxl.
PREPARERS: Mapping[str, Callable[[JobContext], Any]] = MappingProxyType({
    "digest": digest.prepare, "weekly_plan": weekly_plan.prepare})


def prepare_jobs(engine: Engine, now: datetime, *, settings: Settings, texts: Texts, calendar: WorkingCalendar,
                 names: list[str], memory: dict[str, Any]) -> dict[str, Any]:
    """What the due jobs among `names` render ahead of the transaction; a failure only means the job
    renders inside it, as before."""
    wanted = [n for n in names if n in PREPARERS]
    prepared: dict[str, Any] = {}
    if not wanted:
        return prepared
    with read_session(engine) as session:
        for name in wanted:
            ctx = JobContext(session=session, settings=settings, texts=texts, calendar=calendar, now=now,
                             memory=memory)
            try:
                result = PREPARERS[name](ctx)
            except Exception:  # noqa: BLE001 - the job itself will try again inside its transaction
                log.warning("preparing scheduled job %s failed; it renders in its transaction", name, exc_info=True)
                continue
            if result is not None:
                prepared[name] = result
    return prepared


def run_due_jobs(engine: Engine, now: datetime, *, settings: Settings, texts: Texts, calendar: WorkingCalendar,
                 jobs: list[tuple[str, Job]] | None = None, memory: dict[str, Any] | None = None) -> JobResult:
    """Run every due job in one transaction; if that fails, each in its own, so one failing job does
    not stop the others.

    `memory` is the scanning process's own notes (e.g. when reminders last ran), a shortcut only:
    a fresh process passes an empty dict and simply does the full check.
    """
    memory = {} if memory is None else memory
    routine_allowed = may_send(settings, calendar, now)
    selected = [(n, j) for n, j in (jobs or default_jobs()) if routine_allowed or n in URGENT_JOBS]
    prepared = prepare_jobs(engine, now, settings=settings, texts=texts, calendar=calendar,
                            names=[n for n, _ in selected], memory=memory)

    def run(group: list[tuple[str, Job]]) -> JobResult:
        result, remember = JobResult(), {}
        with write_session(engine) as session:
            lock_scan_transaction(session)       # one scan transaction at a time across processes
            for name, job in group:
                ctx = JobContext(session=session, settings=settings, texts=texts, calendar=calendar, now=now,
                                 memory=memory, prepared=prepared)
                job(ctx)
                result.counts[name] = ctx.sent
                remember.update(ctx.remember)
        memory.update(remember)      # only once the transaction has committed
        return result

    try:
        return run(selected)         # the usual case: one short transaction for the whole scan
    except Exception:  # noqa: BLE001 - find the failing job, keep the others going
        log.warning("scheduled scan failed; running its jobs one by one", exc_info=True)
    result = JobResult()
    for name, job in selected:
        try:
            result.counts.update(run([(name, job)]).counts)
        except Exception:  # noqa: BLE001 - the next scan retries; this job wrote nothing
            log.exception("scheduled job %s failed; will retry at the next scan", name)
            result.counts[name] = 0
    return result
