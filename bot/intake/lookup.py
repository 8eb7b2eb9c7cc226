"""Looking a ticket up by code + PIN from outside a chat (the web page): what the holder may see."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.codes import normalize_code
from bot.core.pins import check_pin
from bot.core.render import Texts
from bot.core.lifecycle import CLOSED_STATUSES, OPEN_STATUSES, final_answer
from bot.tickets.records import local_date
from storage.models import Office, Ticket
from storage.reports import status_events
from storage.tickets import find_ticket

PIN_RE = re.compile(r"^\s*(\d{6})\s*$")
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


def lookup_ticket(session: Session, settings: Settings, texts: Texts, *, code: str, pin: str) -> dict[str, object] | None:
    """The ticket's public status when code and PIN match, else None (same answer for both failures)."""
    normalized = normalize_code(code)
    pin_match = PIN_RE.match(pin or "")
    if normalized is None or pin_match is None:
        return None
    ticket = find_ticket(session, normalized)
    if ticket is None or not check_pin(normalized, pin_match.group(1), ticket.pin_hash):
        return None
    return ticket_view(session, settings, texts, ticket)


def ticket_view(session: Session, settings: Settings, texts: Texts, ticket: Ticket) -> dict[str, object]:
    """What the holder of a ticket sees of it, on every channel and on /tra-cuu: its state and
    deadlines and, once the case has ended, the answer as it was sent, its date and the office
    that gave it. Never an official's name nor an internal note."""
    office = session.get(Office, ticket.office_code)
    answer = final_answer(status_events(session, [int(ticket.id or 0)], until=FAR_FUTURE).get(int(ticket.id or 0), []))
    closed = ticket.status in CLOSED_STATUSES and answer is not None
    return {
        "code": ticket.code, "status": texts.label(f"status_{ticket.status}"), "status_code": ticket.status,
        "type_name": settings.ticket_type(ticket.type).name,
        "category_name": settings.category(ticket.category).name,
        "office_name": office.name if office else ticket.office_code,
        "received": ticket.received_date, "answer_due": ticket.answer_due, "resolve_due": ticket.resolve_due,
        "accept_due": ticket.accept_due, "open": ticket.status in OPEN_STATUSES,
        "answer": answer.note if closed else "", "answer_kind": answer.action if closed else "",
        "answered": local_date(settings, answer.at) if closed else None,
    }
