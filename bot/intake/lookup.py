"""Looking a ticket up by code + PIN from outside a chat (the web page): what the holder may see."""

from __future__ import annotations

import re

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.codes import normalize_code
from bot.core.pins import check_pin
from bot.core.render import Texts
from storage.models import Office
from storage.tickets import find_ticket

PIN_RE = re.compile(r"^\s*(\d{6})\s*$")


def lookup_ticket(session: Session, settings: Settings, texts: Texts, *, code: str, pin: str) -> dict[str, object] | None:
    """The ticket's public status when code and PIN match, else None (same answer for both failures)."""
    normalized = normalize_code(code)
    pin_match = PIN_RE.match(pin or "")
    if normalized is None or pin_match is None:
        return None
    ticket = find_ticket(session, normalized)
    if ticket is None or not check_pin(normalized, pin_match.group(1), ticket.pin_hash):
        return None
    office = session.get(Office, ticket.office_code)
    return {
        "code": ticket.code, "status": texts.label(f"status_{ticket.status}"), "status_code": ticket.status,
        "type_name": settings.ticket_type(ticket.type).name,
        "category_name": settings.category(ticket.category).name,
        "office_name": office.name if office else ticket.office_code,
        "received": ticket.received_date, "answer_due": ticket.answer_due, "resolve_due": ticket.resolve_due,
        "accept_due": ticket.accept_due,
    }
