"""API keys for other systems (Open311 POST): shown once, stored as a hash, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlmodel import Session

from storage.interop import api_key_by_hash, api_keys_newest_first
from storage.models import ApiKey

KEY_PREFIX = "dvk_"


def hash_key(key: str) -> str:
    """SHA-256 of a high-entropy key (no salt needed: keys are random, not chosen by people)."""
    return hashlib.sha256(key.strip().encode()).hexdigest()


def create_api_key(session: Session, *, name: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key for `name`; the plain key is returned once and never stored."""
    plain = KEY_PREFIX + secrets.token_urlsafe(24)
    row = ApiKey(name=name.strip()[:80], key_hash=hash_key(plain), created_at=now)
    session.add(row)
    session.flush()
    return row, plain


def find_api_key(session: Session, key: str) -> ApiKey | None:
    """The active key matching `key`, or None (revoked keys never match)."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    wanted = hash_key(key)
    row = api_key_by_hash(session, wanted)
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, wanted):
        return None
    return row


def list_api_keys(session: Session) -> list[ApiKey]:
    """All keys, newest first."""
    return api_keys_newest_first(session)


def revoke_api_key(session: Session, key_id: int, *, now: datetime) -> bool:
    """Revoke a key by id; False when there is no such active key."""
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True
