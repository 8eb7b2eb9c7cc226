"""The service owns transactions: one inbound event = one transaction that writes the dedupe key,
the conversation step, tickets, audit events and outbox rows together, or nothing at all.

It is synchronous on purpose (SQLModel sessions are). Adapters on the event loop call
`Service.submit`, which hands the event to one writer thread that commits concurrent events
together (bot.service.group_commit): one transaction per batch, one savepoint per event, so each event
is still all or nothing and is acknowledged only after the commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from bot.intake import citizen as citizen_flow
from bot.officials import service as office_flow
from bot.conversation.engine import Turn, load_data, store_data
from bot.core.domain import Inbound, Reply
from bot.service.flood import FloodGuard, Verdict
from bot.service.group_commit import GroupCommit
from bot.language.normalize import normalize_text
from bot.core.services import Services  # noqa: F401 - imported from here by the edges
from bot.tickets.cards import post_office_card
from bot.tickets.context import TicketContext
from bot.tickets.records import CreatedTicket, Draft, create_ticket

from storage.conversations import load_conversation
from storage.engine import read_session, write_session
from storage.inbound_events import claim_inbound
from storage.models import ProcessedInbound
from storage.officials import active_official_accounts
from storage.outbox import enqueue_message, release_held
from storage.tickets import ensure_citizen

log = logging.getLogger(__name__)
OFFICIALS_TTL = 60.0        # seconds the set of active officials (never throttled) is cached


@dataclass
class HandleResult:
    """What one inbound event did: duplicate or not, and which chats got new outbox rows."""

    duplicate: bool = False
    chats: set[tuple[str, str]] = field(default_factory=set)
    ticket_codes: list[str] = field(default_factory=list)
    leave_chat: bool = False            # an unregistered group: the adapter leaves it after commit
    callback_text: str = ""             # a short answer shown on the pressed button (e.g. "Không có quyền")


class Service:
    """Entry point of the core for every channel."""

    def __init__(self, services: Services, *, on_outbox: Callable[[], None] | None = None,
                 on_ticket: Callable[[], None] | None = None) -> None:
        self.services = services
        self.on_outbox = on_outbox
        self.on_ticket = on_ticket          # after a commit that created tickets (any thread)
        self.flood = FloodGuard(per_minute=services.settings.intake.messages_per_minute)
        self._officials: set[tuple[str, str]] = set()
        self._officials_loaded = float("-inf")
        self.writer: GroupCommit[tuple[Inbound, Verdict | None]] = GroupCommit(self.handle_batch)

    def screen(self, inbound: Inbound) -> Verdict | None:
        """The flood verdict for an event, from memory only, for the adapter's event loop.

        A flood's dropped messages then never take a worker thread (where they would queue in
        front of everybody else's). None when the officials cache is stale (the database decides,
        in handle_inbound). Pass the verdict on to handle_inbound: each event is counted once.
        """
        return self.screen_user(str(inbound.channel), inbound.user_id, is_private=inbound.is_private,
                                event_id=inbound.external_id)

    def screen_user(self, channel: str, user_id: str, *, is_private: bool, event_id: str = "") -> Verdict | None:
        """:meth:`screen` for an event known only by its sender (before the update is parsed)."""
        if not is_private:
            return Verdict.OK
        if time.monotonic() - self._officials_loaded > OFFICIALS_TTL:
            return None
        if (channel, user_id) in self._officials:
            return Verdict.OK
        return self.flood.check(channel, user_id, event_id=event_id)

    def handle_inbound(self, inbound: Inbound, *, verdict: Verdict | None = None) -> HandleResult:
        """Handle one event exactly once; safe to call again with the same external id.

        `verdict`: the flood verdict already given by :meth:`screen`, if any.
        """
        outcome = self.handle_batch([(inbound, verdict)])[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def submit(self, inbound: Inbound, *, verdict: Verdict | None = None) -> HandleResult:
        """:meth:`handle_inbound` for the event loop: queued for the writer thread, which commits
        it together with whatever else is waiting (see bot.service.group_commit); returns after the commit."""
        return await self.writer.run((inbound, verdict))

    def handle_batch(self, items: Sequence[tuple[Inbound, Verdict | None]]) -> list[HandleResult | Exception]:
        """Handle events in order in ONE write transaction; a later event of the same chat sees the
        effects of the earlier ones.

        One outcome per event: its HandleResult, or the exception :meth:`handle_inbound` would raise
        for it alone. When an event fails, the batch is run again with a savepoint per event, so only
        that event's writes are lost. If the database is unavailable, or the commit fails, every
        event of the batch gets that error (none of them was handled).
        """
        outcomes: list[HandleResult | Exception | None] = [None] * len(items)
        work: list[tuple[int, Inbound, bool, bool]] = []        # index, event, flood warning, counted
        for index, (inbound, verdict) in enumerate(items):
            inbound = replace(inbound, text=normalize_text(inbound.text)[0] if inbound.text else "")
            if verdict is None and inbound.is_private and not self._is_official(inbound):
                verdict = self.flood.check(str(inbound.channel), inbound.user_id, event_id=inbound.external_id)
            if verdict is Verdict.DROP:
                outcomes[index] = HandleResult()
                continue
            work.append((index, inbound, verdict is Verdict.WARN, inbound.is_private and verdict is Verdict.OK))
        if work:
            try:
                try:
                    done = self._commit_batch(work, isolated=False)
                except OperationalError:
                    raise
                except Exception:  # noqa: BLE001 - one event failed; nothing was committed
                    # Again, each event in a savepoint of its own, so that event alone fails. The
                    # first pass wrote nothing anywhere but in the rolled-back transaction, and no
                    # caller has been answered, so running the events again is safe.
                    log.info("a batch of %d events failed; handled again one savepoint each", len(work))
                    done = self._commit_batch(work, isolated=True)
            except Exception as exc:  # noqa: BLE001 - nothing of the batch was committed
                for index, inbound, _, counted in work:
                    outcomes[index] = exc
                    if counted and isinstance(exc, OperationalError):
                        # answered 503 and redelivered later: count the message once, not per try
                        self.flood.refund(str(inbound.channel), inbound.user_id, event_id=inbound.external_id)
                return outcomes  # type: ignore[return-value]
            for index, inbound, _, _ in work:
                outcome = outcomes[index] = done[index]
                if isinstance(outcome, HandleResult):
                    self._after(outcome, inbound)
        return outcomes  # type: ignore[return-value]

    def _commit_batch(self, work: list[tuple[int, Inbound, bool, bool]], *,
                      isolated: bool) -> dict[int, HandleResult | Exception]:
        """One transaction for the batch. Not `isolated`: the first failure fails it all (savepoints
        cost about a tenth of an event, and failures are rare); `isolated`: a savepoint per event."""
        done: dict[int, HandleResult | Exception] = {}
        with write_session(self.services.engine) as session:
            for index, inbound, warn, _ in work:
                now = self.services.clock.now()             # each event its own time, as when alone
                session.info.pop("danvan_official", None)   # office_service's per-event note: never a neighbour's
                if isolated:
                    done[index] = self._handle_isolated(session, inbound, now, warn=warn)
                else:
                    done[index] = self._handle_one(session, inbound, now, warn=warn)
        return done

    def _handle_isolated(self, session, inbound: Inbound, now, *, warn: bool) -> HandleResult | Exception:
        """One event in a savepoint of its own: its failure rolls back only its own writes."""
        try:
            with session.begin_nested():
                return self._handle_one(session, inbound, now, warn=warn)
        except OperationalError:
            raise                   # the connection or the lock is gone: the whole batch fails
        except Exception as exc:  # noqa: BLE001 - only this event's savepoint is rolled back
            return exc

    def _handle_one(self, session, inbound: Inbound, now, *, warn: bool) -> HandleResult:
        """One event inside the batch's transaction: the dedupe key first, then its effects."""
        result = HandleResult()
        if warn:
            self._enqueue_flood_warning(session, inbound, now)
            result.chats.add((str(inbound.channel), inbound.chat_id))
            return result
        if inbound.external_id and not claim_inbound(session, channel=str(inbound.channel),
                                                     external_id=inbound.external_id, now=now):
            log.info("duplicate inbound %s/%s ignored", inbound.channel, inbound.external_id)
            return HandleResult(duplicate=True)
        if office_flow.wants(session, inbound):
            office_flow.handle(self.services, session, inbound, now, result)
        else:
            self._citizen_turn(session, inbound, now, result)
        return result

    def _citizen_turn(self, session, inbound: Inbound, now, result: HandleResult) -> None:
        """A citizen's event: the conversation step, its replies and its outgoing messages."""
        settings = self.services.settings
        conversation = load_conversation(session, channel=str(inbound.channel), user_id=inbound.user_id,
                                         chat_id=inbound.chat_id, now=now)
        person = ensure_citizen(session, channel=str(inbound.channel), user_id=inbound.user_id,
                                chat_id=inbound.chat_id, now=now)
        # Messages held while the channel refused them (Zalo's 7-day window) go out first.
        if release_held(session, channel=str(inbound.channel), chat_id=inbound.chat_id, now=now):
            result.chats.add((str(inbound.channel), inbound.chat_id))
        turn = Turn(session=session, settings=settings, texts=self.services.texts, now=now, inbound=inbound,
                    conversation=conversation, citizen=person, services=self.services,
                    data=load_data(conversation))
        citizen_flow.handle_turn(turn)
        store_data(conversation, turn.data, now)
        conversation.chat_id = inbound.chat_id
        for reply in turn.merged_replies():
            enqueue_message(session, channel=str(inbound.channel), chat_id=inbound.chat_id,
                            payload=reply.to_json(), now=now)
            result.chats.add((str(inbound.channel), inbound.chat_id))
        for message in turn.outgoing:
            enqueue_message(session, channel=str(message.channel), chat_id=message.chat_id,
                            payload={**message.reply.to_json(), **message.extra}, now=now,
                            ticket_code=message.ticket_code)
            result.chats.add((str(message.channel), message.chat_id))
        result.ticket_codes = list(turn.tickets_created)

    def file_ticket(self, draft: Draft, *, channel: str, citizen_id: int | None = None,
                    in_transaction: Callable[[Session, CreatedTicket], None] | None = None) -> CreatedTicket:
        """A ticket from a door without a conversation (Open311, imports), created the way a chat creates
        one: routed with deadlines, PIN and audit event, the office's actionable card in the outbox, all
        in one transaction (with `in_transaction`'s own rows); after commit the sender is woken and the
        hot-spot scan nudged."""
        now = self.services.clock.now()
        result = HandleResult()
        with write_session(self.services.engine) as session:
            created = create_ticket(session, settings=self.services.settings, calendar=self.services.calendar,
                                    draft=draft, channel=channel, citizen_id=citizen_id, now=now)
            ctx = TicketContext(session=session, settings=self.services.settings, texts=self.services.texts, now=now)
            card = post_office_card(ctx, created.ticket)
            if card is not None:
                enqueue_message(session, channel=str(card.channel), chat_id=card.chat_id,
                                payload={**card.reply.to_json(), **card.extra}, now=now, ticket_code=card.ticket_code)
                result.chats.add((str(card.channel), card.chat_id))
            if in_transaction is not None:
                in_transaction(session, created)
            result.ticket_codes = [created.ticket.code]
        self._after(result, channel=channel)
        return created

    def _after(self, result: HandleResult, inbound: Inbound | None = None, *, channel: str = "") -> HandleResult:
        """After commit: log new tickets by code and wake the outbox sender."""
        for code in result.ticket_codes:
            log.info("ticket %s created via %s", code, inbound.channel if inbound else (channel or "office"))
        if result.chats and self.on_outbox:
            self.on_outbox()
        if result.ticket_codes and self.on_ticket:
            self.on_ticket()
        return result

    def _is_official(self, inbound: Inbound) -> bool:
        """Staff are never throttled; their ids are cached for a minute (the table is small)."""
        now = time.monotonic()
        if now - self._officials_loaded > OFFICIALS_TTL:
            with read_session(self.services.engine) as session:
                rows = active_official_accounts(session)
            self._officials = {(channel, user_id) for channel, user_id in rows}
            self._officials_loaded = now
        return (str(inbound.channel), inbound.user_id) in self._officials

    def _enqueue_flood_warning(self, session, inbound: Inbound, now) -> None:
        """One polite warning per window to a person sending too fast; their message is set aside."""
        log.warning("flood: %s user sends too fast; messages set aside for a minute", inbound.channel)
        reply = Reply(text=self.services.texts.render("citizen/flood_warning"))
        enqueue_message(session, channel=str(inbound.channel), chat_id=inbound.chat_id, payload=reply.to_json(),
                        now=now)

    def handle_failure(self, inbound: Inbound) -> None:
        """After an unexpected error: mark the event handled and apologise, so it is not retried forever."""
        now = self.services.clock.now()
        try:
            with write_session(self.services.engine) as session:
                if inbound.external_id:
                    session.merge(ProcessedInbound(channel=str(inbound.channel), external_id=inbound.external_id,
                                                   processed_at=now))
                if inbound.is_private:
                    reply = Reply(text=self.services.texts.render("citizen/internal_error"))
                    enqueue_message(session, channel=str(inbound.channel), chat_id=inbound.chat_id,
                                    payload=reply.to_json(), now=now)
        except IntegrityError:
            return
        if self.on_outbox:
            self.on_outbox()
