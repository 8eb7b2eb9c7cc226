"""Queries for citizens' announcement subscriptions (add/flush only; the service owns the transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import ChannelIdentity, NoticeSubscription


def subscription(session: Session, citizen_id: int) -> NoticeSubscription | None:
    return session.exec(select(NoticeSubscription).where(NoticeSubscription.citizen_id == citizen_id)).first()


def set_subscription(session: Session, *, citizen_id: int, subscribed: bool, now: datetime) -> NoticeSubscription:
    """Record the citizen's choice (and that they were asked)."""
    row = subscription(session, citizen_id)
    if row is None:
        row = NoticeSubscription(citizen_id=citizen_id, subscribed=subscribed, asked_at=now, changed_at=now)
        session.add(row)
    else:
        row.subscribed, row.changed_at = subscribed, now
        row.asked_at = row.asked_at or now
    session.flush()
    return row


def offer_needed(session: Session, citizen_id: int | None) -> bool:
    """True when this citizen was never asked about announcements."""
    if not citizen_id:
        return False
    row = subscription(session, citizen_id)
    return row is None or row.asked_at is None


def subscribed_identities(session: Session) -> list[ChannelIdentity]:
    """Every chat identity of every citizen subscribed to announcements, oldest first."""
    return list(session.exec(select(ChannelIdentity).join(
        NoticeSubscription, NoticeSubscription.citizen_id == ChannelIdentity.citizen_id)
        .where(col(NoticeSubscription.subscribed).is_(True)).order_by(col(ChannelIdentity.id))).all())
