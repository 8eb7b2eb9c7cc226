"""Sliding-window rate limits, so the sender stays under a channel's limits instead of hitting 429.

A sliding window (not a token bucket) because Telegram counts "20 messages per minute per group"
over any 60 s: a bucket would allow a burst of 20 plus refills within the same minute.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque


class SlidingWindow:
    """At most `limit` events in any `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def delay(self, now: float) -> float:
        """Seconds to wait before one more event fits."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self._times[0] + self.window - now

    def record(self, now: float) -> None:
        self._times.append(now)


class ChatLimits:
    """Per-chat spacing, a per-group window and one global window, shared by all sends of a channel."""

    def __init__(self, *, global_per_second: int = 30, group_per_minute: int = 20, margin: float = 0.05) -> None:
        self.margin = margin
        self.global_window = SlidingWindow(global_per_second, 1.0 + margin)
        self.group_per_minute = group_per_minute
        self._groups: dict[str, SlidingWindow] = {}
        self._last_sent: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait_turn(self, key: str, *, min_interval: float, is_group: bool) -> None:
        """Sleep until a message to `key` respects every limit, then count it."""
        group = self._groups.setdefault(key, SlidingWindow(self.group_per_minute, 60.0 + self.margin)) \
            if is_group else None
        while True:
            async with self._lock:
                now = time.monotonic()
                last = self._last_sent.get(key)
                waits = [0.0 if last is None else last + min_interval + self.margin - now,
                         self.global_window.delay(now), group.delay(now) if group else 0.0]
                wait = max(waits)
                if wait <= 0:
                    self.global_window.record(now)
                    if group:
                        group.record(now)
                    self._last_sent[key] = now
                    return
            await asyncio.sleep(wait)
