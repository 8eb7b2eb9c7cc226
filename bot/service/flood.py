"""Flood control: a person sending far more than a human types is slowed down before any
database work, so a flood cannot slow everybody else; they get one polite warning per window.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from enum import Enum


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"      # the first message over the limit in this window: answer with a warning
    DROP = "drop"      # further messages in the same window: ignored


class FloodGuard:
    """Sliding-window message counts per (channel, user), kept in memory (lost on restart, harmlessly)."""

    def __init__(self, *, per_minute: int, window: float = 60.0, max_people: int = 100_000) -> None:
        self.per_minute = per_minute
        self.window = window
        self.max_people = max_people
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._warned: dict[tuple[str, str], float] = {}
        self._ids: dict[tuple[str, str], deque[tuple[float, str]]] = {}     # ids counted in the window
        self._lock = threading.Lock()

    def check(self, channel: str, user_id: str, now: float | None = None, *, event_id: str = "") -> Verdict:
        """Count one message and say whether to handle it.

        A redelivery (same `event_id` within the window: Telegram and Zalo deliver at least once,
        and retry after a timeout or a crash) is not counted again and always passes, so the
        core's dedupe answers it; counting it would make a person who is redelivered to look like
        a flooder, and a dropped redelivery of an unprocessed update would be lost for good.
        """
        now = time.monotonic() if now is None else now
        key = (channel, user_id)
        with self._lock:
            times = self._seen.setdefault(key, deque())
            ids = self._ids.setdefault(key, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            while ids and ids[0][0] <= now - self.window:
                ids.popleft()
            if event_id and any(seen == event_id for _, seen in ids):
                return Verdict.OK
            if len(times) < self.per_minute:
                times.append(now)
                if event_id:
                    ids.append((now, event_id))
                if len(self._seen) > self.max_people:
                    self._forget_idle(now)
                return Verdict.OK
            warned = self._warned.get(key)
            if warned is not None and warned > now - self.window:
                return Verdict.DROP
            self._warned[key] = now
            return Verdict.WARN

    def refund(self, channel: str, user_id: str, event_id: str = "") -> None:
        """Uncount a message that was not handled (the database was away) and will come again,
        redelivered by the platform. Without this, redeliveries during an outage counted as a flood
        and the message was then dropped for good. With `event_id`, exactly that message is
        uncounted (so its redelivery is counted afresh); otherwise the person's latest one."""
        key = (channel, user_id)
        with self._lock:
            times = self._seen.get(key)
            if not times:
                return
            ids = self._ids.get(key)
            if event_id and ids:
                for entry in ids:
                    if entry[1] == event_id:
                        ids.remove(entry)
                        try:
                            times.remove(entry[0])
                        except ValueError:
                            pass
                        return
                return          # a redelivery that was never counted: nothing to give back
            times.pop()

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, t in self._seen.items() if not t or t[-1] <= now - self.window]:
            self._seen.pop(key, None)
            self._warned.pop(key, None)
            self._ids.pop(key, None)
