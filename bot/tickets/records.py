"""Tickets: creation from a finished draft (code, PIN, routing, deadlines) and audited changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.codes import format_code
from bot.core.deadlines import compute_deadlines
from bot.core.domain import TicketStatus, TicketType
from bot.core.lifecycle import check_transition
from bot.core.pins import hash_pin, new_pin
from bot.core.routing import route_ticket
from bot.core.workdays import WorkingCalendar
from storage.models import ReporterIdentity, Ticket, TicketAttachment, TicketEvent
from storage.tickets import next_ticket_number


@dataclass
class Draft:
    """What the citizen has told us so far; stored as JSON in the conversation row."""

    type: str = ""
    description: str = ""
    category: str = ""
    hamlet: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    location: list[float] | None = None
    contact_mode: str = ""          # anonymous | phone | manual
    contact_name: str = ""
    contact_phone: str = ""
    contact_address: str = ""       # the sender's own address, not the incident's hamlet
    cosigners: int = 1
    suggestions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "Draft":
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class CreatedTicket:
    ticket: Ticket
    pin: str


def local_date(settings: Settings, moment: datetime) -> date:
    """The commune's calendar date at a UTC moment."""
    return moment.astimezone(settings.commune.tz).date()


def record_event(session: Session, ticket: Ticket, *, actor: str, action: str, now: datetime,
                 from_status: str | None = None, to_status: str | None = None, note: str = "") -> None:
    """Append one audit event for a ticket."""
    session.add(TicketEvent(ticket_id=ticket.id, at=now, actor=actor, action=action,
                            from_status=from_status, to_status=to_status, note=note))


def record_refusal(session: Session, *, actor: str, action: str, reason: str, now: datetime,
                   ticket_id: int | None = None, where: str = "") -> None:
    """Audit a refused action (not permitted, forged or someone else's button): who tried what, why, where."""
    note = f"action={action} reason={reason}" + (f" {where}" if where else "")
    session.add(TicketEvent(ticket_id=ticket_id, at=now, actor=actor, action="denied", note=note))


def change_status(session: Session, ticket: Ticket, target: TicketStatus, *, actor: str, action: str,
                  now: datetime, note: str = "") -> None:
    """Move a ticket to `target` if the lifecycle allows it, with its audit event."""
    check_transition(ticket.status, target)
    previous = ticket.status
    ticket.status = str(target)
    ticket.updated_at = now
    record_event(session, ticket, actor=actor, action=action, now=now, from_status=previous,
                 to_status=str(target), note=note)


def create_ticket(session: Session, *, settings: Settings, calendar: WorkingCalendar, draft: Draft,
                  channel: str, citizen_id: int | None, now: datetime, source: str = "electronic",
                  received: date | None = None) -> CreatedTicket:
    """Turn a confirmed draft into a routed ticket with deadlines, PIN and first audit event."""
    received_date = received or local_date(settings, now)
    code = format_code(settings.commune.code_prefix, received_date.year,
                       next_ticket_number(session, prefix=settings.commune.code_prefix, year=received_date.year))
    pin = new_pin()
    type_spec = settings.ticket_type(draft.type)
    due = compute_deadlines(type_spec.type_rules(settings.deadlines.rule_set), received=received_date,
                            calendar=calendar)
    is_denunciation = draft.type == TicketType.TO_CAO
    anonymous = draft.contact_mode in ("", "anonymous")
    ticket = Ticket(
        code=code, pin_hash=hash_pin(code, pin), type=draft.type, category=draft.category or "khac",
        hamlet=draft.hamlet, office_code=route_ticket(settings, ticket_type=draft.type,
                                                      category=draft.category or "khac", hamlet=draft.hamlet),
        status=str(TicketStatus.RECEIVED), description=draft.description, channel=channel, source=source,
        # A tố cáo is never linked to its author on the case row (Luật Tố cáo art. 47).
        citizen_id=None if is_denunciation else citizen_id,
        anonymous=anonymous,
        contact_name="" if is_denunciation else draft.contact_name,
        contact_phone="" if is_denunciation else draft.contact_phone,
        contact_address="" if is_denunciation or anonymous else draft.contact_address,
        cosigners=max(1, draft.cosigners),
        latitude=draft.location[0] if draft.location else None,
        longitude=draft.location[1] if draft.location else None,
        received_at=now, received_date=received_date, answer_due=due.answer_due, accept_due=due.accept_due,
        resolve_due=due.resolve_due, created_at=now, updated_at=now,
    )
    session.add(ticket)
    session.flush()
    if is_denunciation:
        session.add(ReporterIdentity(ticket_id=ticket.id, citizen_id=citizen_id, name=draft.contact_name,
                                     phone=draft.contact_phone, address=draft.contact_address, created_at=now))
    for item in draft.attachments:
        session.add(TicketAttachment(ticket_id=ticket.id, kind=item.get("kind", "document"),
                                     ref=item.get("ref", ""), mime=item.get("mime", ""),
                                     size=int(item.get("size") or 0), created_at=now))
    record_event(session, ticket, actor=f"citizen:{channel}", action="created", now=now,
                 to_status=ticket.status, note=f"office={ticket.office_code}")
    return CreatedTicket(ticket=ticket, pin=pin)
