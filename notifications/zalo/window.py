"""Zalo's consultation window: an OA may answer a citizen only within 7 days of their last message."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.config.settings import ZaloSettings
from storage.engine import read_session
from storage.tickets import find_identity


def window_is_open(last_seen: datetime | None, now: datetime, *, hours: float, margin_minutes: float) -> bool:
    """True while `now` is inside the window (minus a safety margin); unknown people are tried."""
    if last_seen is None:
        return True
    return now < last_seen + timedelta(hours=hours) - timedelta(minutes=margin_minutes)


class ConsultationWindow:
    """Reads the citizen's last interaction (channel_identities.last_seen_at, updated on every inbound)."""

    def __init__(self, engine: Engine, clock: Clock, settings: ZaloSettings) -> None:
        self.engine, self.clock, self.settings = engine, clock, settings

    def __call__(self, user_id: str) -> bool:
        with read_session(self.engine) as session:
            identity = find_identity(session, channel="zalo", user_id=user_id)
            last_seen = identity.last_seen_at if identity else None
        return window_is_open(last_seen, self.clock.now(), hours=self.settings.consultation_window_hours,
                              margin_minutes=self.settings.window_margin_minutes)
