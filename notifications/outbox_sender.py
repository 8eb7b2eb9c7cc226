"""Drains the outbox after commit: per-chat order, channel rate limits, retry with backoff and
jitter, `retry_after` honoured, dead letter after too many attempts (with an admin alert), held
rows for channels that refuse a message for now (Zalo's 7-day window). Unsent rows survive a
restart because the outbox is a table, not a queue in memory.

Each chat drains in its own task: a group waiting out its 20-per-minute window, or a chat
waiting on `retry_after`, never delays the replies to anyone else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.domain import Reply
from notifications.channel import ChannelSender, HeldFailure, PermanentFailure, TemporaryFailure
from notifications.rate_limits import ChatLimits
from storage.engine import read_session, write_session
from storage.models import OutboxMessage, TicketCard
from storage.outbox import enqueue_message

log = logging.getLogger(__name__)
ChatKey = tuple[str, str]


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
                 per_chat_batch: int = 20, concurrency: int = 16, poll_interval: float = 5.0,
                 on_dead: Callable[[int, str, str], None] | None = None,
                 only_chats: set[str] | None = None,
                 on_held: "Callable[[Session, Pending, HeldFailure], None] | None" = None,
                 limits: dict[str, ChatLimits] | None = None,
                 admin_chats: tuple[tuple[str, str], ...] = (),
                 dead_text: Callable[[int, str, str], str] | None = None) -> None:
        self.engine, self.clock, self.senders = engine, clock, senders
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.batch, self.per_chat_batch, self.poll_interval = batch, per_chat_batch, poll_interval
        self.limits: dict[str, ChatLimits] = {name: (limits or {}).get(name) or ChatLimits() for name in senders}
        self._semaphore = asyncio.Semaphore(concurrency)       # sends in flight, not chats waiting
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active: dict[ChatKey, asyncio.Task[int]] = {}
        self._generation: dict[ChatKey, int] = {}      # bumped when a chat's task ends
        self.on_dead = on_dead
        self.only_chats = only_chats      # a console terminal delivers only its own chat's rows
        self.on_held = on_held
        # Admins hear of every message given up, through the outbox itself (in the same transaction).
        self.admin_chats = admin_chats
        self.dead_text = dead_text or (lambda row_id, channel, code:
                                       f"Outbox message {row_id} ({channel}, {code or '-'}) could not be delivered.")
        # Group commit of "sent" marks: rows delivered while one mark transaction runs share the next.
        self._sent_queue: list[tuple[int, asyncio.Future[None]]] = []
        self._marking: asyncio.Task[None] | None = None

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
        try:
            while not stop.is_set():
                self._wake.clear()
                timeout = self.poll_interval
                try:
                    await self._dispatch()
                    timeout = await asyncio.to_thread(self._seconds_to_next_due)
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
            if self._marking is not None:          # rows already delivered still get marked sent
                await asyncio.gather(self._marking, return_exceptions=True)

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
        """Start a task for every chat with due rows and no task running."""
        before = dict(self._generation)
        chats = await asyncio.to_thread(self._due_by_chat)
        started = []
        for key, rows in chats.items():
            # A chat whose task ended while we read may be shown with rows it has just sent: skip it.
            if key in self._active or self._generation.get(key, 0) != before.get(key, 0):
                continue
            task = asyncio.create_task(self._send_chat(rows))
            self._active[key] = task
            task.add_done_callback(lambda _t, k=key: self._finished(k))
            started.append(key)
        return started

    def _finished(self, key: ChatKey) -> None:
        self._active.pop(key, None)
        self._generation[key] = self._generation.get(key, 0) + 1
        if self._wake is not None:
            self._wake.set()          # the chat may have more rows, or rows that became due

    def _due_by_chat(self) -> "OrderedDict[ChatKey, list[Pending]]":
        """The leading due rows of each chat; a chat waits behind its own earliest pending row.

        Chats are chosen by their head row first, so one chat with a long backlog cannot starve
        the others out of the batch.
        """
        now = self.clock.now()
        with read_session(self.engine) as session:
            heads = session.execute(
                select(func.min(OutboxMessage.id)).where(OutboxMessage.status == "pending",
                                                         col(OutboxMessage.channel).in_(list(self.senders)))
                .group_by(OutboxMessage.channel, OutboxMessage.chat_id)).scalars().all()
            due_heads = session.exec(select(OutboxMessage.channel, OutboxMessage.chat_id).where(
                col(OutboxMessage.id).in_(heads), OutboxMessage.next_attempt_at <= now)
                .order_by(col(OutboxMessage.id)).limit(self.batch)).all() if heads else []
            rows: list[OutboxMessage] = []
            for channel, chat_id in due_heads:
                if self.only_chats is not None and chat_id not in self.only_chats:
                    continue
                rows.extend(session.exec(select(OutboxMessage).where(
                    OutboxMessage.status == "pending", OutboxMessage.channel == channel,
                    OutboxMessage.chat_id == chat_id).order_by(col(OutboxMessage.id))
                    .limit(self.per_chat_batch)).all())
        chats: OrderedDict[ChatKey, list[Pending]] = OrderedDict()
        blocked: set[ChatKey] = set()
        for row in rows:
            key = (row.channel, row.chat_id)
            if key in blocked:
                continue
            if row.next_attempt_at > now:
                blocked.add(key)
                continue
            chats.setdefault(key, []).append(Pending(row.id, row.channel, row.chat_id, row.payload, row.attempts,
                                                     row.ticket_code))
        return chats

    async def _send_chat(self, rows: list[Pending]) -> int:
        """Send one chat's rows in order; stop at the first temporary failure to keep the order."""
        sent = 0
        for index, row in enumerate(rows):
            sender = self.senders[row.channel]
            limits = self.limits[row.channel]
            turn = await limits.wait_turn(row.chat_id, min_interval=sender.min_interval(row.chat_id),
                                          is_group=row.chat_id.startswith("-"), backlog=len(rows) - index)
            try:
                async with self._semaphore:
                    try:
                        await self._deliver(sender, row)
                    finally:
                        limits.done(turn)       # dated at the answer: the server counted it before that
            except TemporaryFailure as exc:
                await asyncio.to_thread(self._mark_retry, row, str(exc), exc.retry_after, exc.remaining)
                return sent
            except PermanentFailure as exc:
                await asyncio.to_thread(self._mark_dead, row, str(exc))
                continue
            except HeldFailure as exc:
                await asyncio.to_thread(self._mark_held, row, exc)
                continue
            except Exception as exc:  # noqa: BLE001 - an unknown error is retried, not lost
                log.exception("outbox %s: unexpected send error", row.id)
                await asyncio.to_thread(self._mark_retry, row, repr(exc), None)
                return sent
            await self._mark_sent_soon(row.id)
            sent += 1
        return sent

    async def _mark_sent_soon(self, row_id: int) -> None:
        """Mark a delivered row sent; returns once committed (batched with other chats' rows)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent_queue.append((row_id, future))
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_sent_batches())
        await asyncio.shield(future)

    async def _mark_sent_batches(self) -> None:
        while self._sent_queue:
            batch, self._sent_queue = self._sent_queue, []
            try:
                await asyncio.to_thread(self._mark_sent, *(row_id for row_id, _ in batch))
            except Exception as exc:  # noqa: BLE001 - each waiting send sees the failure, as before
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:
                for _, future in batch:
                    future.cancel()
                raise
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _deliver(self, sender: ChannelSender, row: Pending) -> None:
        """Send one row; a card edit edits the card's message, or sends it anew when it has none."""
        data = json.loads(row.payload)
        reply = Reply.from_json(data)
        card_id = data.get("edit_card") or data.get("card_id")
        if data.get("edit_card"):
            ref = await asyncio.to_thread(self._card_ref, int(data["edit_card"]))
            edit = getattr(sender, "edit", None)
            if ref and edit is not None and await edit(row.chat_id, ref, reply):
                return
        sent = await sender.send(row.chat_id, reply)
        if card_id and isinstance(sent, str) and sent:
            await asyncio.to_thread(self._set_card_ref, int(card_id), sent)

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
        """Mark delivered rows sent, in one transaction."""
        now = self.clock.now()
        with write_session(self.engine) as session:
            session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(row_ids))
                            .values(status="sent", sent_at=now, attempts=OutboxMessage.attempts + 1))

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
                            .values(attempts=attempts, next_attempt_at=when, last_error=error[:500]))

    def _mark_dead(self, row: Pending, error: str) -> None:
        log.error("outbox %s (%s) dead after %d attempts: %s", row.id, row.ticket_code or "-", row.attempts + 1,
                  error[:200])
        now = self.clock.now()
        with write_session(self.engine) as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                            .values(status="dead", attempts=row.attempts + 1, last_error=error[:500]))
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
                            .values(status="held", attempts=row.attempts + 1, last_error=str(failure)[:500]))
            if self.on_held:
                self.on_held(session, row, failure)
        self.wake()          # on_held may have queued a message to the office
