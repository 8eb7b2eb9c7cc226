"""The commune's announcements: citizens opt in (asked once after their first ticket; /dangkytin and
/huytin any time); a leader sends /thongbao with text (and optionally a photo), sees a preview with
the number of people it will reach, confirms, and it fans out through the outbox (so the channel
limits apply). On Zalo only citizens seen within the 7-day window can be reached; the rest are
reported as not reachable.

The officials' conversation (issue 3) hooks in with :func:`handle_leader_input`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Attachment, Button, Channel, Reply
from bot.core.render import Texts
from bot.tickets.records import record_refusal
from storage.models import Announcement
from storage.subscriptions import offer_needed, set_subscription, subscribed_identities, subscription  # noqa: F401
from storage.outbox import enqueue_message

COMMAND = "thongbao"
PAYLOAD_RE = re.compile(r"^ann:(send|cancel):(\d{1,12})$")
MAX_TEXT = 3500


@dataclass(frozen=True)
class Audience:
    """Who an announcement reaches now."""

    chats: list[tuple[str, str]]
    unreachable: int


def audience(session: Session, settings: Settings, now: datetime) -> Audience:
    """Every opted-in citizen's chats; Zalo chats silent for longer than the window are unreachable."""
    window = timedelta(days=settings.delivery.zalo_window_days)
    rows = subscribed_identities(session)
    chats: list[tuple[str, str]] = []
    unreachable = 0
    for identity in rows:
        if identity.channel == Channel.CONSOLE:
            continue
        if identity.channel == Channel.ZALO and identity.last_seen_at < now - window:
            unreachable += 1
            continue
        chats.append((identity.channel, identity.chat_id))
    return Audience(list(dict.fromkeys(chats)), unreachable)


def draft_announcement(session: Session, *, author: str, text: str, photo_ref: str, now: datetime) -> Announcement:
    row = Announcement(author=author, text=text[:MAX_TEXT], photo_ref=photo_ref, created_at=now)
    session.add(row)
    session.flush()
    return row


def notice_reply(texts: Texts, settings: Settings, announcement: Announcement) -> Reply:
    """What a citizen receives."""
    body = texts.render("citizen/announcement", commune=settings.commune, text=announcement.text)
    photos = (Attachment(kind="photo", ref=announcement.photo_ref),) if announcement.photo_ref else ()
    return Reply(text=body, attachments=photos)


def confirm_announcement(session: Session, settings: Settings, texts: Texts, *, announcement_id: int, author: str,
                         now: datetime) -> Reply:
    """Fan a drafted announcement out to the audience through the outbox; report to the leader."""
    row = session.get(Announcement, announcement_id)
    if row is None or row.author != author:           # forged, or another leader's draft: refused, audited
        record_refusal(session, actor=author, action="announcement_send", reason="not_author", now=now,
                       where=f"id={announcement_id}")
        return Reply(text=texts.render("leader/announcement_stale"))
    if row.status != "draft":
        return Reply(text=texts.render("leader/announcement_stale"))
    reach = audience(session, settings, now)
    reply = notice_reply(texts, settings, row)
    for channel, chat_id in reach.chats:
        enqueue_message(session, channel=channel, chat_id=chat_id, payload=reply.to_json(), now=now)
    row.status, row.sent_at = "sent", now
    row.sent_count, row.unreachable_count = len(reach.chats), reach.unreachable
    return Reply(text=texts.render("leader/announcement_sent", sent=row.sent_count, unreachable=reach.unreachable))


def handle_leader_input(session: Session, settings: Settings, texts: Texts, *, author: str, now: datetime,
                        text: str = "", payload: str | None = None, photo_ref: str = "") -> list[Reply] | None:
    """A leader's /thongbao, or a press of its preview buttons; None when the input is not ours.

    The caller has already checked that `author` (e.g. "official:12") is a leader.
    """
    if payload is not None:
        match = PAYLOAD_RE.match(payload)
        if not match:
            return None
        action, ident = match.group(1), int(match.group(2))
        if action == "send":
            return [confirm_announcement(session, settings, texts, announcement_id=ident, author=author, now=now)]
        row = session.get(Announcement, ident)
        if row is None or row.author != author:
            record_refusal(session, actor=author, action="announcement_cancel", reason="not_author", now=now,
                           where=f"id={ident}")
        elif row.status == "draft":
            row.status = "cancelled"
        return [Reply(text=texts.render("leader/announcement_cancelled"))]
    stripped = (text or "").strip()
    if not stripped.startswith("/"):
        return None
    command, _, body = stripped[1:].partition(" ")
    if command.split("@", 1)[0].lower() != COMMAND:
        return None
    body = body.strip()
    if not body:
        return [Reply(text=texts.render("leader/announcement_help"))]
    row = draft_announcement(session, author=author, text=body, photo_ref=photo_ref, now=now)
    reach = audience(session, settings, now)
    preview = notice_reply(texts, settings, row)
    ask = texts.render("leader/announcement_preview", sent=len(reach.chats), unreachable=reach.unreachable,
                       photo=bool(photo_ref))
    buttons = ((Button(texts.label("announce_send"), f"ann:send:{row.id}"),
                Button(texts.label("announce_cancel"), f"ann:cancel:{row.id}")),)
    return [preview, Reply(text=ask, buttons=buttons)]
