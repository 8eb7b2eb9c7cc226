"""Messages to officials when a channel cannot reach people: a citizen's Zalo window closed (phone
them), or the Zalo OA lost its authorisation (an admin must re-authorise). Written as outbox rows in
the caller's transaction; no personal data in logs, and a tố cáo author's phone never goes to a group.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Reply, TicketType
from bot.core.render import Texts
from bot.tickets.recipients import Recipient, office_group, office_recipients, parse_chat
from bot.tickets.records import record_event
from storage.models import Office
from storage.officials import find_official
from storage.outbox import enqueue_message, other_held_row
from storage.tickets import find_ticket, reporter_identity

log = logging.getLogger(__name__)


def alert_citizen_unreachable(session: Session, *, settings: Settings, texts: Texts, now: datetime, channel: str,
                              chat_id: str, ticket_code: str, outbox_id: int, notified: bool) -> None:
    """Tell the ticket's office to phone the citizen, once per held batch, with an audit event.

    When the held chat is an official's own (Zalo's 7-day rule applies to officials too), the office's
    groups are asked instead to have that official open the OA chat; the messages go out when they write."""
    official = find_official(session, channel=channel, user_id=chat_id)
    if official is not None:
        _official_unreachable(session, texts=texts, now=now, channel=channel, chat_id=chat_id, outbox_id=outbox_id,
                              name=official.display_name, office_code=official.office_code or "")
        return
    if not ticket_code:
        return
    ticket = find_ticket(session, ticket_code)
    if ticket is None:
        return
    earlier = other_held_row(session, channel=channel, chat_id=chat_id, outbox_id=outbox_id, ticket_code=ticket_code)
    if earlier is not None:
        return
    confidential = ticket.type == TicketType.TO_CAO
    phone = ticket.contact_phone
    if confidential:
        identity = reporter_identity(session, ticket.id)
        phone = identity.phone if identity else ""
    record_event(session, ticket, actor="system", action="citizen_unreachable", now=now,
                 note=f"channel={channel}; template={'yes' if notified else 'no'}; phone={'yes' if phone else 'no'}")
    targets = office_recipients(session, settings, ticket.office_code)
    if notified or not phone or not targets:
        return
    text = texts.render("office/citizen_unreachable", code=ticket.code, channel_name=texts.channel_name(channel),
                        phone="" if confidential else phone, confidential=confidential)
    for target in targets:
        enqueue_message(session, channel=target.channel, chat_id=target.chat_id, payload=Reply(text=text).to_json(),
                        now=now, ticket_code=ticket.code)
    log.info("ticket %s: office asked to phone the citizen (%s unreachable)", ticket.code, channel)


def _official_unreachable(session: Session, *, texts: Texts, now: datetime, channel: str, chat_id: str,
                          outbox_id: int, name: str, office_code: str) -> None:
    earlier = other_held_row(session, channel=channel, chat_id=chat_id, outbox_id=outbox_id)
    if earlier is not None or not office_code:
        return
    text = texts.render("office/official_window_closed", name=name, channel_name=texts.channel_name(channel))
    for target in office_group(session, office_code):
        enqueue_message(session, channel=target.channel, chat_id=target.chat_id, payload=Reply(text=text).to_json(),
                        now=now)
    log.info("official's %s chat held (7-day window); office %s told", channel, office_code)


def admin_targets(session: Session, settings: Settings) -> list[Recipient]:
    """Where channel alerts go: zalo.admin_chat_id ("zalo:…" or a Telegram id), else the VP office."""
    configured = parse_chat(settings.zalo.admin_chat_id)
    if configured is not None:
        return [configured]
    return office_recipients(session, settings, "VP") if session.get(Office, "VP") is not None else []


def alert_zalo_token_failure(session: Session, *, settings: Settings, texts: Texts, now: datetime,
                             reason: str) -> None:
    """Ask an admin to re-authorise the OA (the admin chat, else the VP office)."""
    targets = admin_targets(session, settings)
    if not targets:
        log.error("zalo token failure and no admin chat configured: %s", reason[:200])
        return
    text = texts.render("office/zalo_token_failed", reason=reason[:300], at=now.astimezone(settings.commune.tz))
    for target in targets:
        enqueue_message(session, channel=target.channel, chat_id=target.chat_id, payload=Reply(text=text).to_json(),
                        now=now)


def alert_zalo_group_failure(session: Session, *, settings: Settings, texts: Texts, now: datetime, chat_id: str,
                             code: int, reason: str) -> None:
    """A Zalo group refused a message for good (quota exhausted, or an unknown error): tell an admin."""
    quota = code in settings.zalo.group.quota_error_codes
    text = texts.render("office/zalo_group_failed", code=code, reason=reason[:200], quota=quota,
                        at=now.astimezone(settings.commune.tz))
    targets = [t for t in admin_targets(session, settings) if (t.channel, t.chat_id) != ("zalo", chat_id)]
    log.error("zalo group message refused (error %s)%s", code, "" if targets else "; no admin chat to tell")
    for target in targets:
        enqueue_message(session, channel=target.channel, chat_id=target.chat_id, payload=Reply(text=text).to_json(),
                        now=now)


def alert_storage_full(session: Session, *, settings: Settings, texts: Texts, now: datetime, used: int) -> None:
    """Tell an admin that uploads reached the storage ceiling (the admin chat, else the VP office)."""
    log.error("uploads reached the storage ceiling: %d of %d bytes", used, settings.doors.storage_ceiling_bytes)
    text = texts.render("office/storage_full", used_mib=used // 2 ** 20,
                        ceiling_mib=settings.doors.storage_ceiling_bytes // 2 ** 20,
                        at=now.astimezone(settings.commune.tz))
    for target in admin_targets(session, settings):
        enqueue_message(session, channel=target.channel, chat_id=target.chat_id, payload=Reply(text=text).to_json(),
                        now=now)
