"""An official's transfer as a category correction: the ticket's category follows the office it
was sent to, and the (scrubbed) description becomes a labelled example for retraining."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.routing import route_ticket
from bot.language.learning import ModelSlot, scrub, ticket_ref
from storage.classifier import add_correction
from storage.models import Ticket


def category_for_office(settings: Settings, classifier: ModelSlot, ticket: Ticket, office: str) -> str | None:
    """The category a ticket sent to `office` should have: its own if that already routes
    there, else the likeliest category (by the classifier) among those routed to that office;
    None when no category leads there (khiếu nại and tố cáo are routed by type, not category)."""
    def routes(code: str) -> bool:
        return route_ticket(settings, ticket_type=ticket.type, category=code, hamlet=ticket.hamlet) == office

    if routes(ticket.category):
        return None
    allowed = [c.code for c in settings.categories if routes(c.code)]
    if not allowed:
        return None
    if len(allowed) == 1:
        return allowed[0]
    ranked = [code for code, _ in classifier.model.classify(ticket.description).candidates]
    ranked += [code for code in classifier.model.classes if code not in ranked]
    return next(code for code in ranked if code in allowed)


def correct_on_transfer(session: Session, settings: Settings, classifier: ModelSlot, ticket: Ticket, *,
                        office: str, now: datetime) -> str | None:
    """Re-categorise a ticket transferred to `office` and keep the correction; the new category or None."""
    new = category_for_office(settings, classifier, ticket, office)
    if new is None or new == ticket.category:
        return None
    record_correction(session, ticket, new, source="transfer", now=now)
    ticket.category = new
    return new


def record_correction(session: Session, ticket: Ticket, category: str, *, source: str, now: datetime) -> None:
    """Keep (description without personal data, corrected category); nothing else of the ticket."""
    add_correction(session, ticket_ref=ticket_ref(ticket.code), text=scrub(ticket.description),
                   from_category=ticket.category, to_category=category, source=source, now=now)
