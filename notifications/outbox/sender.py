"""Drains the outbox after commit: per-chat order, channel rate limits, retry with backoff and
jitter, `retry_after` honoured, dead letter after too many attempts (with an admin alert), held
rows for channels that refuse a message for now (Zalo's 7-day window). Unsent rows survive a
restart because the outbox is a table, not a queue in memory.

Each chat drains in its own task: a group waiting out its 20-per-minute window, or a chat
waiting on `retry_after`, never delays the replies to anyone else.

Several processes may drain one PostgreSQL outbox (the scale-out mode, see the README). Per-chat
order then needs one sender per chat at a time, so rows are *claimed* before they are sent:

- one short write transaction locks the head row (oldest pending) of each due chat with
  `FOR UPDATE SKIP LOCKED`, skips chats whose head already has a live lease, and stamps the chat's
  leading due rows with `claimed_by` (this process) and `claimed_until` (a lease of
  `lease_seconds`). Every claimer must lock a chat's head row first, so two processes never
  claim the same chat; the head lock is the chat's mutex.
- the rows are sent with no transaction open across the network, each marked sent (or retry,
  dead, held) in its own short transaction; rows left unsent are released at once.
- the lease is renewed while a chat is being drained; a renewal that finds the rows no longer
  ours (the lease ran out and another process took the chat) stops this process's drain of that
  chat. A crashed process's rows become claimable when its lease runs out.
- leases are timed with the wall clock (`lease_clock`), not the injected business clock, which
  tests and simulations may move by hours.

SQLite is one process by construction (BEGIN IMMEDIATE serialises writers; SQLAlchemy emits no
`FOR UPDATE` there), so a starting sender there frees every lease left by an earlier run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from bot.core.clock import Clock, SystemClock
from bot.core.domain import Reply
from notifications.outbox.delivery_journal import DeliveryJournal
from notifications.outbox.channel import ChannelSender, HeldFailure, PermanentFailure, TemporaryFailure
from notifications.outbox.rate_limits import ChatLimits
from storage.engine import is_sqlite, read_session, write_session
from storage.models import OutboxMessage, TicketCard
from storage.outbox import enqueue_message

log = logging.getLogger(__name__)
ChatKey = tuple[str, str]
LEASE_SECONDS = 30.0


def process_owner() -> str:
    """A name for this sender in `claimed_by`: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Pending:
    id: int
    channel: str
    chat_id: str
    payload: str
    attempts: int
    ticket_code: str


class OutboxSender:
    """Delivers outbox rows through the registered channel senders."""

    def __init__(self, engine: Engine, clock: Clock, senders: dict[str, ChannelSender], *,
                 max_attempts: int = 8, base_delay: float = 2.0, max_delay: float = 900.0, batch: int = 500,
                 per_chat_batch: int = 20, concurrency: int = 48, poll_interval: float = 5.0,
                 on_dead: Callable[[int, str, str], None] | None = None,
                 only_chats: set[str] | None = None,
                 on_held: "Callable[[Session, Pending, HeldFailure], None] | None" = None,
                 limits: dict[str, ChatLimits] | None = None,
                 admin_chats: tuple[tuple[str, str], ...] = (),
                 dead_text: Callable[[int, str, str], str] | None = None,
                 owner: str | None = None, lease_seconds: float = LEASE_SECONDS,
                 lease_clock: Clock | None = None, journal: DeliveryJournal | None = None) -> None:
        self.engine, self.clock, self.senders = engine, clock, senders
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.batch, self.per_chat_batch, self.poll_interval = batch, per_chat_batch, poll_interval
        self.limits: dict[str, ChatLimits] = {name: (limits or {}).get(name) or ChatLimits() for name in senders}
        # Sends in flight, not chats waiting: 30/s with a 1 s round trip keeps 30 in flight (16 capped
        # the rate at 16/round trip: 27/s at 600 ms).
        self._semaphore = asyncio.Semaphore(concurrency)
        # Its own thread for recording outcomes: in the shared default pool a mark-sent queued behind
        # dozens of webhook transactions for seconds, and a crash in that gap sends the message twice.
        self._marks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-marks")
        self._sent_queue: list[tuple[int, asyncio.Future[None]]] = []
        self._sent_flusher: asyncio.Future[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active: dict[ChatKey, asyncio.Task[int]] = {}
        self.owner = owner or process_owner()
        self.journal = journal          # write-ahead note of deliveries (crash between answer and commit)
        self._replayed = journal is None
        self.lease_seconds = lease_seconds
        self.lease_clock = lease_clock or SystemClock()
        self.on_dead = on_dead
        self.only_chats = only_chats      # a console terminal delivers only its own chat's rows
        self.on_held = on_held
        # Admins hear of every message given up, through the outbox itself (in the same transaction).
        self.admin_chats = admin_chats
        self.dead_text = dead_text or (lambda row_id, channel, code:
                                       f"Outbox message {row_id} ({channel}, {code or '-'}) could not be delivered.")

    def wake(self) -> None:
        """Ask the loop to look at the outbox now; safe from any thread.

        Wakes coalesce: while one is pending (the event is set and the loop has not yet cleared it
        to scan), another adds nothing, since the scan that follows reads every commit made before.
        """
        if self._loop is not None and self._wake is not None and not self._wake.is_set():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set; survives database outages by retrying."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if is_sqlite(self.engine):
            try:
                await asyncio.to_thread(self._release_claims, everyone=True)
            except Exception:  # noqa: BLE001 - the loop below retries the database anyway
                log.exception("could not free the outbox leases of an earlier run")
        try:
            while not stop.is_set():
                self._wake.clear()
                timeout = self.poll_interval
                try:
                    await self._dispatch()
                    timeout = await asyncio.to_thread(self._seconds_to_next_due)
                except OperationalError as exc:      # the database is away: say so once per poll, briefly
                    log.warning("outbox scan: database unavailable (%s); retrying", str(exc).splitlines()[0][:200])
                except Exception:  # noqa: BLE001 - a database outage must not end the sender
                    log.exception("outbox scan failed; retrying")
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
        finally:
            for task in list(self._active.values()):
                task.cancel()
            await asyncio.gather(*self._active.values(), return_exceptions=True)
            if self._sent_flusher is not None:      # rows already delivered still get marked sent
                await asyncio.gather(self._sent_flusher, return_exceptions=True)
            try:
                await asyncio.to_thread(self._release_claims)
            except Exception:  # noqa: BLE001 - the leases simply run out
                log.warning("could not release this process's outbox leases at stop", exc_info=True)

    async def drain_once(self) -> int:
        """Send everything due now and wait for it; returns how many were delivered."""
        delivered = 0
        while True:
            started = await self._dispatch()
            if not started and not self._active:
                return delivered
            results = await asyncio.gather(*self._active.values(), return_exceptions=True)
            sent_now = sum(r for r in results if isinstance(r, int))
            delivered += sent_now
            if sent_now == 0 and not started:
                return delivered

    async def _dispatch(self) -> list[ChatKey]:
        """Claim and start a task for every chat with due rows and no task running."""
        # Only this coroutine starts tasks, so a chat not busy now cannot become busy while we claim;
        # a chat whose task ends meanwhile is simply claimed again at the next dispatch.
        if not self._replayed:          # before any claim: those rows were delivered already
            await asyncio.to_thread(self._replay_journal)
            self._replayed = True
        busy = set(self._active)
        chats = await asyncio.to_thread(self.claim_due, busy)
        started = []
        for key, rows in chats.items():
            task = asyncio.create_task(self._send_chat(rows))
            self._active[key] = task
            task.add_done_callback(lambda _t, k=key: self._finished(k))
            started.append(key)
        return started

    def _finished(self, key: ChatKey) -> None:
        self._active.pop(key, None)
        if self._wake is not None:
            self._wake.set()          # the chat may have more rows, or rows that became due

    def claim_due(self, busy: "set[ChatKey] | frozenset[ChatKey]" = frozenset()
                  ) -> "OrderedDict[ChatKey, list[Pending]]":
        """Claim the leading due rows of each free chat, in one short transaction (see the module doc).

        A chat waits behind its own earliest pending row. Chats are chosen by their head row first,
        so one chat with a long backlog cannot starve the others out of the batch.
        """
        now = self.clock.now()
        lease_now = self.lease_clock.now()
        # Free: never claimed, lease run out, or ours with no task sending it (the task ended on an
        # error, e.g. the database went away, before it could release them): resumed at once.
        free = ((OutboxMessage.claimed_until == None) | (OutboxMessage.claimed_until <= lease_now)  # noqa: E711
                | (OutboxMessage.claimed_by == self.owner))
        chats: OrderedDict[ChatKey, list[Pending]] = OrderedDict()
        with write_session(self.engine) as session:
            heads = session.execute(
                select(func.min(OutboxMessage.id)).where(OutboxMessage.status == "pending",
                                                         col(OutboxMessage.channel).in_(list(self.senders)))
                .group_by(OutboxMessage.channel, OutboxMessage.chat_id)).scalars().all()
            # Lock the free, due heads; a head another claimer holds right now is skipped, not waited for.
            # The status test is evaluated again on the locked row, so a head sent meanwhile drops out.
            due_heads = session.exec(select(OutboxMessage.channel, OutboxMessage.chat_id).where(
                col(OutboxMessage.id).in_(heads), OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now, free)
                .order_by(col(OutboxMessage.id)).limit(self.batch)
                .with_for_update(skip_locked=True, of=OutboxMessage)).all() if heads else []
            claimed: list[int] = []
            for channel, chat_id in due_heads:
                key = (channel, chat_id)
                if key in busy or (self.only_chats is not None and chat_id not in self.only_chats):
                    continue
                leading = session.exec(select(OutboxMessage).where(
                    OutboxMessage.status == "pending", OutboxMessage.channel == channel,
                    OutboxMessage.chat_id == chat_id).order_by(col(OutboxMessage.id))
                    .limit(self.per_chat_batch)).all()
                if any(_live(r.claimed_until, lease_now) and r.claimed_by != self.owner for r in leading):
                    continue      # e.g. a held row released in front of rows another process is sending
                for row in leading:
                    if row.next_attempt_at > now:
                        break                         # a later row never overtakes one waiting to retry
                    chats.setdefault(key, []).append(Pending(row.id, row.channel, row.chat_id, row.payload,
                                                             row.attempts, row.ticket_code))
                    claimed.append(row.id)
            for chunk in _chunks(claimed, 500):
                session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(chunk))
                                .values(claimed_by=self.owner,
                                        claimed_until=lease_now + timedelta(seconds=self.lease_seconds)))
        return chats

    def _renew(self, ids: list[int]) -> bool:
        """Extend the lease on a chat's unsent rows; False when they are no longer this process's."""
        lease_now = self.lease_clock.now()
        with write_session(self.engine) as session:
            done = session.execute(update(OutboxMessage).where(
                col(OutboxMessage.id).in_(ids), OutboxMessage.claimed_by == self.owner,
                OutboxMessage.status == "pending", OutboxMessage.claimed_until > lease_now)
                .values(claimed_until=lease_now + timedelta(seconds=self.lease_seconds))).rowcount
        return done == len(ids)

    def _release_claims(self, ids: list[int] | None = None, *, everyone: bool = False) -> None:
        """Free leases: the given rows of this process, all of this process's, or (SQLite start) all."""
        where = [OutboxMessage.status == "pending", OutboxMessage.claimed_until != None,  # noqa: E711
                 col(OutboxMessage.channel).in_(list(self.senders))]
        if not everyone:
            where.append(OutboxMessage.claimed_by == self.owner)
        if ids is not None:
            where.append(col(OutboxMessage.id).in_(ids))
        with write_session(self.engine) as session:
            session.execute(update(OutboxMessage).where(*where).values(claimed_by="", claimed_until=None))

    async def _send_chat(self, rows: list[Pending]) -> int:
        """Send one chat's claimed rows; release what is left unsent (retried by the next claim)."""
        try:
            sent = await self._send_claimed(rows)
        except Exception:  # noqa: BLE001 - e.g. the database went away: the lease runs out, rows stay
            log.exception("outbox drain of a chat failed; its rows will be claimed again")
            return 0
        if sent == len(rows):
            return sent
        try:        # only rows still pending and ours are touched
            await asyncio.to_thread(self._release_claims, [r.id for r in rows])
        except Exception:  # noqa: BLE001 - the lease runs out instead
            log.warning("could not release outbox leases", exc_info=True)
        return sent

    async def _send_claimed(self, rows: list[Pending]) -> int:
        """Send one chat's rows in order; stop at the first temporary failure to keep the order."""
        sent = 0
        renewed = [self.lease_clock.now()]          # this chat's last renewal (one per chat task)
        for index, row in enumerate(rows):
            sender = self.senders[row.channel]
            limits = self.limits[row.channel]
            left = [r.id for r in rows[index:]]
            # A group's 20-per-minute window may hold a message longer than the lease: wait in slices,
            # renewing in between, so the lease is fresh (2/3 of it left) when the wait starts and
            # still has half left when the send starts (renewed then only after a long wait: a
            # renewal there is a database write while the send holds its rate-limit slots).
            turn = None
            while turn is None:
                if not await self._keep_lease(left, renewed):
                    log.warning("outbox %s: lease lost; another process has this chat now", row.id)
                    return sent
                with contextlib.suppress(asyncio.TimeoutError):
                    turn = await asyncio.wait_for(
                        limits.wait_turn(row.chat_id, min_interval=sender.min_interval(row.chat_id),
                                         is_group=row.chat_id.startswith("-"), backlog=len(rows) - index),
                        timeout=self.lease_seconds / 3)
            try:
                still_ours = await self._keep_lease(left, renewed, spent=1 / 2)
            except BaseException:
                limits.done(turn, answered=False)
                raise
            if not still_ours:
                limits.done(turn, answered=False)
                log.warning("outbox %s: lease lost; another process has this chat now", row.id)
                return sent
            try:
                async with self._semaphore:
                    try:
                        await self._deliver(sender, row)
                    finally:
                        limits.done(turn)       # dated from the answer: the server counted it before that
            except TemporaryFailure as exc:
                if exc.retry_after is not None:
                    limits.refused()            # a 429: the limiter's latency bet lost, back to strict
                await self._record(self._mark_retry, row, str(exc), exc.retry_after, exc.remaining)
                return sent
            except PermanentFailure as exc:
                await self._record(self._mark_dead, row, str(exc))
                continue
            except HeldFailure as exc:
                await self._record(self._mark_held, row, exc)
                continue
            except Exception as exc:  # noqa: BLE001 - an unknown error is retried, not lost
                log.exception("outbox %s: unexpected send error", row.id)
                await self._record(self._mark_retry, row, repr(exc), None)
                return sent
            await self._record_sent(row.id)
            sent += 1
        return sent

    async def _keep_lease(self, ids: list[int], renewed: list[datetime], *, spent: float = 1 / 3) -> bool:
        """Renew the lease on these rows when `spent` of it is spent; False when it is lost."""
        if (self.lease_clock.now() - renewed[0]).total_seconds() <= self.lease_seconds * spent:
            return True
        if not await asyncio.to_thread(self._renew, ids):
            return False
        renewed[0] = self.lease_clock.now()
        return True

    async def _record(self, mark: Callable[..., None], *args: object) -> None:
        """Run one outcome write (mark retry / dead / held) on the sender's own thread."""
        await asyncio.get_running_loop().run_in_executor(self._marks, mark, *args)

    async def _record_sent(self, row_id: int) -> None:
        """Mark a delivered row sent, in one transaction with whatever other rows were delivered
        meanwhile: the gap between Telegram's answer and the commit (where a crash means the
        message goes out again after restart) stays one short transaction, even under load."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent_queue.append((row_id, future))
        if self._sent_flusher is None or self._sent_flusher.done():
            self._sent_flusher = asyncio.ensure_future(self._flush_sent())
        await asyncio.shield(future)

    async def _flush_sent(self) -> None:
        while self._sent_queue:
            batch, self._sent_queue = self._sent_queue, []
            try:
                await self._mark_sent_surely([row_id for row_id, _ in batch])
            except Exception as exc:  # noqa: BLE001 - each waiting send sees the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _mark_sent_surely(self, row_ids: list[int], *, patience: float = 300.0) -> None:
        """Record deliveries, retrying through a database outage: a row sent but not marked is sent again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        delay = 0.5
        while True:
            try:
                await loop.run_in_executor(self._marks, self._mark_sent, *row_ids)
                if self.journal is not None:
                    self.journal.committed(row_ids)
                return
            except Exception as exc:  # noqa: BLE001 - the database is away; it was delivered, keep trying
                if loop.time() > deadline:
                    raise
                log.warning("outbox %s delivered but not yet marked sent (%s); retrying", row_ids[:5],
                            str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _deliver(self, sender: ChannelSender, row: Pending) -> None:
        """Send one row; a card edit edits the card's message, or sends it anew when it has none."""
        data = json.loads(row.payload)
        reply = Reply.from_json(data)
        card_id = data.get("edit_card") or data.get("card_id")
        if data.get("edit_card"):
            ref = await asyncio.to_thread(self._card_ref, int(data["edit_card"]))
            edit = getattr(sender, "edit", None)
            if ref and edit is not None and await edit(row.chat_id, ref, reply):
                self._note_delivered(row.id)
                return
        sent = await sender.send(row.chat_id, reply)
        self._note_delivered(row.id)
        if card_id and isinstance(sent, str) and sent:
            await asyncio.to_thread(self._set_card_ref, int(card_id), sent)

    def _note_delivered(self, row_id: int) -> None:
        if self.journal is not None:
            try:
                self.journal.note(row_id)
            except OSError:          # a full disk costs only the duplicate protection, never the message
                log.warning("delivery journal unavailable", exc_info=True)

    def _replay_journal(self) -> None:
        """Mark sent what an earlier run delivered but could not record (see notifications/delivery_journal)."""
        assert self.journal is not None
        ids = self.journal.noted()
        for chunk in _chunks(ids, 500):
            self._mark_sent(*chunk)
        if ids:
            log.info("delivery journal: %d delivered rows of an earlier run marked sent", len(ids))
        self.journal.clear()

    def _card_ref(self, card_id: int) -> str:
        with read_session(self.engine) as session:
            card = session.get(TicketCard, card_id)
            return card.message_ref if card is not None else ""

    def _set_card_ref(self, card_id: int, message_ref: str) -> None:
        with write_session(self.engine) as session:
            session.execute(update(TicketCard).where(TicketCard.id == card_id).values(message_ref=message_ref))

    def _seconds_to_next_due(self) -> float:
        """Sleep until the earliest retry is due (a retry_after of 1 s should not wait a whole poll)."""
        with read_session(self.engine) as session:
            first = session.exec(select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status == "pending", col(OutboxMessage.channel).in_(list(self.senders)))).first()
        if first is None:
            return self.poll_interval
        if first.tzinfo is None:
            first = first.replace(tzinfo=self.clock.now().tzinfo)
        return min(self.poll_interval, max(0.01, (first - self.clock.now()).total_seconds()))

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter, capped."""
        return random.uniform(self.base_delay / 2, min(self.max_delay, self.base_delay * 2 ** attempts))

    def _mark_sent(self, *row_ids: int) -> None:
        """Mark delivered rows sent, in one transaction, ahead of waiting webhook writers (SQLite)."""
        now = self.clock.now()
        with write_session(self.engine, priority=True) as session:
            session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(row_ids),
                                                        OutboxMessage.status == "pending")
                            .values(status="sent", sent_at=now, attempts=OutboxMessage.attempts + 1,
                                    claimed_until=None))

    def _mark_retry(self, row: Pending, error: str, retry_after: float | None, remaining: Reply | None = None) -> None:
        attempts = row.attempts + 1
        if remaining is not None:
            # Part of a split message went out: keep only the rest, so no part is ever sent twice.
            with write_session(self.engine) as session:
                session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                                .values(payload=json.dumps(remaining.to_json(), ensure_ascii=False)))
        if attempts >= self.max_attempts:
            self._mark_dead(row, error)
            return
        delay = retry_after + 0.05 if retry_after is not None else self.backoff(attempts)
        when: datetime = self.clock.now() + timedelta(seconds=delay)
        log.warning("outbox %s (%s) retry %d in %.1fs: %s", row.id, row.ticket_code or "-", attempts, delay,
                    error[:200])
        with write_session(self.engine) as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                            .values(attempts=attempts, next_attempt_at=when, last_error=error[:500],
                                    claimed_by="", claimed_until=None))

    def _mark_dead(self, row: Pending, error: str) -> None:
        log.error("outbox %s (%s) dead after %d attempts: %s", row.id, row.ticket_code or "-", row.attempts + 1,
                  error[:200])
        now = self.clock.now()
        with write_session(self.engine) as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                            .values(status="dead", attempts=row.attempts + 1, last_error=error[:500],
                                    claimed_until=None))
            if (row.channel, row.chat_id) not in self.admin_chats:      # never alert about an alert
                for channel, chat_id in self.admin_chats:
                    enqueue_message(session, channel=channel, chat_id=chat_id, now=now, ticket_code=row.ticket_code,
                                    payload=Reply(text=self.dead_text(row.id, row.channel, row.ticket_code)).to_json())
        if self.on_dead:
            self.on_dead(row.id, row.channel, row.ticket_code)
        if self.admin_chats:
            self.wake()

    def _mark_held(self, row: Pending, failure: HeldFailure) -> None:
        """Keep the row until the person writes again; `on_held` acts in the same transaction."""
        log.warning("outbox %s (%s) held: %s", row.id, row.ticket_code or "-", str(failure)[:200])
        with write_session(self.engine) as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                            .values(status="held", attempts=row.attempts + 1, last_error=str(failure)[:500],
                                    claimed_by="", claimed_until=None))
            if self.on_held:
                self.on_held(session, row, failure)
        self.wake()          # on_held may have queued a message to the office


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _live(until: datetime | None, now: datetime) -> bool:
    if until is None:
        return False
    if until.tzinfo is None:
        until = until.replace(tzinfo=now.tzinfo)
    return until > now
