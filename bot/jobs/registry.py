"""What the scheduler runs: every job is a plain function of (session, now) that asks the database
what is due, writes outbox rows and records what it wrote (sent_reminders) in ONE transaction, so a
restart neither skips nor repeats a message and whatever fell due during downtime goes out once.

APScheduler only calls :func:`run_due_jobs` every few minutes (notifications/scheduler.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Attachment, Reply, TicketStatus
from bot.core.lifecycle import OPEN as LIFECYCLE_OPEN
from bot.jobs.office_hours import local_time, may_send
from bot.tickets.recipients import Recipient
from bot.core.render import Texts
from bot.core.workdays import WorkingCalendar
from storage.engine import write_session
from storage.locks import lock_scan_transaction
from storage.models import Ticket
from storage.outbox import enqueue_message

log = logging.getLogger(__name__)

OPEN = LIFECYCLE_OPEN      # THE open set (bot.core.lifecycle): a transferred ticket is open at its new office


@dataclass
class JobContext:
    """What a job may use while it runs inside its transaction."""

    session: Session
    settings: Settings
    texts: Texts
    calendar: WorkingCalendar
    now: datetime
    sent: int = 0
    memory: dict[str, Any] = field(default_factory=dict)      # what this process saw; set after commit
    remember: dict[str, Any] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return local_time(self.settings, self.now).date()

    @property
    def may_send(self) -> bool:
        """Routine messages wait for a working day outside quiet hours."""
        return may_send(self.settings, self.calendar, self.now)

    def send(self, recipients: Iterable[Recipient], text: str, *, ticket_code: str = "",
             attachments: tuple[Attachment, ...] = ()) -> int:
        """Queue one message to each recipient (deduplicated) in this transaction."""
        count = 0
        for recipient in dict.fromkeys(recipients):
            enqueue_message(self.session, channel=recipient.channel, chat_id=recipient.chat_id,
                            payload=Reply(text=text, attachments=attachments).to_json(), now=self.now,
                            ticket_code=ticket_code)
            count += 1
        self.sent += count
        return count


# What the scheduled jobs read of an open ticket: plain rows of these columns, not ORM objects
# (no sealed columns to open, a fraction of the memory), so a large backlog stays cheap.
OPEN_TICKET_COLUMNS = (Ticket.id, Ticket.code, Ticket.type, Ticket.status, Ticket.category, Ticket.hamlet,
                       Ticket.office_code, Ticket.assignee_id, Ticket.citizen_id, Ticket.cosigners,
                       Ticket.received_at, Ticket.received_date, Ticket.answer_due, Ticket.accept_due,
                       Ticket.accepted_at, Ticket.resolve_due)


@dataclass(frozen=True)
class DueStep:
    """One deadline of a ticket that still applies: answer, accept or resolve."""

    step: str
    due: date


def due_steps(ticket: Ticket) -> list[DueStep]:
    """The deadlines still running: an answer until the ticket leaves 'received', acceptance until
    it is accepted, resolution until it is closed (a transfer inside the UBND keeps it running)."""
    if ticket.status not in OPEN:
        return []
    steps: list[DueStep] = []
    if ticket.status == TicketStatus.RECEIVED:
        steps.append(DueStep("answer", ticket.answer_due))
    if ticket.accept_due is not None and ticket.accepted_at is None and ticket.status == TicketStatus.RECEIVED:
        steps.append(DueStep("accept", ticket.accept_due))
    steps.append(DueStep("resolve", ticket.resolve_due))
    return steps


def overdue_steps(ticket: Ticket, today: date) -> list[DueStep]:
    """Deadlines already passed (a deadline is the end of its day)."""
    return [s for s in due_steps(ticket) if s.due < today]


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
    from bot.jobs import digest
    from bot.jobs import escalation
    from bot.jobs import hotspots
    from bot.jobs import reception
    from bot.jobs import reminders
    from bot.jobs import report_reminders
    from bot.jobs import weekly_plan

    return [("hotspots", hotspots.run_due), ("reminders", reminders.run_due), ("escalation", escalation.run_due),
            ("weekly_plan", weekly_plan.run_due), ("digest", digest.run_due), ("reception", reception.run_due),
            ("report_reminders", report_reminders.run_due)]


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

    def run(group: list[tuple[str, Job]]) -> JobResult:
        result, remember = JobResult(), {}
        with write_session(engine) as session:
            lock_scan_transaction(session)       # one scan transaction at a time across processes
            for name, job in group:
                ctx = JobContext(session=session, settings=settings, texts=texts, calendar=calendar, now=now,
                                 memory=memory)
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
