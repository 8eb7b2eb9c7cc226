"""Back-office sign-in without passwords: a one-time link (10 minutes, stored hashed) pushed to an
official's own chat, exchanged for a server-side session whose id the server alone chooses.

Sessions end after the configured idle time, when the official signs out (here or everywhere), and
as soon as the official is revoked: :func:`session_state` is asked on every request. Every sign-in,
refused sign-in and sign-out is an audit event."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Channel, Outgoing, Reply
from bot.core.render import Texts
from bot.tickets.records import record_refusal
from storage.models import Official, TicketEvent, WebSession
from storage.officials import find_official
from storage.web_sessions import add_login_link, add_session, end_sessions, find_login_link, take_login_link

LOGIN_PATH = "/can-bo/vao"
TOUCH_EVERY = timedelta(seconds=60)       # last_seen_at is written at most once a minute per session


def digest(secret: str) -> str:
    """What the database keeps of a link token or a session id (both 256-bit random)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def base_url(settings: Settings) -> str:
    """The address officials open: web.public_url, else the local listener."""
    return settings.web.public_url.rstrip("/") or f"http://{settings.web.host}:{settings.web.port}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def issue_link(session: Session, settings: Settings, official: Official, now: datetime) -> str:
    """A new sign-in link for `official` (the token is only in the returned URL)."""
    token = secrets.token_urlsafe(32)
    add_login_link(session, token_hash=digest(token), official_id=int(official.id or 0), now=now,
                   expires_at=now + timedelta(minutes=settings.web.login_link_minutes))
    session.add(TicketEvent(ticket_id=None, at=now, actor=f"official:{official.id}", action="web_link_issued"))
    return f"{base_url(settings)}{LOGIN_PATH}?t={token}"


def link_message(session: Session, settings: Settings, texts: Texts, official: Official, now: datetime) -> Outgoing:
    """The link as a message to the official's own private chat (never a group), through the outbox."""
    url = issue_link(session, settings, official, now)
    text = texts.render("office/login_link", url=url, minutes=settings.web.login_link_minutes)
    return Outgoing(channel=Channel(official.channel), chat_id=official.user_id, reply=Reply(text=text))


def request_link(session: Session, settings: Settings, texts: Texts, *, channel: str, user_id: str,
                 now: datetime) -> Outgoing | None:
    """'Đăng nhập' on the page: the link goes to the account's chat when it belongs to an active
    official; the page says the same whatever happened (no one learns who is registered)."""
    official = find_official(session, channel=channel, user_id=user_id)
    if official is None or not official.active:
        record_refusal(session, actor=f"{channel}:unknown", action="web_link", reason="not_official", now=now)
        return None
    return link_message(session, settings, texts, official, now)


@dataclass(frozen=True)
class SignIn:
    official: Official | None
    session_id: str = ""
    reason: str = ""


def sign_in(session: Session, token: str, now: datetime, *, where: str = "") -> SignIn:
    """Spend a link: a fresh random session id (never one the browser brought) for its official."""
    token_hash = digest(token or "")
    link = take_login_link(session, token_hash, now) if token else None
    if link is None:
        old = find_login_link(session, token_hash) if token else None
        reason = "unknown" if old is None else ("used" if old.used_at is not None else "expired")
        record_refusal(session, actor=f"official:{old.official_id}" if old else "web:unknown",
                       action="web_sign_in", reason=reason, now=now, where=where)
        return SignIn(None, reason=reason)
    official = session.get(Official, link.official_id)
    if official is None or not official.active:
        record_refusal(session, actor=f"official:{link.official_id}", action="web_sign_in", reason="revoked",
                       now=now, where=where)
        return SignIn(None, reason="revoked")
    session_id = secrets.token_urlsafe(32)
    add_session(session, id_hash=digest(session_id), official_id=int(official.id or 0), now=now)
    session.add(TicketEvent(ticket_id=None, at=now, actor=f"official:{official.id}", action="web_sign_in",
                            note=f"session={digest(session_id)[:12]} {where}".strip()))
    return SignIn(official, session_id=session_id)


def session_state(row: WebSession | None, official: Official | None, now: datetime, *, idle: timedelta) -> str:
    """ok | touch (ok, and time to record activity) | ended | idle | revoked | unknown."""
    if row is None or official is None:
        return "unknown"
    if row.ended_at is not None:
        return "ended"
    if not official.active:
        return "revoked"
    seen = _aware(row.last_seen_at)
    if now - seen > idle:
        return "idle"
    return "touch" if now - seen >= TOUCH_EVERY else "ok"


def close(session: Session, row: WebSession, state: str, now: datetime) -> None:
    """Apply what session_state found: record activity, or end the session (all of them when revoked)."""
    if state == "touch":
        row.last_seen_at = now
        session.add(row)
    elif state == "revoked":
        end_sessions(session, row.official_id, now)
    elif state == "idle":
        end_sessions(session, row.official_id, now, only=row.id_hash)


def sign_out(session: Session, official_id: int, session_id: str, now: datetime, *, everywhere: bool) -> int:
    """End this browser's session, or every session of the official; audited."""
    count = end_sessions(session, official_id, now, only=None if everywhere else digest(session_id))
    session.add(TicketEvent(ticket_id=None, at=now, actor=f"official:{official_id}",
                            action="web_sign_out_all" if everywhere else "web_sign_out", note=f"sessions={count}"))
    return count
