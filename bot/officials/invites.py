"""One-time registration codes for officials: printed once by `danvan invite`, stored only as a
keyed hash, valid for a configured number of hours, bound to a chat account by /dangky CODE."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.core.pins import hash_pin
from bot.core.render import labels
from bot.core.policy import ROLES
from storage.models import Office, Official, OfficialInvite
from storage.officials import find_invite, find_official

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"     # no 0/O, 1/I: codes are read aloud and typed
CODE_LENGTH = 10
OFFICE_ROLES = frozenset({"official", "head"})


class InviteError(ValueError):
    """A bad `danvan invite` request (unknown office or role)."""


def hash_code(code: str) -> str:
    """The keyed hash stored for an invite code (case and spaces do not matter)."""
    return hash_pin("INVITE", "".join(code.split()).upper())


def create_invite(session: Session, *, role: str, office_code: str | None, now: datetime, hours: int,
                  display_name: str = "", hamlet: str = "", hamlets: tuple[str, ...] = ()) -> str:
    """Store a new invite and return its code (shown once, never stored in clear). A mediator
    (tổ trưởng tổ hòa giải) is registered for one hamlet."""
    if role not in ROLES:
        raise InviteError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if role == "mediator" and (not hamlet or (hamlets and hamlet not in hamlets)):
        raise InviteError("role 'mediator' needs --hamlet, one of the configured hamlets")
    if role in OFFICE_ROLES and not office_code:
        raise InviteError(f"role {role!r} needs --office")
    if office_code and session.get(Office, office_code) is None:
        raise InviteError(f"unknown office {office_code!r}")
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    session.add(OfficialInvite(code_hash=hash_code(code), office_code=office_code if role in OFFICE_ROLES else None,
                               role=role, display_name=display_name, created_at=now,
                               hamlet=hamlet if role == "mediator" else "",
                               expires_at=now + timedelta(hours=hours)))
    session.flush()
    return code


def redeem_invite(session: Session, *, code: str, channel: str, user_id: str, now: datetime,
                  name: str = "") -> tuple[Official | None, str]:
    """Bind the account to the invite's office and role; returns (official, '') or (None, reason)."""
    invite = find_invite(session, hash_code(code)) if code.strip() else None
    if invite is None:
        return None, "unknown"
    if invite.used_at is not None:
        return None, "used"
    if invite.expires_at <= now:
        return None, "expired"
    official = find_official(session, channel=channel, user_id=user_id)
    display = name or invite.display_name
    if official is None:
        official = Official(channel=channel, user_id=user_id, created_at=now, role=invite.role,
                            display_name=display)
        session.add(official)
    official.role, official.office_code, official.active = invite.role, invite.office_code, True
    official.hamlet = invite.hamlet
    if display:
        official.display_name = display
    session.flush()
    if not official.display_name:
        official.display_name = labels()["official_number"].format(number=official.id)
    invite.used_at, invite.official_id = now, official.id
    return official, ""


def revoke_official(session: Session, official_id: int) -> Official | None:
    """Deactivate an official; the policy refuses their very next action."""
    official = session.get(Official, official_id)
    if official is not None:
        official.active = False
    return official
