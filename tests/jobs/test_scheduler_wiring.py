"""APScheduler wiring: the scanner runs the due-jobs scan soon after start, in the commune's zone."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from sqlmodel import Session, select

from bot.main.composition import build_services
from bot.core.clock import FixedClock
from bot.config.settings import load_settings
from bot.main.scheduler import DueScanner
from storage.models import SentReminder
from testkit.config import write_config


async def test_scanner_fires_the_weekly_plan_after_start(tmp_path, database_url, engine):
    def mutate(raw):
        raw["schedule"].update(first_scan_delay_seconds=0, digest_dir=str(tmp_path / "d"))
    settings = load_settings(write_config(tmp_path, mutate), environ={"DATABASE_URL": database_url})
    clock = FixedClock(datetime(2026, 11, 30, 0, 10, tzinfo=timezone.utc))    # Monday 07:10 local
    services = build_services(settings, clock=clock, engine=engine, migrate=False)
    woken = asyncio.Event()
    scanner = DueScanner(services, on_outbox=woken.set)
    assert str(scanner.scheduler.timezone) == "Asia/Ho_Chi_Minh"
    scanner.start()
    try:
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        scanner.stop()
    with Session(engine) as session:
        kinds = {(r.kind, r.ref, r.period) for r in session.exec(select(SentReminder)).all()}
    assert ("weekly_plan", "KT", "2026-W49") in kinds
    assert ("digest", "leaders", "2026-W48") not in kinds        # 07:30 has not come yet


async def test_a_nudge_checks_hot_spots_at_once(tmp_path, database_url, engine):
    from storage.engine import write_session
    from testkit.data_factory import add_official, add_ticket

    settings = load_settings(write_config(tmp_path), environ={"DATABASE_URL": database_url})
    clock = FixedClock(datetime(2026, 11, 28, 16, 0, tzinfo=timezone.utc))    # Saturday 23:00 local
    services = build_services(settings, clock=clock, engine=engine, migrate=False)
    with write_session(engine) as session:
        add_official(session, role="leader", user_id="9301", now=clock.now())
        add_ticket(session, settings, services.calendar, now=clock.now(), cosigners=9,
                   description="Nhiều hộ dân phản đối trạm trộn bê tông gây bụi", category="moi_truong")
    woken = asyncio.Event()
    scanner = DueScanner(services, on_outbox=woken.set)     # first full scan only after 60 s
    scanner.start()
    try:
        await asyncio.to_thread(scanner.nudge)              # as the service does after an inbound event
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        scanner.stop()
    with Session(engine) as session:
        kinds = {r.kind for r in session.exec(select(SentReminder)).all()}
    assert kinds == {"hotspot_seen"}                         # only the urgent job ran
