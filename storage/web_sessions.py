"""Back-office sign-in links and browser sessions (add/flush only; callers commit)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select, update

from storage.models import WebLoginLink, WebSession


def add_login_link(session: Session, *, token_hash: str, official_id: int, now: datetime,
                   expires_at: datetime) -> None:
    """Store a new sign-in link (its hash)."""
    session.add(WebLoginLink(token_hash=token_hash, official_id=official_id, created_at=now, expires_at=expires_at))
    session.flush()


def take_login_link(session: Session, token_hash: str, now: datetime) -> WebLoginLink | None:
    """Mark an unused, unexpired link used and return it; None when it is unknown, used or expired.
    The UPDATE ... WHERE used_at IS NULL makes two concurrent uses of one link end with one winner."""
    claimed = session.execute(update(WebLoginLink).where(WebLoginLink.token_hash == token_hash,
                                                         col(WebLoginLink.used_at).is_(None),
                                                         WebLoginLink.expires_at > now)
                              .values(used_at=now)).rowcount
    if claimed != 1:
        return None
    return session.get(WebLoginLink, token_hash)


def find_login_link(session: Session, token_hash: str) -> WebLoginLink | None:
    return session.get(WebLoginLink, token_hash)


def add_session(session: Session, *, id_hash: str, official_id: int, now: datetime) -> WebSession:
    row = WebSession(id_hash=id_hash, official_id=official_id, created_at=now, last_seen_at=now)
    session.add(row)
    session.flush()
    return row


def find_session(session: Session, id_hash: str) -> WebSession | None:
    return session.get(WebSession, id_hash)


def end_sessions(session: Session, official_id: int, now: datetime, *, only: str | None = None) -> int:
    """End one session (`only`) or every open session of an official; returns how many."""
    stmt = update(WebSession).where(WebSession.official_id == official_id, col(WebSession.ended_at).is_(None))
    if only is not None:
        stmt = stmt.where(WebSession.id_hash == only)
    return session.execute(stmt.values(ended_at=now)).rowcount or 0


def open_sessions(session: Session, official_id: int) -> list[WebSession]:
    return list(session.exec(select(WebSession).where(WebSession.official_id == official_id,
                                                      col(WebSession.ended_at).is_(None))))
