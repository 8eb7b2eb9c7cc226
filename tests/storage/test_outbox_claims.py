"""Outbox claims (scale-out, issue 7 row 6, unit level): two claimers racing on one outbox never hold
the same chat, every row is sent once and in order, a crashed claimer's lease runs out, and the
scheduler leader lock passes to another process when the leader's connection dies.

The claimers use separate engines (separate connection pools, as two processes would) and race
from two threads released together by a barrier, round after round.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from bot.core.clock import FixedClock, SystemClock
from bot.core.domain import Reply
from notifications.outbox.sender import OutboxSender
from storage.engine import make_engine, write_session
from storage.locks import Leadership
from storage.models import OutboxMessage
from storage.outbox import enqueue_message
from testkit.config import PG_URL

CHATS = [str(5000 + i) for i in range(40)] + [str(-1009000 - i) for i in range(8)]
PER_CHAT = 4


class NoSend:
    """Claiming is tested without sending; the sender only needs the channel's name."""

    def min_interval(self, chat_id: str) -> float:
        return 0.0

    async def send(self, chat_id: str, reply: Reply) -> None:  # pragma: no cover - never called
        raise AssertionError("not used")


def fill(engine) -> None:
    now = SystemClock().now()
    with write_session(engine) as session:
        for n in range(PER_CHAT):
            for chat in CHATS:
                enqueue_message(session, channel="telegram", chat_id=chat, payload=Reply(text=f"{chat}/{n}").to_json(),
                                now=now)


def claimer(engine, name: str, **kw) -> OutboxSender:
    return OutboxSender(engine, SystemClock(), {"telegram": NoSend()}, owner=name, batch=15, per_chat_batch=2, **kw)


def test_two_concurrent_claimers_never_claim_the_same_chat(engine, database_url):
    fill(engine)
    other = make_engine(database_url)          # a second pool: the other "process"
    a, b = claimer(engine, "A"), claimer(other, "B")
    barrier = threading.Barrier(2)
    sent_by: dict[str, list[int]] = {"A": [], "B": []}
    order: dict[str, list[int]] = defaultdict(list)
    overlaps: list[set] = []
    errors: list[BaseException] = []
    rounds = 0
    try:
        while True:
            rounds += 1
            claims: dict[str, dict] = {}

            def run(sender: OutboxSender) -> None:
                try:
                    barrier.wait(timeout=30)
                    claims[sender.owner] = sender.claim_due()
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(s,)) for s in (a, b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert not errors, errors
            both = set(claims["A"]) & set(claims["B"])
            if both:
                overlaps.append(both)
            if not claims["A"] and not claims["B"]:
                break
            # Each claimer "sends" the first claimed row of each chat and releases the rest, as the
            # sender does after a temporary failure; the other claimer races it again next round.
            for sender in (a, b):
                for key, pending in claims[sender.owner].items():
                    sender._mark_sent(pending[0].id)
                    sent_by[sender.owner].append(pending[0].id)
                    order[key[1]].append(pending[0].id)
                    sender._release_claims([p.id for p in pending[1:]])
            assert rounds < 200
    finally:
        other.dispose()
    assert not overlaps, f"chats claimed by both claimers at once: {overlaps[:3]}"
    every = sent_by["A"] + sent_by["B"]
    assert len(every) == len(set(every)) == len(CHATS) * PER_CHAT        # each row once, none left
    assert sent_by["A"] and sent_by["B"]                                   # both did work
    assert all(ids == sorted(ids) for ids in order.values())               # per-chat order kept
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert {r.status for r in rows} == {"sent"}
    assert {r.claimed_by for r in rows} == {"A", "B"} and all(r.claimed_until is None for r in rows)
    print(f"\nclaims: {rounds} rounds, A sent {len(sent_by['A'])}, B sent {len(sent_by['B'])}, 0 overlaps")


def test_a_live_lease_blocks_the_chat_and_an_expired_one_is_taken_over(engine):
    with write_session(engine) as session:
        for n in range(3):
            enqueue_message(session, channel="telegram", chat_id="6001", payload=Reply(text=f"m{n}").to_json(),
                            now=SystemClock().now())
    t0 = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)
    crashed = claimer(engine, "crashed", lease_clock=FixedClock(t0), lease_seconds=30)
    later = FixedClock(t0 + timedelta(seconds=10))
    other = claimer(engine, "other", lease_clock=later, lease_seconds=30)

    first = crashed.claim_due()
    assert [p.chat_id for p in first[("telegram", "6001")]] == ["6001", "6001"]
    assert other.claim_due() == {}                         # the lease is live: the chat is busy
    later.set(t0 + timedelta(seconds=31))                  # the claimer died; its lease ran out
    taken = other.claim_due()
    assert [p.id for p in taken[("telegram", "6001")]] == [p.id for p in first[("telegram", "6001")]]
    # The first claimer, were it only slow, learns it lost the chat before sending anything more.
    assert crashed._renew([p.id for p in first[("telegram", "6001")]]) is False
    assert other._renew([p.id for p in taken[("telegram", "6001")]]) is True
    with Session(engine) as session:
        owners = set(session.exec(select(OutboxMessage.claimed_by).where(OutboxMessage.claimed_until != None)))  # noqa: E711
    assert owners == {"other"}


@pytest.mark.skipif(not PG_URL, reason="the scheduler leader lock is a PostgreSQL advisory lock; "
                                       "SQLite runs one process, which is always the leader")
def test_scheduler_leadership_passes_on_when_the_leader_dies(engine):
    engines = [make_engine(PG_URL), make_engine(PG_URL)]
    first, second = Leadership(engines[0]), Leadership(engines[1])
    try:
        assert first.hold() is True
        assert second.hold() is False              # one leader at a time
        assert first.hold() is True                # and it stays the leader
        assert second.hold() is False
        engines[0].dispose()
        first._conn.invalidate()                   # the leader process dies: its connection closes
        first._conn = None
        assert second.hold() is True               # the next tick of the other process takes over
        assert Leadership(engines[0]).hold() is False
    finally:
        second.release()
        for e in engines:
            e.dispose()


def test_first_ticket_numbers_of_a_year_never_collide(engine, database_url):
    """Found by the outage test: concurrent first tickets of a year lost all but one on PostgreSQL."""
    from storage.tickets import next_ticket_number

    engines = [make_engine(database_url) for _ in range(4)]
    barrier = threading.Barrier(8)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def take(e) -> None:  # noqa: ANN001
        try:
            barrier.wait(timeout=30)
            with write_session(e) as session:
                numbers.append(next_ticket_number(session, prefix="XG", year=2031))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(engines[i % 4],)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for e in engines:
            e.dispose()
    assert not errors, errors[:1]
    assert sorted(numbers) == list(range(1, 9))


class SlowChat:
    """A channel whose chat may take one message a second: longer than the lease in the test below."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    def min_interval(self, chat_id: str) -> float:
        return 1.0

    async def send(self, chat_id: str, reply: Reply) -> None:
        self.delivered.append(reply.text)


async def test_a_chat_waiting_longer_than_the_lease_keeps_it(engine, caplog):
    """Found with 60 rounds of the scale-out test: a group held by its 20-per-minute window lost its
    lease while waiting, and the chat was given up and claimed again, over and over."""
    with write_session(engine) as session:
        for n in range(3):
            enqueue_message(session, channel="telegram", chat_id="6002", payload=Reply(text=f"m{n}").to_json(),
                            now=SystemClock().now())
    channel = SlowChat()
    sender = OutboxSender(engine, SystemClock(), {"telegram": channel}, owner="slow", lease_seconds=0.6)
    assert await asyncio.wait_for(sender.drain_once(), 20) == 3
    assert channel.delivered == ["m0", "m1", "m2"]
    assert "lease lost" not in caplog.text
