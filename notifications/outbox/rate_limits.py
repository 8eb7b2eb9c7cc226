"""Sliding-window rate limits, so the sender stays under a channel's limits instead of hitting 429.

A sliding window (not a token bucket) because Telegram counts "20 messages per minute per group"
over any 60 s: a bucket would allow a burst of 20 plus refills within the same minute.

When a send is counted. Telegram counts a message when it arrives, somewhere between our request's
start `s` and its answer `r`. Dating every slot at its answer (the old rule) is safe, but it adds
the whole round trip to every window: 30 slots each busy for `window + rtt` give 30/(1 s + rtt)
messages a second, so the outbound time grew with the machine's (or the network's) latency —
1.03x the limit-bound minimum at a 20 ms round trip, 1.44x at ~430 ms, for the same code.

So a slot is dated at its answer *minus the least round trip seen lately* (`rtt_floor`, the
minimum of the last `RTT_SAMPLES` answered sends; 0 until enough are seen, i.e. the strict rule):
a send answered at `r` arrived at most `r - down` there, and the next one arrives at least `up`
after its own start; every round trip is at least `rtt_floor ≈ up + down`, so the next start at
`r - rtt_floor + window` still arrives `window` after it. With a steady latency this spends the
whole window (start-to-start spacing = window); a send slower than usual is dated later by its
extra delay (the safe direction: it may have arrived late). A dated slot is never earlier than
the send's start.

The bet: each leg of a round trip has its own floor (propagation, a constant overhead), so that
`down + up` of two sends is at least the least round trip. A path whose whole delay can fall on
either leg (a stall) breaks it; so a 429 (`refused`) returns to the strict rule for
`STRICT_AFTER_429` seconds: at most one 429 a minute, each honoured through retry_after.

Tight scheduling without bursts: starts through the global window are also spaced by
window/limit. Waiters sleep until the exact moment a slot frees, or, when a slot they need is
still in flight, until that send is answered (a chat waits on its own last send only, the global
granter on any answer; no polling, no herd). Time comes from an injected monotonic clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

IN_FLIGHT = math.inf
PACE_CATCH_UP = 2      # starts that may follow at once after a late wake-up
MAX_WAIT = 1.0         # a waiter looks again at least this often (belt and braces; answers wake it)
RTT_SAMPLES = 60       # answered sends the round-trip floor is the minimum of
RTT_MIN_SAMPLES = 5    # until this many are seen, slots are dated at the answer (strict)
STRICT_AFTER_429 = 60.0  # seconds of strict dating after the channel refused a send as too many


class SlidingWindow:
    """At most `limit` events in any `window` seconds; starts at least `spacing` apart.

    An event dated `t` counts while `now < t + window`: the next one fits at exactly `t + window`
    (Telegram's rule: 20 in any 60 s, so the 21st may go exactly 60 s after the 1st).
    """

    def __init__(self, limit: int, window: float, *, spacing: float = 0.0) -> None:
        self.limit = limit
        self.window = window
        self.spacing = spacing
        self._slots: list[list[float]] = []
        self._next_start = -math.inf

    def delay(self, now: float) -> float:
        """Seconds to wait before one more event fits (inf: until an in-flight event is answered)."""
        self._slots = [s for s in self._slots if s[0] + self.window > now]
        pace = self._next_start - now
        if len(self._slots) < self.limit:
            return max(0.0, pace)
        oldest = min(s[0] for s in self._slots)
        return IN_FLIGHT if oldest == IN_FLIGHT else max(pace, oldest + self.window - now)

    def record(self, now: float, *, in_flight: bool = True) -> list[float]:
        """Take a slot started at `now` (in flight unless `in_flight` is False); the caller dates it when done."""
        # The pace follows a schedule, not the last actual start: a sleep that woke late does not
        # push every later send back (a short catch-up burst is allowed; the window still holds).
        self._next_start = max(self._next_start, now - PACE_CATCH_UP * self.spacing) + self.spacing
        slot = [IN_FLIGHT if in_flight else now]
        self._slots.append(slot)
        return slot


@dataclass
class Turn:
    """The slots one send holds until it is answered, and when it started."""

    key: str
    started: float = 0.0
    slots: list[list[float]] = field(default_factory=list)


class ChatLimits:
    """Per-chat spacing, a per-group window and one global window, shared by all sends of a channel.

    A send first waits out its own chat's limits (only that chat's sends affect them), then joins
    the queue for the global window. One granter hands out global slots as they free up, to the
    waiting chat with the longest backlog first (then the longest waiting), so chats with more to
    send are not left with a tail at 1/s after the others finished; no herd of waiters wakes up
    for each slot.

    `margin` is added to every window and interval (the clocks of two machines, and timers that
    fire a hair early); 10 ms is 1 % of the global window.
    """

    def __init__(self, *, global_per_second: int = 30, group_per_minute: int = 20, margin: float = 0.01,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.margin = margin
        self.clock = clock
        window = 1.0 + margin
        self.global_window = SlidingWindow(global_per_second, window, spacing=window / global_per_second)
        self.group_per_minute = group_per_minute
        self._groups: dict[str, SlidingWindow] = {}
        self._last_sent: dict[str, list[float]] = {}
        self._queue: list[tuple[int, int, asyncio.Future[list[float]]]] = []   # (-backlog, seq, grant)
        self._seq = itertools.count()
        self._granter: asyncio.Task[None] | None = None
        self._answered: asyncio.Event | None = None     # set (and replaced) whenever a send is answered
        self._chat_answered: dict[str, asyncio.Event] = {}   # set when that chat's send is answered
        self._rtts: deque[float] = deque(maxlen=RTT_SAMPLES)
        self._strict_until = -math.inf

    @property
    def rtt_floor(self) -> float:
        """The least round trip of the recent answered sends (0 until enough are seen, or after a 429)."""
        if len(self._rtts) < RTT_MIN_SAMPLES or self.clock() < self._strict_until:
            return 0.0
        return min(self._rtts)

    def refused(self) -> None:
        """The channel answered "too many requests": date sends at their answer for a while."""
        self._strict_until = self.clock() + STRICT_AFTER_429

    def _chat_delay(self, key: str, group: SlidingWindow | None, min_interval: float, now: float) -> float:
        last = self._last_sent.get(key)
        if last is None:
            chat_wait = 0.0
        elif last[0] == IN_FLIGHT:
            chat_wait = IN_FLIGHT
        else:
            chat_wait = last[0] + min_interval + self.margin - now
        return max(chat_wait, group.delay(now) if group else 0.0)

    async def _sleep(self, wait: float, event: asyncio.Event | None = None) -> None:
        """Sleep `wait` seconds; when unbounded (in flight), until `event` (or any answer) is set."""
        if wait != IN_FLIGHT:
            await asyncio.sleep(wait)
            return
        if event is None:
            if self._answered is None:
                self._answered = asyncio.Event()
            event = self._answered
        try:
            await asyncio.wait_for(event.wait(), timeout=MAX_WAIT)
        except asyncio.TimeoutError:
            pass

    async def _grant(self) -> None:
        """Hand out global slots while anyone waits for one."""
        while self._queue:
            wait = self.global_window.delay(self.clock())
            if wait > 0:
                await self._sleep(wait)
                continue
            _, _, grant = heapq.heappop(self._queue)
            if not grant.done():                    # a cancelled waiter gives its place up
                grant.set_result(self.global_window.record(self.clock()))

    async def wait_turn(self, key: str, *, min_interval: float, is_group: bool, backlog: int = 1) -> Turn:
        """Sleep until a message to `key` respects every limit, then hold its slots (see :meth:`done`).

        `backlog`: how many messages this chat still has to send (the longest backlog goes first).
        """
        group = self._groups.setdefault(key, SlidingWindow(self.group_per_minute, 60.0 + self.margin)) \
            if is_group else None
        while True:
            wait = self._chat_delay(key, group, min_interval, self.clock())
            if wait > 0:
                await self._sleep(wait, self._chat_answered.get(key))
                continue
            grant: asyncio.Future[list[float]] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._queue, (-backlog, next(self._seq), grant))
            if self._granter is None or self._granter.done():
                self._granter = asyncio.create_task(self._grant())
            try:
                global_slot = await grant
            except asyncio.CancelledError:
                if grant.done() and not grant.cancelled():
                    grant.result()[0] = self.clock()       # granted but never sent: free the slot
                raise
            now = self.clock()
            if self._chat_delay(key, group, min_interval, now) > 0:
                global_slot[0] = now        # another send to this chat went first: wait again
                continue
            return self.take(key, group, global_slot, now)

    def take(self, key: str, group: SlidingWindow | None, global_slot: list[float], now: float) -> Turn:
        """Hold the chat's (and group's) slots for a send starting `now` with `global_slot` granted."""
        turn = Turn(key, now, [global_slot])
        if group is not None:
            turn.slots.append(group.record(now))
        chat_slot = [IN_FLIGHT]
        self._last_sent[key] = chat_slot
        self._chat_answered[key] = asyncio.Event()
        turn.slots.append(chat_slot)
        return turn

    def done(self, turn: Turn, *, answered: bool = True) -> float:
        """The send was answered (or failed): date its slots and wake those waiting on it.

        `answered`: a round trip really happened (its time feeds the round-trip floor). Returns
        the date given to the slots: the answer minus the round-trip floor, never before the start.
        """
        now = self.clock()
        if answered:
            self._rtts.append(max(0.0, now - turn.started))
        dated = max(turn.started, now - self.rtt_floor) if answered else now
        for slot in turn.slots:
            slot[0] = dated
        chat_event = self._chat_answered.pop(turn.key, None)
        if chat_event is not None:
            chat_event.set()
        if self._answered is not None:
            self._answered.set()
            self._answered = None
        return dated
