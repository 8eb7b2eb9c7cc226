"""Queries for other systems: API keys and the tickets and request tokens of Open311
(add/flush only; callers own the transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import ApiKey, Open311Request, Ticket


def api_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    """The key (revoked or not) with this hash."""
    return session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()


def api_keys_newest_first(session: Session) -> list[ApiKey]:
    """Every key, newest first."""
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id).desc())))


def open311_request(session: Session, token: str) -> Open311Request | None:
    """The Open311 request row written with this token."""
    return session.exec(select(Open311Request).where(Open311Request.token == token)).first()


def open311_candidates(session: Session, *, codes: list[str] | None, received_from: datetime | None = None,
                       received_to: datetime | None = None, categories: list[str] | None = None,
                       limit: int) -> list[Ticket]:
    """Tickets with these codes, else received in [received_from, received_to] (of `categories` when
    given), newest first, at most `limit` (the caller filters what is public)."""
    stmt = select(Ticket)
    if codes:
        stmt = stmt.where(col(Ticket.code).in_(codes))
    else:
        stmt = stmt.where(Ticket.received_at >= received_from, Ticket.received_at <= received_to)
        if categories:
            stmt = stmt.where(col(Ticket.category).in_(categories))
    stmt = stmt.order_by(col(Ticket.received_at).desc(), col(Ticket.id).desc()).limit(limit)
    return list(session.exec(stmt))
