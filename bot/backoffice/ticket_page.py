"""The ticket page: the whole text, photos and files, location, co-signers, deadlines, the audited
history, duplicate/related tickets and same-place neighbours, and the actions this person may take
now. Everything is decided by bot.core.policy.can on the ticket (404 otherwise); a tố cáo's author is
never part of it (only the leaders' audited reveal shows it, see bot.backoffice.web_actions)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.backoffice.desk import Desk
from bot.core.domain import TicketType
from bot.core.policy import can
from bot.officials import actions
from bot.officials.commands import event_line
from bot.tickets import cards
from bot.tickets.citizen_notices import recipients
from storage.backoffice import attachments_of, events_of, linked_tickets, same_place
from storage.models import Ticket, TicketAttachment
from storage.tickets import find_ticket

SAME_PLACE_DAYS = 90
SAME_PLACE_LIMIT = 10
IMAGE_MIMES = ("image/jpeg", "image/png", "image/webp", "image/gif")


def visible_ticket(desk: Desk, code: str) -> Ticket | None:
    """The ticket when this person may view it; None for unknown and forbidden alike (both 404)."""
    ticket = find_ticket(desk.session, code)
    if ticket is None or not can(desk.official, "view", ticket, desk.chat):
        return None
    return ticket


def allowed_actions(desk: Desk, ticket: Ticket) -> list[str]:
    """The chat card's actions that this person may take on the ticket in its present state."""
    out = []
    for row in cards.BUTTONS_BY_STATUS.get(str(ticket.status), ()):
        for action in row:
            if not can(desk.official, action, ticket, desk.chat):
                continue
            if action in actions.STATES_FOR and str(ticket.status) not in actions.STATES_FOR[action]:
                continue
            out.append(action)
    return out


def build_ticket_page(desk: Desk, ticket: Ticket) -> dict[str, Any]:
    """Everything the page shows."""
    session, settings = desk.session, desk.settings
    view = cards.card_view(desk, ticket)
    files = []
    for item in attachments_of(session, int(ticket.id or 0)):
        files.append({"id": item.id, "kind": item.kind, "mime": item.mime, "size": item.size,
                      "stored": bool(item.path), "image": item.mime in IMAGE_MIMES and bool(item.path)})
    history = [event_line(desk, e) | {"denied": e.action == "denied"} for e in events_of(session, int(ticket.id or 0))]
    links = [{"code": other.code, "kind": kind, "score": round(score, 2), "visible": can(desk.official, "view", other,
                                                                                          desk.chat).allowed}
             for other, kind, score in linked_tickets(session, int(ticket.id or 0))]
    near = [{"code": r.code, "status_name": desk.texts.label(f"status_{r.status}"), "received": r.received_date,
             "office": r.office_code}
            for r in same_place(session, ticket, since=desk.today - timedelta(days=SAME_PLACE_DAYS),
                                limit=SAME_PLACE_LIMIT)]
    allowed = allowed_actions(desk, ticket)
    extension = actions.extension_target(desk, ticket) if "extend" in allowed else None
    open_status = str(ticket.status) in actions.STATES_FOR["refuse"]
    return {
        "t": view, "channel_name": desk.texts.channel_name(ticket.channel), "description": ticket.description, "files": files, "history": history, "links": links,
        "near": near, "allowed": allowed, "extension": extension, "received_at": ticket.received_at,
        "overdue": open_status and ticket.resolve_due < desk.today,
        "hot_spot": ticket.cosigners >= settings.hotspots.cosigners
        or len(near) + 1 >= settings.portal.hot_spot_same_place,
        "offices": [o for o in settings.offices if o.code != ticket.office_code],
        "reachable": bool(recipients(session, ticket)),
        "can_reveal": ticket.type == TicketType.TO_CAO and can(desk.official, "reveal_identity", ticket,
                                                                 desk.chat).allowed,
        "map_url": (f"https://www.openstreetmap.org/?mlat={ticket.latitude:.6f}&mlon={ticket.longitude:.6f}"
                    f"#map=17/{ticket.latitude:.6f}/{ticket.longitude:.6f}")
        if ticket.latitude is not None and ticket.longitude is not None else "",
    }


def visible_attachment(desk: Desk, attachment_id: int) -> TicketAttachment | None:
    """A stored file of a ticket this person may view; None (404) otherwise."""
    item = desk.session.get(TicketAttachment, attachment_id)
    if item is None or not item.path:
        return None
    ticket = desk.session.get(Ticket, item.ticket_id)
    if ticket is None or not can(desk.official, "view", ticket, desk.chat):
        return None
    return item
