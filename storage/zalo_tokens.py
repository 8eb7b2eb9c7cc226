"""Queries for the Zalo token pair (add/flush only; callers own transactions).

The refresh token works once, so refreshing is guarded by a lease on the row: one UPDATE claims
it atomically (a row lock on PostgreSQL, the database write lock on SQLite), the claim holds
across processes, and it expires on its own if its holder dies.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col

from storage.models import ZaloToken

TOKEN_KEY = "oa"


def load_token(session: Session) -> ZaloToken | None:
    """The stored token row, if any."""
    return session.get(ZaloToken, TOKEN_KEY)


def seed_token(session: Session, *, refresh_token: str, now: datetime) -> bool:
    """Store an initial refresh token (from the environment) only when none is stored yet."""
    row = session.get(ZaloToken, TOKEN_KEY)
    if not refresh_token or (row is not None and row.refresh_token):
        return False
    if row is None:
        session.add(ZaloToken(key=TOKEN_KEY, refresh_token=refresh_token, updated_at=now))
    else:
        row.refresh_token, row.updated_at = refresh_token, now
    session.flush()
    return True


def ensure_token_row(session: Session, *, now: datetime) -> ZaloToken:
    """The token row, created empty when missing (the PKCE verifier is kept on it)."""
    row = session.get(ZaloToken, TOKEN_KEY)
    if row is None:
        row = ZaloToken(key=TOKEN_KEY, updated_at=now)
        session.add(row)
        session.flush()
    return row


def claim_lease(session: Session, *, owner: str, now: datetime, until: datetime) -> ZaloToken | None:
    """Take the refresh lease if it is free or expired; returns the row when this owner holds it."""
    result = session.execute(
        update(ZaloToken)
        .where(col(ZaloToken.key) == TOKEN_KEY,
               or_(col(ZaloToken.lease_until).is_(None), col(ZaloToken.lease_until) < now,
                   col(ZaloToken.lease_owner) == owner))
        .values(lease_owner=owner, lease_until=until))
    if not result.rowcount:
        return None
    row = session.get(ZaloToken, TOKEN_KEY)
    if row is not None:
        session.refresh(row)
    return row


def save_pair(session: Session, *, owner: str, access_token: str, refresh_token: str, access_expires_at: datetime,
              refresh_expires_at: datetime | None, now: datetime) -> None:
    """Replace the pair and free the lease (the caller commits before using the new token)."""
    session.execute(
        update(ZaloToken).where(col(ZaloToken.key) == TOKEN_KEY)
        .values(access_token=access_token, refresh_token=refresh_token, access_expires_at=access_expires_at,
                refresh_expires_at=refresh_expires_at, generation=ZaloToken.generation + 1, lease_owner="",
                lease_until=None, last_error="", alerted_at=None, updated_at=now))


def release_lease(session: Session, *, owner: str, error: str, now: datetime) -> None:
    """Free this owner's lease after a failed refresh, recording why."""
    session.execute(update(ZaloToken)
                    .where(col(ZaloToken.key) == TOKEN_KEY, col(ZaloToken.lease_owner) == owner)
                    .values(lease_owner="", lease_until=None, last_error=error[:500], updated_at=now))
