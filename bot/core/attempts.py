"""One attempt limiter for every secret: ticket PINs (chat lookup, /theodoi, /tra-cuu), one-time
codes and sign-in links. Wrong tries are counted in the database, across every channel, entry
point and process, twice: per subject (the ticket code or account, whoever tries) and per client
(the address, or the chat when there is no address). Reaching either limit locks that key for a
while; each new lockout of the same key lasts twice as long (up to a ceiling).

The rightful holder's own chat is not stopped by a lock on its ticket (``holder=True``): a stranger
guessing a code cannot shut its owner out. Use it from any door:

    gate = limiter.check(session, scope="pin", subject=code, client=address, now=now)
    if gate.locked: refuse (gate.until says until when)
    ... compare the secret ...
    limiter.failed(...) or limiter.succeeded(...)   # same keyword arguments
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from bot.config.doors import DoorSettings
from storage.doors import peek_secret_attempt, secret_attempt
from storage.models import SecretAttempt


@dataclass(frozen=True)
class Gate:
    """Whether a try may be made now; `until` is when the lock ends (None when open)."""

    until: datetime | None = None

    @property
    def locked(self) -> bool:
        return self.until is not None


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\x00{value.strip().upper()}".encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


@dataclass(frozen=True)
class AttemptLimiter:
    """Limits on wrong tries at a secret; build it with :meth:`from_settings`."""

    subject_failures: int = 5
    client_failures: int = 10
    window: timedelta = timedelta(hours=1)
    first_lockout: timedelta = timedelta(minutes=15)
    max_lockout: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, doors: DoorSettings) -> "AttemptLimiter":
        return cls(subject_failures=doors.secret_failures, client_failures=doors.secret_failures_per_client,
                   window=timedelta(minutes=doors.secret_window_minutes),
                   first_lockout=timedelta(minutes=doors.secret_lockout_minutes),
                   max_lockout=timedelta(hours=doors.secret_lockout_max_hours))

    def _keys(self, scope: str, subject: str, client: str) -> list[tuple[str, str, int]]:
        keys = [(f"{scope}:subject", _key("subject", subject), self.subject_failures)] if subject else []
        if client:
            keys.append((f"{scope}:client", _key("client", client), self.client_failures))
        return keys

    def check(self, session: Session, *, scope: str, subject: str, client: str, now: datetime,
              holder: bool = False) -> Gate:
        """Locked when the client is locked, or the subject is (unless `holder`: the owner's own chat)."""
        until = None
        for table_scope, key, _ in self._keys(scope, "" if holder else subject, client):
            row = peek_secret_attempt(session, table_scope, key)
            locked_until = _aware(row.locked_until) if row is not None else None
            if locked_until is not None and locked_until > now:
                until = max(until or locked_until, locked_until)
        return Gate(until)

    def failed(self, session: Session, *, scope: str, subject: str, client: str, now: datetime,
               holder: bool = False) -> Gate:
        """Count one wrong try on the subject and the client; a key at its limit is locked."""
        until = None
        for table_scope, key, limit in self._keys(scope, "" if holder else subject, client):
            row = secret_attempt(session, table_scope, key, now=now, lock=True)
            locked = self._count(row, limit, now)
            if locked is not None:
                until = max(until or locked, locked)
        session.flush()
        return Gate(until)

    def succeeded(self, session: Session, *, scope: str, subject: str, client: str, now: datetime,
                  holder: bool = False) -> None:
        """The right secret: the client's count starts again, and the subject's (with its backoff)."""
        for table_scope, key, _ in self._keys(scope, subject, client):
            row = peek_secret_attempt(session, table_scope, key)
            if row is not None and row.failures:
                row.failures, row.window_start, row.updated_at = 0, now, now
                if table_scope.endswith(":subject"):
                    row.lockouts = 0
        session.flush()

    def _count(self, row: SecretAttempt, limit: int, now: datetime) -> datetime | None:
        start = _aware(row.window_start) or now
        if now - start >= self.window:
            row.failures, row.window_start = 0, now
            last_lock = _aware(row.locked_until)
            if last_lock is not None and now - last_lock > self.max_lockout:
                row.lockouts = 0          # quiet for a long time: back to the shortest lockout
        row.failures += 1
        row.updated_at = now
        if row.failures < limit:
            return None
        row.lockouts += 1
        length = min(self.first_lockout * (2 ** min(row.lockouts - 1, 16)), self.max_lockout)
        row.locked_until = now + length
        row.failures, row.window_start = 0, now
        return row.locked_until
