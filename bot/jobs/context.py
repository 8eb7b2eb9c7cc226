"""What every scheduled job works with: the job context (one transaction, the outbox, the clock's
"now") and the deadlines of an open ticket that can still fall due."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Attachment, Reply, TicketStatus
from bot.core.lifecycle import OPEN as LIFECYCLE_OPEN
from bot.core.render import Texts
from bot.core.workdays import WorkingCalendar
from bot.jobs.office_hours import local_time, may_send
from bot.tickets.recipients import Recipient
from storage.models import Ticket
from storage.outbox import enqueue_message

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
    prepared: dict[str, Any] = field(default_factory=dict)    # rendered before the transaction (registry.prepare)

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
