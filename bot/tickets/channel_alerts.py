"""Messages to officials when a channel cannot reach people: a citizen's Zalo window closed (phone
them), or the Zalo OA lost its authorisation (an admin must re-authorise). Written as outbox rows in
the caller's transaction; no personal data in logs, and a tố cáo author's phone never goes to a group.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from bot.config.settings import Settings
from bot.core.domain import Reply, TicketType
from bot.core.render import Texts
from bot.tickets.records import record_event
from storage.models import Office, OutboxMessage, ReporterIdentity
from storage.outbox import enqueue_message
from storage.tickets import find_ticket

log = logging.getLogger(__name__)


def alert_citizen_unreachable(session: Session, *, settings: Settings, texts: Texts, now: datetime, channel: str,
                              chat_id: str, ticket_code: str, outbox_id: int, notified: bool) -> None:
    """Tell the ticket's office to phone the citizen, once per held batch, with an audit event."""
    if not ticket_code:
        return
    ticket = find_ticket(session, ticket_code)
    if ticket is None:
        return
    earlier = session.exec(select(OutboxMessage.id).where(
        OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id,
        OutboxMessage.ticket_code == ticket_code, OutboxMessage.status == "held",
        col(OutboxMessage.id) != outbox_id)).first()
    if earlier is not None:
        return
    confidential = ticket.type == TicketType.TO_CAO
    phone = ticket.contact_phone
    if confidential:
        identity = session.exec(select(ReporterIdentity).where(ReporterIdentity.ticket_id == ticket.id)).first()
        phone = identity.phone if identity else ""
    record_event(session, ticket, actor="system", action="citizen_unreachable", now=now,
                 note=f"channel={channel}; template={'yes' if notified else 'no'}; phone={'yes' if phone else 'no'}")
    office = session.get(Office, ticket.office_code)
    if notified or not phone or office is None or not office.telegram_chat_id:
        return
    text = texts.render("office/citizen_unreachable", code=ticket.code, channel_name=texts.channel_name(channel),
                        phone="" if confidential else phone, confidential=confidential)
    enqueue_message(session, channel="telegram", chat_id=office.telegram_chat_id, payload=Reply(text=text).to_json(),
                    now=now, ticket_code=ticket.code)
    log.info("ticket %s: office asked to phone the citizen (%s unreachable)", ticket.code, channel)


def alert_zalo_token_failure(session: Session, *, settings: Settings, texts: Texts, now: datetime,
                             reason: str) -> None:
    """Ask an admin to re-authorise the OA (the admin chat, else the VP office group)."""
    chat_id = settings.zalo.admin_chat_id
    if not chat_id:
        office = session.get(Office, "VP")
        chat_id = office.telegram_chat_id if office else ""
    if not chat_id:
        log.error("zalo token failure and no admin chat configured: %s", reason[:200])
        return
    text = texts.render("office/zalo_token_failed", reason=reason[:300], at=now.astimezone(settings.commune.tz))
    enqueue_message(session, channel="telegram", chat_id=chat_id, payload=Reply(text=text).to_json(), now=now)
