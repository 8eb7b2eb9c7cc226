"""Per-address (and per-session) throttles of the public doors, counted in the database so they
hold across processes, restarts and new cookies: messages, uploads and petitions per hour and per
day. Keys are hashed before they are stored (no address in clear)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.config.doors import DoorSettings
from storage.doors import add_count, count_in

HOUR, DAY = 3600, 86400


def _key(value: str) -> str:
    return hashlib.sha256(f"door\x00{value}".encode()).hexdigest()


@dataclass(frozen=True)
class Limit:
    scope: str          # e.g. "message:address"
    window: int         # seconds
    most: int


class DoorThrottle:
    """`take` counts one event against every limit of its kind, or refuses it (nothing counted)."""

    def __init__(self, doors: DoorSettings) -> None:
        self.limits: dict[str, tuple[Limit, ...]] = {
            "message": (Limit("message:address:h", HOUR, doors.messages_per_address_per_hour),
                        Limit("message:address:d", DAY, doors.messages_per_address_per_day)),
            "upload": (Limit("upload:address:h", HOUR, doors.uploads_per_address_per_hour),
                       Limit("upload:address:d", DAY, doors.uploads_per_address_per_day)),
            "upload_session": (Limit("upload:session:d", DAY, doors.uploads_per_session_per_day),),
            "petition": (Limit("petition:address:h", HOUR, doors.petitions_per_address_per_hour),
                         Limit("petition:address:d", DAY, doors.petitions_per_address_per_day)),
        }

    def allowed(self, session: Session, kind: str, who: str, *, now: datetime) -> bool:
        """True when one more `kind` event of `who` stays within every limit (nothing counted)."""
        stamp, key = int(now.timestamp()), _key(who)
        return all(count_in(session, limit.scope, key, stamp - stamp % limit.window) < limit.most
                   for limit in self.limits[kind])

    def take(self, session: Session, kind: str, who: str, *, now: datetime) -> bool:
        """Count one `kind` event of `who`; False (and nothing counted) when a limit is reached."""
        if not self.allowed(session, kind, who, now=now):
            return False
        self.record(session, kind, who, now=now)
        return True

    def record(self, session: Session, kind: str, who: str, *, now: datetime, amount: int = 1) -> None:
        stamp, key = int(now.timestamp()), _key(who)
        for limit in self.limits[kind]:
            add_count(session, limit.scope, key, stamp - stamp % limit.window, amount)
