"""Sliding-window rate limits, so the sender stays under a channel's limits instead of hitting 429.

A sliding window (not a token bucket) because Telegram counts "20 messages per minute per group"
over any 60 s: a bucket would allow a burst of 20 plus refills within the same minute.

Telegram counts a message when it arrives, which is somewhere between our request's start and its
answer. So a send holds its slot from start ("in flight") and, once answered, the slot is dated at
the answer: the next send then cannot arrive inside the window whatever the network jitter.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

IN_FLIGHT = math.inf
MAX_POLL = 0.05        # how often to look again while every slot is still in flight


class SlidingWindow:
    """At most `limit` events in any `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._slots: list[list[float]] = []

    def delay(self, now: float) -> float:
        """Seconds to wait before one more event fits."""
        self._slots = [s for s in self._slots if s[0] > now - self.window]
        if len(self._slots) < self.limit:
            return 0.0
        oldest = min(s[0] for s in self._slots)
        return MAX_POLL if oldest == IN_FLIGHT else oldest + self.window - now

    def record(self, now: float | None = None) -> list[float]:
        """Take a slot (in flight unless `now` is given); the caller dates it when done."""
        slot = [IN_FLIGHT if now is None else now]
        self._slots.append(slot)
        return slot


@dataclass
class Turn:
    """The slots one send holds until it is answered."""

    key: str
    slots: list[list[float]] = field(default_factory=list)


class ChatLimits:
    """Per-chat spacing, a per-group window and one global window, shared by all sends of a channel."""

    def __init__(self, *, global_per_second: int = 30, group_per_minute: int = 20, margin: float = 0.05) -> None:
        self.margin = margin
        self.global_window = SlidingWindow(global_per_second, 1.0 + margin)
        self.group_per_minute = group_per_minute
        self._groups: dict[str, SlidingWindow] = {}
        self._last_sent: dict[str, list[float]] = {}
        self._lock = asyncio.Lock()

    async def wait_turn(self, key: str, *, min_interval: float, is_group: bool) -> Turn:
        """Sleep until a message to `key` respects every limit, then hold its slots (see :meth:`done`)."""
        group = self._groups.setdefault(key, SlidingWindow(self.group_per_minute, 60.0 + self.margin)) \
            if is_group else None
        while True:
            async with self._lock:
                now = time.monotonic()
                last = self._last_sent.get(key)
                if last is None:
                    chat_wait = 0.0
                elif last[0] == IN_FLIGHT:
                    chat_wait = MAX_POLL
                else:
                    chat_wait = last[0] + min_interval + self.margin - now
                wait = max(chat_wait, self.global_window.delay(now), group.delay(now) if group else 0.0)
                if wait <= 0:
                    turn = Turn(key, [self.global_window.record()])
                    if group:
                        turn.slots.append(group.record())
                    chat_slot = [IN_FLIGHT]
                    self._last_sent[key] = chat_slot
                    turn.slots.append(chat_slot)
                    return turn
            await asyncio.sleep(wait)

    def done(self, turn: Turn) -> None:
        """The send was answered (or failed): date its slots now."""
        now = time.monotonic()
        for slot in turn.slots:
            slot[0] = now
