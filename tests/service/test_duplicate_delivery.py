"""Issue 7, row 1: duplicated and out-of-order webhook delivery.

N distinct updates (Telegram update_id, and Zalo events with msg_id through the signed Zalo
webhook) are each delivered 3 times; the whole list is shuffled and sent 50 at once over real HTTP
to the running app (aiohttp server, core, outbox sender, python-telegram-bot's client and danvan's
Zalo client answering fakes on 127.0.0.1). The mix: citizens completing intakes (their first
copies in order, redeliveries any time later), citizens whose whole intake arrives scrambled
(stale answers allowed), and people sending one plain message.

Checked: every delivery answered 2xx; every update processed exactly once (a processed_inbound
row, a reply in its chat); no ticket twice, every ticket confirmed exactly once; every outbox row
sent exactly once (the fakes received as many messages per chat as the outbox holds).

    DANVAN_STRESS_UPDATES=10000 .venv/bin/python -m pytest -q -s tests/test_duplicate_delivery.py
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import re
import time

import aiohttp
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.main.composition import TelegramBotApp, build_services
from storage.models import InboundEvent, OutboxMessage, ProcessedInbound, Ticket
from testkit.fakes.telegram_api import FakeTelegramAPI
from testkit.fakes.zalo_api import APP_ID, OA_ID, FakeZalo, sign
from testkit.stress_scripts import (PLAIN_TEXTS, SUBMITTED_MARK, compact, deliveries, telegram_intake_script,
                                  telegram_text_update, zalo_intake_script, zalo_text_event)
from testkit.zalo_driver import TG_SECRET, zalo_settings

UPDATES = int(os.environ.get("DANVAN_STRESS_UPDATES", "300"))
COPIES = 3
CONCURRENCY = 50
SEED = int(os.environ.get("DANVAN_STRESS_SEED", "7"))


class Plan:
    """The distinct updates of every simulated person, and the shuffled deliveries."""

    def __init__(self, total: int, now_ms: int, rng: random.Random) -> None:
        self.tg: dict[int, list[tuple[int, str]]] = {}       # user -> [(update_id, text)]
        self.zalo: dict[str, list[tuple[str, str]]] = {}     # user -> [(msg_id, text)]
        self.intakes = {"telegram": 0, "zalo": 0}
        sequences: list[list[tuple]] = []
        ordered: list[bool] = []
        update_ids = iter(range(500_000_000, 600_000_000))
        budget, person = total, 0
        while budget > 0:
            person += 1
            kind = rng.random()
            if kind < 0.25:                       # Zalo: intake or one plain message
                user = f"84{7_000_000_000_000_000 + person}"
                texts = zalo_intake_script(person) if rng.random() < 0.5 else [rng.choice(PLAIN_TEXTS)]
                texts = texts[:budget]
                self.zalo[user] = [(f"m{person}-{i}-{rng.getrandbits(32):08x}", t) for i, t in enumerate(texts)]
                self.intakes["zalo"] += len(texts) > 1
                seq = [("zalo", user, msg_id, text) for msg_id, text in self.zalo[user]]
                scrambled = False
            else:                                 # Telegram: intake (in order or scrambled) or plain
                user = 1_000_000 + person
                texts = telegram_intake_script(person) if kind < 0.75 else [rng.choice(PLAIN_TEXTS)]
                texts = texts[:budget]
                self.tg[user] = [(next(update_ids), t) for t in texts]
                self.intakes["telegram"] += len(texts) > 1
                seq = [("telegram", user, uid, text) for uid, text in self.tg[user]]
                scrambled = len(texts) > 1 and rng.random() < 0.15
            budget -= len(seq)
            sequences.append(seq)
            ordered.append(not scrambled)
        self.deliveries = deliveries(sequences, copies=COPIES, rng=rng, keep_first_order=ordered)
        self.now_ms = now_ms

    def request(self, item: tuple) -> tuple[str, bytes, dict[str, str]]:
        """(path key, body, headers) for one delivery; a redelivery is byte-identical."""
        channel, user, ref, text = item
        if channel == "telegram":
            return "telegram", compact(telegram_text_update(ref, user, text)), {
                "X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
        body = compact(zalo_text_event(APP_ID, OA_ID, user, ref, text, self.now_ms))
        return "zalo", body, {"X-ZEvent-Signature": sign(body, str(self.now_ms)),
                              "Content-Type": "application/json"}


async def send_all(app: TelegramBotApp, plan: Plan) -> collections.Counter[int]:
    """Every delivery over real HTTP, CONCURRENCY at a time; returns the count of each status."""
    urls = {"telegram": f"http://127.0.0.1:{app.port}{app.settings.telegram.webhook_path}",
            "zalo": f"http://127.0.0.1:{app.port}{app.settings.zalo.webhook_path}"}
    statuses: collections.Counter[int] = collections.Counter()
    queue = iter(plan.deliveries)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http:
        async def worker() -> None:
            for item in queue:
                channel, body, headers = plan.request(item)
                async with http.post(urls[channel], data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses


async def settle(engine, *, timeout: float) -> float:
    """Wait until no stored event and no outbox row to a person is pending; returns the seconds waited.

    Office groups take 20 messages a minute (Telegram's limit, kept by the sender): their cards are
    checked for duplicates, but a backlog to them is limit-bound and not awaited.
    """
    def busy() -> int:
        with Session(engine) as session:
            events = session.exec(select(func.count()).select_from(InboundEvent)
                                  .where(InboundEvent.status == "pending")).one()
            chats = session.exec(select(OutboxMessage.chat_id).where(OutboxMessage.status == "pending")).all()
            return int(events) + sum(1 for chat in chats if not chat.startswith("-"))

    started = time.monotonic()
    while await asyncio.to_thread(busy):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not settled after {timeout:.0f}s")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


@pytest.fixture
async def fakes():
    async with FakeTelegramAPI() as telegram, FakeZalo() as zalo:
        yield telegram, zalo


@pytest.mark.slow
async def test_each_update_three_times_shuffled_50_at_once(tmp_path, database_url, engine, clock, fakes):
    telegram, zalo = fakes
    settings = zalo_settings(tmp_path, database_url, zalo, telegram.url)
    plan = Plan(UPDATES, int(clock.now().timestamp() * 1000), random.Random(SEED))
    app = TelegramBotApp(settings, services=build_services(settings, clock=clock, engine=engine, migrate=False),
                         port=0)
    await app.start()
    try:
        started = time.monotonic()
        statuses = await send_all(app, plan)
        sent_s = time.monotonic() - started
        print(f"\n{len(plan.deliveries)} deliveries sent in {sent_s:.1f}s; waiting for the outbox", flush=True)
        settle_s = await settle(engine, timeout=120 + UPDATES / 10)
    finally:
        await app.stop()

    with Session(engine) as session:
        processed = collections.Counter(session.exec(select(ProcessedInbound.channel)).all())
        events = collections.Counter(session.exec(select(InboundEvent.status)).all())
        tickets = list(session.exec(select(Ticket.code, Ticket.channel)).all())
        outbox = list(session.exec(select(OutboxMessage.channel, OutboxMessage.chat_id, OutboxMessage.status)))
    distinct_tg = sum(len(v) for v in plan.tg.values())
    distinct_zalo = sum(len(v) for v in plan.zalo.values())

    # Sent per chat, as the fakes received them; and what the outbox says it sent.
    received: collections.Counter[tuple[str, str]] = collections.Counter()
    confirmations: collections.Counter[str] = collections.Counter()
    for message in telegram.sent_messages():
        received[("telegram", str(message["chat"]["id"]))] += 1
        text = message.get("text") or ""
        if SUBMITTED_MARK in text:
            confirmations.update(re.findall(r"Mã hồ sơ: (\S+)", text))
    for message in zalo.messages():
        if message.template_type == "request_user_info":
            continue            # sent after the text of the same outbox row (contact step)
        received[("zalo", message.user_id)] += 1
        if SUBMITTED_MARK in message.text:
            confirmations.update(re.findall(r"Mã hồ sơ: (\S+)", message.text))
    in_outbox = collections.Counter((channel, chat) for channel, chat, _ in outbox)
    groups = {key for key in in_outbox if key[1].startswith("-")}
    not_sent = [row for row in outbox if row[2] != "sent" and (row[0], row[1]) not in groups]
    group_backlog = sum(1 for row in outbox if row[2] == "pending" and (row[0], row[1]) in groups)
    duplicate_sends = sum(max(0, n - in_outbox[key]) for key, n in received.items())
    missing_sends = sum(max(0, n - received[key]) for key, n in in_outbox.items() if key not in groups)
    # Every update gets at least one answer in its own chat.
    unanswered = [("telegram", u) for u, ups in plan.tg.items() if in_outbox[("telegram", str(u))] < len(ups)]
    unanswered += [("zalo", u) for u, ups in plan.zalo.items() if in_outbox[("zalo", u)] < len(ups)]
    codes = collections.Counter(code for code, _ in tickets)

    figures = {
        "distinct_updates": distinct_tg + distinct_zalo, "telegram": distinct_tg, "zalo": distinct_zalo,
        "deliveries": len(plan.deliveries), "statuses": dict(statuses), "send_s": round(sent_s, 1),
        "deliveries_per_s": round(len(plan.deliveries) / sent_s, 1), "settle_s": round(settle_s, 1),
        "processed": dict(processed), "zalo_events": dict(events), "intakes_scripted": plan.intakes,
        "tickets": len(tickets), "tickets_by_channel": dict(collections.Counter(c for _, c in tickets)),
        "confirmations": sum(confirmations.values()), "outbox_rows": len(outbox), "not_sent": len(not_sent),
        "group_cards_rows": sum(in_outbox[key] for key in groups), "group_backlog_limit_bound": group_backlog,
        "duplicate_sends": duplicate_sends, "missing_sends": missing_sends, "chats_unanswered": len(unanswered),
        "engine": engine.dialect.name,
    }
    print("\nduplicate-delivery figures:", figures)

    assert statuses == {200: len(plan.deliveries)}
    assert processed == {"telegram": distinct_tg, "zalo": distinct_zalo}            # 0 lost, each once
    assert events == {"done": distinct_zalo}                                        # one stored event per msg_id
    assert len(tickets) > 0 and max(codes.values()) == 1
    assert confirmations == codes                                                   # each ticket confirmed once
    assert not_sent == [] and duplicate_sends == 0 and missing_sends == 0           # 0 duplicate acknowledgements
    assert unanswered == []


def test_flood_guard_does_not_count_a_redelivery():
    """Three deliveries of each of 12 updates are 12 messages, not 36 (the limit is 30 a minute)."""
    from bot.service.flood import FloodGuard, Verdict

    guard = FloodGuard(per_minute=30, window=60)
    verdicts = [guard.check("telegram", "u1", now=100.0 + i / 100, event_id=str(i % 12)) for i in range(36)]
    assert set(verdicts) == {Verdict.OK}
    fresh = [guard.check("telegram", "u1", now=101.0, event_id=f"new{i}") for i in range(19)]
    assert fresh[:18] == [Verdict.OK] * 18 and fresh[18] is Verdict.WARN
