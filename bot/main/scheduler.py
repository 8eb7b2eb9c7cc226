"""APScheduler wiring: every scan_minutes, ask the database what is due (bot.jobs.registry.run_due_jobs).

The scheduler holds no state worth keeping: what was sent is in sent_reminders and what is to
send is in the outbox, so a restart simply scans again. The time zone is explicit.

With several processes on one PostgreSQL database only the leader (storage/locks.py) runs the
periodic scans and housekeeping; any process may run the urgent hot-spot check after an inbound
event, serialised with the others by the scan transaction lock. A scan that fails (the database
is away) is logged and the next tick simply scans again: nothing needs a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import OperationalError

from bot.jobs.housekeeping import run_housekeeping
from bot.jobs.registry import URGENT_JOBS, default_jobs, run_due_jobs
from storage.locks import Leadership

log = logging.getLogger(__name__)
COMMUNE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NUDGE_DELAY = 0.5           # seconds: new tickets within this share one hot-spot check


class DueScanner:
    """Runs the due-jobs scan on an AsyncIOScheduler, in a worker thread (the core is synchronous)."""

    def __init__(self, services, *, on_outbox: Callable[[], None] | None = None) -> None:  # noqa: ANN001
        self.services = services
        self.on_outbox = on_outbox
        tz = ZoneInfo(services.settings.commune.timezone) if services.settings.commune.timezone else COMMUNE_TZ
        self.scheduler = AsyncIOScheduler(timezone=tz)
        self._lock = asyncio.Lock()
        self.memory: dict = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.leadership = Leadership(services.engine)
        # The tick; tests and simulations on an accelerated clock set it below the minute.
        self.interval_seconds: float = services.settings.schedule.scan_minutes * 60.0
        self.scans = 0          # full scans this process ran (as the leader)
        self._nudge_pending = False
        self._urgent_task: asyncio.Task[None] | None = None

    async def scan(self, *, urgent_only: bool = False) -> int:
        """One scan; overlapping scans are skipped rather than queued; a failed scan waits for the next tick."""
        if self._lock.locked():
            return 0
        try:
            return await self._scan(urgent_only)
        except OperationalError as exc:
            log.warning("scheduled scan: database unavailable (%s); the next tick tries again",
                        str(exc).splitlines()[0][:200])
            return 0
        except Exception:  # noqa: BLE001 - the next tick tries again
            log.exception("scheduled scan failed; the next tick tries again")
            return 0

    async def _scan(self, urgent_only: bool) -> int:
        async with self._lock:
            if not urgent_only:
                if not await asyncio.to_thread(self.leadership.hold):
                    return 0            # another process is the leader
                self.scans += 1
            s = self.services
            jobs = [(n, j) for n, j in default_jobs() if n in URGENT_JOBS] if urgent_only else None
            result = await asyncio.to_thread(run_due_jobs, s.engine, s.clock.now(), settings=s.settings,
                                             texts=s.texts, calendar=s.calendar, memory=self.memory, jobs=jobs)
            if not urgent_only:
                try:
                    result.counts["housekeeping"] = await asyncio.to_thread(run_housekeeping, s, self.memory)
                except Exception:  # noqa: BLE001 - retried at the next scan
                    log.exception("housekeeping failed; will retry at the next scan")
        if result.total:
            log.info("scheduled messages written: %s", {k: v for k, v in result.counts.items() if v})
            if self.on_outbox:
                self.on_outbox()
        return result.total

    def nudge(self) -> None:
        """After a new ticket: check hot spots now rather than at the next scan (any thread).

        Nudges within NUDGE_DELAY share one scan: a burst of tickets is checked together instead of
        reloading the window's open tickets once per ticket.
        """
        loop = self._loop
        if loop is None or loop.is_closed() or self._nudge_pending:
            return
        self._nudge_pending = True
        loop.call_soon_threadsafe(loop.call_later, NUDGE_DELAY, self._nudged)

    def _nudged(self) -> None:
        self._nudge_pending = False
        if self._loop is not None and not self._loop.is_closed():
            self._urgent_task = self._loop.create_task(self._urgent_scan())

    async def _urgent_scan(self) -> None:
        if self._lock.locked():             # a scan is running: it may have missed the new ticket
            async with self._lock:
                pass
        await self.scan(urgent_only=True)

    def start(self) -> None:
        """First scan shortly after start (whatever fell due during downtime), then every scan_minutes.

        The short delay lets a restarted bot answer the citizens' backlog before the scheduled burst.
        """
        schedule = self.services.settings.schedule
        first = datetime.now(self.scheduler.timezone) + timedelta(seconds=schedule.first_scan_delay_seconds)
        self.scheduler.add_job(self.scan, IntervalTrigger(seconds=self.interval_seconds,
                                                          timezone=self.scheduler.timezone),
                               id="due-scan", max_instances=1, coalesce=True, misfire_grace_time=None,
                               next_run_time=first)
        self.scheduler.start()
        self._loop = asyncio.get_running_loop()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.leadership.release()
