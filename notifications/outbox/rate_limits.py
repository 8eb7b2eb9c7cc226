"""Sliding-window rate limits, so the sender stays under a channel's limits instead of hitting 429.

A sliding window (not a token bucket) because Telegram counts "20 messages per minute per group"
over any 60 s: a bucket would allow a burst of 20 plus refills within the same minute.

Telegram counts a message when it arrives, which is somewhere between our request's start and its
answer. So a send holds its slot from start ("in flight") and, once answered, the slot is dated at
the answer: the next send that would exceed the window starts at least `window` after that answer,
so it arrives at least `window` after the earlier one whatever the network jitter (always safe).

Tight scheduling without bursts: starts through the global window are also spaced by
window/limit. A burst of 30 requests would be answered one after another, and every answer's
delay is added to the window before its slot frees; evenly spaced requests are answered at once,
so the window recycles in about `window` plus one round trip. Waiters sleep until the exact
moment a slot frees, or until an in-flight send is answered (no polling).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from dataclasses import dataclass, field

IN_FLIGHT = math.inf
PACE_CATCH_UP = 2     # starts that may follow at once after a late wake-up
MAX_WAIT = 1.0         # a waiter looks again at least this often (belt and braces; answers wake it)


class SlidingWindow:
    """At most `limit` events in any `window` seconds; starts at least `spacing` apart."""

    def __init__(self, limit: int, window: float, *, spacing: float = 0.0) -> None:
        self.limit = limit
        self.window = window
        self.spacing = spacing
        self._slots: list[list[float]] = []
        self._next_start = -math.inf

    def delay(self, now: float) -> float:
        """Seconds to wait before one more event fits (inf: until an in-flight event is answered)."""
        self._slots = [s for s in self._slots if s[0] > now - self.window]
        pace = self._next_start - now
        if len(self._slots) < self.limit:
            return max(0.0, pace)
        oldest = min(s[0] for s in self._slots)
        return IN_FLIGHT if oldest == IN_FLIGHT else max(pace, oldest + self.window - now)

    def record(self, now: float | None = None) -> list[float]:
        """Take a slot (in flight unless `now` is given); the caller dates it when done."""
        started = time.monotonic() if now is None else now
        # The pace follows a schedule, not the last actual start: a sleep that woke late does not
        # push every later send back (a short catch-up burst is allowed; the window still holds).
        self._next_start = max(self._next_start, started - PACE_CATCH_UP * self.spacing) + self.spacing
        slot = [IN_FLIGHT if now is None else now]
        self._slots.append(slot)
        return slot


@dataclass
class Turn:
    """The slots one send holds until it is answered."""

    key: str
    slots: list[list[float]] = field(default_factory=list)


class ChatLimits:
    """Per-chat spacing, a per-group window and one global window, shared by all sends of a channel.

    A send first waits out its own chat's limits (only that chat's sends affect them), then joins
    the queue for the global window. One granter hands out global slots as they free up, to the
    waiting chat with the longest backlog first (then the longest waiting), so chats with more to
    send are not left with a tail at 1/s after the others finished; no herd of waiters wakes up
    for each slot.
    """

    def __init__(self, *, global_per_second: int = 30, group_per_minute: int = 20, margin: float = 0.01) -> None:
        self.margin = margin
        window = 1.0 + margin
        self.global_window = SlidingWindow(global_per_second, window, spacing=window / global_per_second)
        self.group_per_minute = group_per_minute
        self._groups: dict[str, SlidingWindow] = {}
        self._last_sent: dict[str, list[float]] = {}
        self._queue: list[tuple[int, int, asyncio.Future[list[float]]]] = []   # (-backlog, seq, grant)
        self._seq = itertools.count()
        self._granter: asyncio.Task[None] | None = None
        self._answered: asyncio.Event | None = None     # set (and replaced) whenever a send is answered

    def _chat_delay(self, key: str, group: SlidingWindow | None, min_interval: float, now: float) -> float:
        last = self._last_sent.get(key)
        if last is None:
            chat_wait = 0.0
        elif last[0] == IN_FLIGHT:
            chat_wait = IN_FLIGHT
        else:
            chat_wait = last[0] + min_interval + self.margin - now
        return max(chat_wait, group.delay(now) if group else 0.0)

    async def _sleep(self, wait: float) -> None:
        """Sleep `wait` seconds, or until some send is answered when `wait` is unbounded (in flight)."""
        if wait != IN_FLIGHT:
            await asyncio.sleep(wait)
            return
        if self._answered is None:
            self._answered = asyncio.Event()
        try:
            await asyncio.wait_for(self._answered.wait(), timeout=MAX_WAIT)
        except asyncio.TimeoutError:
            pass

    async def _grant(self) -> None:
        """Hand out global slots while anyone waits for one."""
        while self._queue:
            wait = self.global_window.delay(time.monotonic())
            if wait > 0:
                await self._sleep(wait)
                continue
            _, _, grant = heapq.heappop(self._queue)
            if not grant.done():                    # a cancelled waiter gives its place up
                grant.set_result(self.global_window.record())

    async def wait_turn(self, key: str, *, min_interval: float, is_group: bool, backlog: int = 1) -> Turn:
        """Sleep until a message to `key` respects every limit, then hold its slots (see :meth:`done`).

        `backlog`: how many messages this chat still has to send (the longest backlog goes first).
        """
        group = self._groups.setdefault(key, SlidingWindow(self.group_per_minute, 60.0 + self.margin)) \
            if is_group else None
        while True:
            wait = self._chat_delay(key, group, min_interval, time.monotonic())
            if wait > 0:
                await self._sleep(wait)
                continue
            grant: asyncio.Future[list[float]] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._queue, (-backlog, next(self._seq), grant))
            if self._granter is None or self._granter.done():
                self._granter = asyncio.create_task(self._grant())
            try:
                global_slot = await grant
            except asyncio.CancelledError:
                if grant.done() and not grant.cancelled():
                    grant.result()[0] = time.monotonic()       # granted but never sent: free the slot
                raise
            if self._chat_delay(key, group, min_interval, time.monotonic()) > 0:
                global_slot[0] = time.monotonic()   # another send to this chat went first: wait again
                continue
            turn = Turn(key, [global_slot])
            if group:
                turn.slots.append(group.record())
            chat_slot = [IN_FLIGHT]
            self._last_sent[key] = chat_slot
            turn.slots.append(chat_slot)
            return turn

    def done(self, turn: Turn) -> None:
        """The send was answered (or failed): date its slots now, and wake those waiting on it."""
        now = time.monotonic()
        for slot in turn.slots:
            slot[0] = now
        if self._answered is not None:
            self._answered.set()
            self._answered = None
