"""Opaque button ids: a payload is "x:<token>" (well under Telegram's 64 bytes); the meaning —
ticket, action, the one chat where it is valid — stays on the server and is re-checked on every press."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlmodel import Session

from storage.models import ActionToken
from storage.officials import find_token, token_for

PREFIX = "x:"
TOKEN_RE = re.compile(r"^x:([A-Za-z0-9_\-]{8,24})$")


def payload_for(session: Session, *, ticket_id: int, action: str, chat_key: str, now: datetime) -> str:
    """The button payload for this action in this chat (one stable token per ticket, action and chat)."""
    row = token_for(session, ticket_id=ticket_id, action=action, chat_key=chat_key)
    if row is None:
        row = ActionToken(token=secrets.token_urlsafe(9), ticket_id=ticket_id, action=action, chat_key=chat_key,
                          created_at=now)
        session.add(row)
        session.flush()
    return PREFIX + row.token


def add_token(session: Session, *, ticket_id: int, action: str, chat_key: str, now: datetime) -> str:
    """A new token for an action the caller knows has none in this chat yet (written at the next flush)."""
    row = ActionToken(token=secrets.token_urlsafe(9), ticket_id=ticket_id, action=action, chat_key=chat_key,
                      created_at=now)
    session.add(row)
    return PREFIX + row.token


def parse_payload(raw: str | None) -> str | None:
    """The token inside a payload (or a payload typed/arriving as text), or None."""
    match = TOKEN_RE.match((raw or "").strip())
    return match.group(1) if match else None


def lookup(session: Session, raw: str | None) -> ActionToken | None:
    """The stored token a payload names, or None for anything forged or unknown."""
    token = parse_payload(raw)
    return find_token(session, token) if token else None
