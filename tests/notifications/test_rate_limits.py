"""The outbox rate limiter on an injected clock: Telegram's windows to the exact boundary, and a
send dated from its answer minus the least round trip seen, so a slow network does not stretch
every window by its latency (the outbound time stays limit-bound). One run through the fake Bot
API with a 600 ms round trip checks the same against the server's own count: 0 × 429, in order,
and two global windows spent in about two seconds, not two plus two round trips."""

from __future__ import annotations

import asyncio

from bot.core.domain import Reply
from notifications.outbox.rate_limits import RTT_MIN_SAMPLES, STRICT_AFTER_429, ChatLimits, SlidingWindow
from notifications.telegram.sender import TelegramSender
from testkit.fakes.telegram_api import FakeTelegramAPI
from testkit.outbox_driver import delivered_texts, enqueue, make_bot, make_sender, run_until_drained


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def send(limits: ChatLimits, clock: Clock, key: str, rtt: float, *, group: SlidingWindow | None = None) -> float:
    """One send through the limiter's bookkeeping: granted now, answered `rtt` later; returns its date."""
    turn = limits.take(key, group, limits.global_window.record(clock()), clock())
    clock.now += rtt
    return limits.done(turn)


def test_window_admits_the_next_event_exactly_one_window_after_the_oldest():
    window = SlidingWindow(20, 60.0)
    for second in range(20):
        window.record(float(second), in_flight=False)
    assert window.delay(59.999) > 0
    assert window.delay(60.0) == 0.0                  # the 21st may go exactly 60 s after the 1st
    assert window.delay(60.5) == 0.0
    window.record(60.0, in_flight=False)
    assert abs(window.delay(60.0) - 1.0) < 1e-9       # the 22nd waits for the 2nd to leave


def test_a_window_full_of_sends_in_flight_waits_for_an_answer():
    window = SlidingWindow(2, 1.0)
    window.record(0.0)
    window.record(0.0)
    assert window.delay(5.0) == float("inf")


def test_a_chat_waits_its_interval_exactly_from_the_date_of_its_last_send():
    clock = Clock()
    limits = ChatLimits(margin=0.0, clock=clock)
    dated = send(limits, clock, "5001", 0.2)          # no round trips seen yet: dated at the answer (strict)
    assert dated == clock()
    assert limits._chat_delay("5001", None, 1.0, clock()) == 1.0
    clock.now += 1.0
    assert limits._chat_delay("5001", None, 1.0, clock()) == 0.0
    assert limits._chat_delay("5002", None, 1.0, clock()) == 0.0    # other chats are not held


def test_a_send_is_dated_at_its_answer_minus_the_least_round_trip():
    clock = Clock()
    limits = ChatLimits(margin=0.0, clock=clock)
    for i in range(RTT_MIN_SAMPLES):
        send(limits, clock, f"60{i}", 0.3)
    assert abs(limits.rtt_floor - 0.3) < 1e-9
    started = clock()
    assert abs(send(limits, clock, "7001", 0.3) - started) < 1e-9            # a usual send: at its start
    started = clock()
    assert abs(send(limits, clock, "7002", 0.5) - (started + 0.2)) < 1e-9    # slower: dated later by the extra
    started = clock()
    assert send(limits, clock, "7003", 0.1) == started                       # never before its start
    assert abs(limits.rtt_floor - 0.1) < 1e-9                                # and the floor follows


def test_after_a_429_sends_are_dated_at_their_answer_for_a_while():
    clock = Clock()
    limits = ChatLimits(margin=0.0, clock=clock)
    for i in range(RTT_MIN_SAMPLES):
        send(limits, clock, f"60{i}", 0.3)
    limits.refused()
    assert send(limits, clock, "7001", 0.3) == clock()                 # strict: at the answer
    clock.now += STRICT_AFTER_429
    started = clock()
    assert abs(send(limits, clock, "7002", 0.3) - started) < 1e-9      # the bet again


def test_with_a_steady_round_trip_the_global_window_recycles_in_one_window():
    clock = Clock()
    limits = ChatLimits(global_per_second=30, margin=0.0, clock=clock)
    starts = []
    for i in range(120):
        wait = limits.global_window.delay(clock())
        assert wait != float("inf")
        clock.now += wait
        starts.append(clock())
        turn = limits.take(str(8000 + i), None, limits.global_window.record(clock()), clock())
        # Answered 400 ms later; the next start does not wait for it (the pace is 1/30 s).
        answer_at = clock() + 0.4
        saved, clock.now = clock.now, answer_at
        limits.done(turn)
        clock.now = saved
    # Once the floor is learnt (after a first window dated strictly), each start is one window after
    # the start 30 before it (dating at the answer: one window plus the 400 ms round trip).
    gaps = [starts[i] - starts[i - 30] for i in range(90, 120)]
    assert all(abs(gap - 1.0) < 1e-6 for gap in gaps), gaps


def test_a_group_holds_twenty_a_minute_exactly():
    clock = Clock()
    limits = ChatLimits(margin=0.0, clock=clock)
    group = SlidingWindow(20, 60.0)
    first = clock()
    for _ in range(20):
        send(limits, clock, "-1001", 0.0, group=group)
        clock.now += 1.0
    assert limits._chat_delay("-1001", group, 1.0, clock()) > 0
    clock.now = first + 60.0
    assert limits._chat_delay("-1001", group, 1.0, clock()) == 0.0


class SlowNetwork:
    """The Bot API 600 ms away: 300 ms each way."""

    channel = "telegram"

    def __init__(self, inner: TelegramSender) -> None:
        self.inner = inner

    def min_interval(self, chat_id: str) -> float:
        return self.inner.min_interval(chat_id)

    async def send(self, chat_id: str, reply: Reply) -> str:
        await asyncio.sleep(0.3)
        sent = await self.inner.send(chat_id, reply)
        await asyncio.sleep(0.3)
        return sent


async def test_a_slow_network_neither_stretches_the_windows_nor_earns_a_429(engine):
    enqueue(engine, [(str(9000 + i), f"Thông báo {i}") for i in range(90)])
    enqueue(engine, [("9001", f"Nhắc việc {i}") for i in range(3)])
    async with FakeTelegramAPI(enforce_limits=True) as fake:
        bot = make_bot(fake)
        await bot.initialize()
        sender = make_sender(engine, bot, interval=1.0)
        sender.senders["telegram"] = SlowNetwork(sender.senders["telegram"])
        await run_until_drained(sender, engine, timeout=30)
        await bot.shutdown()
        assert fake.rate_limit_hits == 0
        assert delivered_texts(fake, "9001") == ["Thông báo 1"] + [f"Nhắc việc {i}" for i in range(3)]
        arrivals = sorted(c.timestamp for c in fake.calls if c.method == "sendMessage")
    assert len(arrivals) == 93
    # 30/s at the server: arrivals 1 and 61 are two windows apart at least, and (dating sends at
    # their answer, each window grew by the 600 ms round trip: 3.2 s) not much more than that.
    assert 2.0 <= arrivals[60] - arrivals[0] < 2.6, arrivals[60] - arrivals[0]
