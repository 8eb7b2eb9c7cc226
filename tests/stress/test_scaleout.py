"""Scale-out (issue 7 row 6): two `danvan run` processes against one PostgreSQL database.

Two real OS processes (tests/scaleout_node.py: the real TelegramBotApp with webhook, outbox sender
and scheduler) share one PostgreSQL database and one fake Bot API, on an accelerated clock that
runs a simulated half hour (Tuesday 07:45-08:15, the 08:00 deadline reminders inside it) in about
half a minute. Meanwhile this test keeps adding numbered messages to the chats that also receive
the reminders, so both processes drain the same chats concurrently.

Expected reminders come from a reference run of the same scheduler jobs, in this process, on a
SQLite copy seeded identically. Checked: every expected reminder delivered exactly once, nothing
else, per-chat order equal to outbox order, rows claimed by both processes.

    DANVAN_TEST_DATABASE_URL=postgresql+psycopg://... pytest -q tests/test_scaleout.py -s
    DANVAN_SCALEOUT_FACTOR=60 (simulated seconds per real second), DANVAN_SCALEOUT_ROUNDS=20
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date, datetime, time as dtime, timedelta, timezone

import pytest
from sqlmodel import Session, col, select

from bot.main.composition import build_services
from bot.core.clock import FixedClock
from bot.config.settings import load_settings
from bot.core.domain import Reply
from bot.jobs.registry import run_due_jobs
from storage.engine import make_engine, write_session
from storage.migrate import upgrade_database
from storage.models import OutboxMessage, SentReminder
from storage.outbox import enqueue_message
from testkit.config import PG_URL, ROOT, write_config
from testkit.data_factory import add_official, add_ticket
from testkit.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI, parse_html
from testkit.scaleout_node import sim_seconds

pytestmark = pytest.mark.skipif(not PG_URL, reason="scale-out needs PostgreSQL: SQLite is one process by design "
                                                   "(set DANVAN_TEST_DATABASE_URL)")

SECRET = "scaleout-secret"
FACTOR = float(os.environ.get("DANVAN_SCALEOUT_FACTOR", "60"))
ROUNDS = int(os.environ.get("DANVAN_SCALEOUT_ROUNDS", "20"))
SIM_MINUTES = 30
START_LOCAL = datetime(2026, 12, 1, 7, 45)         # a Tuesday; reminders fire at 08:00
OFFICERS = [str(9200 + i) for i in range(12)]


def node_config(tmp_path, fake_url: str):
    def mutate(raw):
        raw["telegram"].update(base_url=f"{fake_url}/bot", base_file_url=f"{fake_url}/file/bot",
                               webhook_url="https://danvan.test/telegram/webhook", per_chat_interval=0)
        raw["schedule"].update(first_scan_delay_seconds=0, digest_dir=str(tmp_path / "digests"))
    return write_config(tmp_path, mutate)


def seed(engine, settings, calendar) -> None:
    """Officers with tickets received over three weeks: some deadlines reach their reminder stage at 08:00."""
    tz = settings.commune.tz
    with write_session(engine) as session:
        add_official(session, role="leader", user_id="9100", name="Chủ tịch", now=datetime(2026, 11, 1, tzinfo=timezone.utc))
        officers = [add_official(session, role="officer", user_id=u, office_code="KT", name=f"Cán bộ {i}",
                                 now=datetime(2026, 11, 1, tzinfo=timezone.utc)).id for i, u in enumerate(OFFICERS)]
    day = date(2026, 11, 9)
    n = 0
    while day <= date(2026, 11, 30):
        if calendar.is_working_day(day):
            received = datetime.combine(day, dtime(9, 30), tzinfo=tz).astimezone(timezone.utc)
            with write_session(engine) as session:
                for k in range(3):
                    add_ticket(session, settings, calendar, now=received + timedelta(minutes=k),
                               assignee_id=officers[n % len(officers)],
                               description=f"Đường thôn số {n} bị hỏng, ổ gà sâu, xe máy đi lại khó khăn")
                    n += 1
        day += timedelta(days=1)


def reference(tmp_path, settings) -> tuple[set, Counter]:
    """What one process alone writes over the same half hour: reminders and every outbox row."""
    engine = make_engine(f"sqlite:///{tmp_path / 'reference.sqlite3'}")
    try:
        upgrade_database(engine)
        clock = FixedClock(START_LOCAL.replace(tzinfo=settings.commune.tz))
        services = build_services(settings, clock=clock, engine=engine, migrate=False)
        seed(engine, settings, services.calendar)
        memory: dict = {}
        for minute in range(SIM_MINUTES + 1):
            now = START_LOCAL.replace(tzinfo=settings.commune.tz).astimezone(timezone.utc) + timedelta(minutes=minute)
            run_due_jobs(engine, now, settings=settings, texts=services.texts, calendar=services.calendar,
                         memory=memory)
        return snapshot(engine)
    finally:
        engine.dispose()


def snapshot(engine) -> tuple[set, Counter]:
    with Session(engine) as session:
        reminders = {(r.kind, r.ref, r.period) for r in session.exec(select(SentReminder))}
        rows = Counter((r.chat_id, json.loads(r.payload)["text"]) for r in session.exec(select(OutboxMessage))
                       if not json.loads(r.payload)["text"].startswith("seq "))
    return reminders, rows


def start_node(name: str, env: dict, log_path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "testkit.scaleout_node"], cwd=ROOT, text=True,
                            env={**os.environ, **env, "NODE_NAME": name},
                            stdout=subprocess.PIPE, stderr=open(log_path, "w"))


@pytest.mark.slow
async def test_two_processes_deliver_every_reminder_once_in_order(tmp_path, engine):
    started = time.perf_counter()
    async with FakeTelegramAPI() as fake:
        config = node_config(tmp_path, fake.url)
        settings = load_settings(config, environ={"DATABASE_URL": PG_URL}, dotenv=False)
        expected_reminders, expected_rows = await asyncio.to_thread(reference, tmp_path, settings)
        services = build_services(settings, clock=FixedClock(datetime(2026, 12, 1, tzinfo=timezone.utc)),
                                  engine=engine, migrate=False)
        await asyncio.to_thread(seed, engine, settings, services.calendar)
        assert any(k.startswith("remind_") for k, _r, _p in expected_reminders), "the window must hold reminders"

        sim_start = START_LOCAL.replace(tzinfo=settings.commune.tz).astimezone(timezone.utc)
        t0 = time.time() + 4.0            # both nodes are up before the simulated half hour begins
        env = {"DANVAN_CONFIG": str(config), "DATABASE_URL": PG_URL, "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
               "TELEGRAM_WEBHOOK_SECRET": SECRET, "SIM_START": sim_start.isoformat(), "SIM_T0": str(t0),
               "SIM_FACTOR": str(FACTOR), "SIM_SECONDS": str(SIM_MINUTES * 60), "SCAN_SECONDS": "0.5",
               "POLL_SECONDS": "0.2"}
        nodes = [start_node(n, env, tmp_path / f"node-{n}.log") for n in ("a", "b")]
        finals: dict[str, dict] = {}
        try:
            for node in nodes:
                line = await asyncio.wait_for(asyncio.to_thread(node.stdout.readline), 60)
                assert line, (tmp_path / "node-a.log").read_text()[-3000:]
            sim_now = lambda: sim_start + timedelta(  # noqa: E731
                seconds=sim_seconds(time.time(), t0, FACTOR, SIM_MINUTES * 60))
            sim_end = sim_start + timedelta(minutes=SIM_MINUTES)
            # Numbered messages to the officers' chats (which also get the reminders) and two groups.
            chats = OFFICERS + ["-1002", "-1001"]
            rounds_done = 0
            while sim_now() < sim_end or rounds_done < ROUNDS:      # the window, or longer on a slow day
                if rounds_done < ROUNDS:
                    def add_round(r: int = rounds_done) -> None:
                        with write_session(engine) as session:
                            for chat in chats:
                                enqueue_message(session, channel="telegram", chat_id=chat, now=sim_now(),
                                                payload=Reply(text=f"seq {chat} {r}").to_json())
                    await asyncio.to_thread(add_round)
                    rounds_done += 1
                await asyncio.sleep(SIM_MINUTES * 60 / FACTOR / max(ROUNDS, 1) / 1.5)
                assert all(n.poll() is None for n in nodes), "a node died"

            def pending() -> int:
                with Session(engine) as session:
                    return len(session.exec(select(OutboxMessage.id).where(OutboxMessage.status != "sent")).all())
            deadline = time.monotonic() + 60 + 3 * ROUNDS     # groups take 20 messages a minute
            while await asyncio.to_thread(pending):
                assert time.monotonic() < deadline, "the outbox did not drain"
                await asyncio.sleep(0.2)
        finally:
            for node in nodes:
                node.terminate()
            for name, node in zip(("a", "b"), nodes):
                out, _ = await asyncio.to_thread(node.communicate, timeout=30)
                lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
                finals[name] = lines[-1] if lines else {}

        reminders, rows = snapshot(engine)
        with Session(engine) as session:
            outbox = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()

    # The same reminders as one process alone would write: none missing, none twice, nothing else.
    assert reminders == expected_reminders
    assert rows == expected_rows
    assert all(r.status == "sent" for r in outbox)
    # Exactly once: per chat, Telegram received each outbox row once. In order: the numbered messages
    # (each round committed after the one before) arrive in their order. Rows of *concurrent*
    # transactions (a reminder and a numbered message) have no order to keep: PostgreSQL hands out
    # ids at insert, not at commit, so a later id may become visible first.
    by_chat: dict[str, list[str]] = defaultdict(list)
    for r in outbox:
        by_chat[r.chat_id].append(parse_html(json.loads(r.payload)["text"])[0])
    seq_total = 0
    for chat, texts in by_chat.items():
        delivered = [m["text"] for m in fake.sent_messages(int(chat)) if "text" in m]
        # A text over Telegram's 4,096 characters (the weekly plan of a busy office) goes out in parts.
        long = [t for t in texts if len(t) > 4000]
        parts = [d for d in delivered if any(d.strip() in t for t in long) and not d.startswith("seq ")]
        whole = [d for d in delivered if d not in parts]
        assert Counter(whole) == Counter(t for t in texts if t not in long), chat
        assert len(set(whole)) == len(whole), chat
        assert sum(len("".join(p.split())) for p in parts) == sum(len("".join(t.split())) for t in long), chat
        numbered = [int(t.split()[2]) for t in delivered if t.startswith("seq ")]
        assert numbered == sorted(numbered), chat
        seq_total += len(numbered)
    assert rounds_done == ROUNDS and seq_total == ROUNDS * len(chats)
    # Both processes did work; only one ran the periodic scans at a time (the leader lock).
    per_owner = Counter(r.claimed_by.split(":")[0] for r in outbox)
    assert per_owner["a"] > 0 and per_owner["b"] > 0, per_owner
    scans = {n: f.get("scans", 0) for n, f in finals.items()}
    reminder_rows = sum(c for (chat, text), c in expected_rows.items())
    print(f"\nscale-out: {len(outbox)} outbox rows ({reminder_rows} written by the scheduler: reminders, plans, digest, hot spots; "
          f"{seq_total} numbered), reminders expected {len(expected_reminders)} = written {len(reminders)}; "
          f"duplicates 0, missing 0; sent by node a {per_owner['a']}, node b {per_owner['b']}; "
          f"leader scans {scans}; {time.perf_counter() - started:.1f} s")
