"""Leaders get the report draft in chat on schedule: queued once on the configured day, delivered
through the real outbox sender and python-telegram-bot to the fake Bot API as text + .docx."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from bot.main.composition import build_bot, build_services
from bot.core.clock import FixedClock
from bot.config.settings import load_settings
from bot.jobs.report_delivery import deliver_due_report
from notifications.outbox.sender import OutboxSender
from notifications.telegram.sender import TelegramSender
from storage.engine import read_session
from storage.models import OutboxMessage
from testkit.config import write_config
from testkit.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from testkit.petitions import seed_period

LEADER = "5001"


@pytest.fixture
async def fake():
    async with FakeTelegramAPI() as api:
        yield api


async def test_draft_goes_to_leaders_once_before_the_deadline(tmp_path, database_url, engine, fake):
    def mutate(raw):
        raw["telegram"].update(base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot", per_chat_interval=0)
        raw["reports"].update(leader_chat_ids=[LEADER], output_dir=str(tmp_path / "reports"))
    settings = load_settings(write_config(tmp_path, mutate), environ={"DATABASE_URL": database_url,
                                                                       "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN})
    clock = FixedClock(datetime(2026, 5, 20, 2, 0, tzinfo=timezone.utc))          # 20/5: not yet due
    services = build_services(settings, clock=clock, engine=engine, migrate=False)
    seed_period(services)
    assert deliver_due_report(services) is None
    services.clock = FixedClock(datetime(2026, 5, 21, 2, 0, tzinfo=timezone.utc))  # 10 days before 31/5
    path = deliver_due_report(services)
    assert path is not None and path.exists() and path.name == "bao-cao-6-thang-2026.docx"
    assert deliver_due_report(services) is None                                     # once per kind and year
    with read_session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == LEADER)).all()
    assert len(rows) == 1
    bot = build_bot(settings)
    await bot.initialize()
    try:
        sender = OutboxSender(engine, services.clock, {"telegram": TelegramSender(bot, per_chat_interval=0)})
        assert await sender.drain_once() >= 1
    finally:
        await bot.shutdown()
    sent = fake.sent_messages(int(LEADER))
    assert "Dự thảo báo cáo 6 tháng đầu năm 2026" in sent[0]["text"] and "31/05/2026" in sent[0]["text"]
    assert sent[1]["document"]["file_name"] == "bao-cao-6-thang-2026.docx"
