"""Group commit (bot.service.group_commit, Service.handle_batch): concurrent events share one transaction,
a savepoint each. What must hold: a chat's events keep their order and see each other's effects,
one failing event loses none of the others, and a webhook answers 200 only after the commit.

The failing event is a real database failure: a trigger refuses its inbound key.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot.core.domain import Channel, Inbound
from bot.service.group_commit import GroupCommit
from bot.service.transactions import HandleResult, Service
from storage.engine import read_session
from storage.models import ProcessedInbound, Ticket
from testkit.stress_scripts import telegram_intake_script, telegram_text_update
from testkit.telegram_fixtures import SECRET
from testkit.fakes.telegram_api import post_update

POISON = "666"          # inbound ids starting with this are refused by the database


@pytest.fixture
def poison(engine):
    """A trigger that makes inserting a poisoned inbound key fail (as a constraint violation)."""
    if engine.dialect.name == "sqlite":
        create = ["CREATE TRIGGER poison_inbound BEFORE INSERT ON processed_inbound "
                  f"WHEN NEW.external_id LIKE '{POISON}%' BEGIN SELECT RAISE(ABORT, 'poisoned event'); END"]
        drop = ["DROP TRIGGER IF EXISTS poison_inbound"]
    else:
        create = ["CREATE FUNCTION poison_inbound() RETURNS trigger AS $$ BEGIN "
                  f"IF NEW.external_id LIKE '{POISON}%' THEN "
                  "RAISE EXCEPTION 'poisoned event' USING ERRCODE = 'unique_violation'; END IF; "
                  "RETURN NEW; END $$ LANGUAGE plpgsql",
                  "CREATE TRIGGER poison_inbound BEFORE INSERT ON processed_inbound "
                  "FOR EACH ROW EXECUTE FUNCTION poison_inbound()"]
        drop = ["DROP TRIGGER IF EXISTS poison_inbound ON processed_inbound",
                "DROP FUNCTION IF EXISTS poison_inbound()"]
    with engine.begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    yield
    with engine.begin() as conn:
        for statement in drop:
            conn.execute(text(statement))


def inbound(user_id: int, external_id: str, text_: str) -> Inbound:
    return Inbound(channel=Channel.TELEGRAM, user_id=str(user_id), chat_id=str(user_id), external_id=external_id,
                   text=text_, is_private=True)


def processed_ids(engine) -> set[str]:
    with read_session(engine) as session:
        return set(session.exec(select(ProcessedInbound.external_id)).all())


def test_one_batch_keeps_each_chats_order_and_survives_a_failing_event(service: Service, engine, poison):
    """Two citizens' complete intakes interleaved in ONE batch, with a poisoned event and a
    redelivery among them: both intakes file their ticket (each step saw the one before it),
    the poisoned event alone is rolled back, the redelivery is a duplicate."""
    first, second = telegram_intake_script(0), telegram_intake_script(1)
    assert len(first) == len(second)
    items: list[tuple[Inbound, None]] = []
    for step, (a, b) in enumerate(zip(first, second)):
        items.append((inbound(7001, f"a{step}", a), None))
        items.append((inbound(7002, f"b{step}", b), None))
        if step == 3:
            items.append((inbound(7003, f"{POISON}1", "/start"), None))
            items.append((inbound(7001, "a0", first[0]), None))        # a redelivery within the batch

    outcomes = service.handle_batch(items)

    assert len(outcomes) == len(items)
    by_id = {item.external_id: outcome for (item, _), outcome in zip(items, outcomes)}
    assert isinstance(by_id[f"{POISON}1"], Exception)
    redelivery = outcomes[[i for i, (item, _) in enumerate(items) if item.external_id == "a0"][1]]
    assert isinstance(redelivery, HandleResult) and redelivery.duplicate
    last = len(first) - 1
    filed = [code for key in (f"a{last - 1}", f"b{last - 1}", f"a{last}", f"b{last}")
             for code in by_id[key].ticket_codes]
    assert len(filed) == 2, "each interleaved intake files exactly one ticket"
    with Session(engine) as session:
        assert len(session.exec(select(Ticket)).all()) == 2
    expected = {f"a{s}" for s in range(len(first))} | {f"b{s}" for s in range(len(second))}
    assert processed_ids(engine) == expected        # the poisoned key is not there, every other one is


@contextlib.contextmanager
def writes_blocked(engine, database_url: str):
    """Hold off every writer from outside the app (SQLite's write lock; a table lock on PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    else:
        with engine.connect() as conn:
            conn.execute(text("LOCK TABLE processed_inbound IN EXCLUSIVE MODE"))
            try:
                yield
            finally:
                conn.rollback()


async def test_webhook_answers_only_after_the_shared_commit(app, http, engine, database_url, poison):  # noqa: F811
    """Twelve citizens post at once while the database refuses writes: nobody gets an answer; when
    it accepts them, all get 200 (the poisoned one too: apologised), in far fewer transactions than
    events, and every answered event but the poisoned one is committed."""
    url = f"http://127.0.0.1:{app.port}{app.settings.telegram.webhook_path}"
    updates = [telegram_text_update(8_000_000 + n, 9100 + n, "/start") for n in range(11)]
    updates.append(telegram_text_update(int(POISON + "0001"), 9199, "/start"))
    batches_before = app.service.writer.batches
    with writes_blocked(engine, database_url):
        posts = [asyncio.create_task(post_update(http, url, u, secret=SECRET)) for u in updates]
        done, _ = await asyncio.wait(posts, timeout=1.0)
        assert not done, "a webhook answered before its event could be committed"
        assert processed_ids(engine) == set()
    statuses = await asyncio.gather(*posts)
    assert statuses == [200] * len(updates)
    assert processed_ids(engine) == {str(u["update_id"]) for u in updates[:-1]}
    assert app.service.writer.batches - batches_before <= 4, "concurrent events were not committed together"
    assert threading.active_count() < 50


async def test_writer_keeps_order_skips_callers_who_gave_up_and_idles_out():
    """The queue itself: items that wait during a batch form the next one, in submission order; a
    caller cancelled before its turn is not handled (it was never answered); the thread ends when idle."""
    handled: list[list[int]] = []
    started = threading.Event()

    def handle(items):
        started.set()
        handled.append(list(items))
        time.sleep(0.2)
        return [RuntimeError("odd") if i % 2 else i * 10 for i in items]

    writer = GroupCommit(handle, idle_seconds=0.3)
    first = asyncio.ensure_future(writer.run(0))
    await asyncio.to_thread(started.wait)
    later = [asyncio.ensure_future(writer.run(i)) for i in range(1, 7)]
    await asyncio.sleep(0.01)
    later[2].cancel()                                   # item 3 gives up while batch [0] runs
    assert await first == 0
    results = await asyncio.gather(*later, return_exceptions=True)
    assert handled == [[0], [1, 2, 4, 5, 6]]
    assert [r if not isinstance(r, BaseException) else type(r).__name__ for r in results] == \
        ["RuntimeError", 20, "CancelledError", 40, "RuntimeError", 60]
    await asyncio.sleep(0.6)
    assert writer._thread is None
    assert await writer.run(8) == 80                    # and a new writer starts on demand
