"""A ticket placed directly in the database for permission and concurrency tests."""

from __future__ import annotations

import itertools

from bot.core.domain import TicketStatus
from bot.tickets.records import Draft, create_ticket
from storage.models import Ticket
from storage.tickets import ensure_citizen

_citizens = itertools.count(1)


def add_ticket(session, services, *, accepted: bool) -> Ticket:
    """A KT ticket with an electronic contact, received (or already accepted)."""
    now = services.clock.now()
    person = ensure_citizen(session, channel="console", user_id=f"cit{next(_citizens)}", chat_id="cit", now=now)
    draft = Draft(type="phan_anh", description="Đèn đường thôn Mẫu 1 bị hỏng nhiều ngày", category="ha_tang",
                  contact_mode="manual", contact_name="Nguyễn Văn Test", contact_phone="0912000111")
    ticket = create_ticket(session, settings=services.settings, calendar=services.calendar, draft=draft,
                           channel="console", citizen_id=person.id, now=now).ticket
    if accepted:
        ticket.status = str(TicketStatus.ACCEPTED)
        ticket.accepted_at = now
    session.flush()
    return ticket
