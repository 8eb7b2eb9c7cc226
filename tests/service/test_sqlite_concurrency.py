"""200 concurrent writers on SQLite: WAL + busy timeout + BEGIN IMMEDIATE give 0 "database is locked"
errors; without those settings the same workload fails (so this test can fail)."""

from __future__ import annotations

import asyncio
import collections
import threading

import aiohttp
import pytest
from sqlalchemy.pool import NullPool
from sqlmodel import Session, func, select

from bot.main.composition import TelegramBotApp, build_services
from bot.config.settings import load_settings
from bot.core.domain import Channel, Inbound
from bot.service.transactions import Service
from storage.engine import make_engine
from storage.models import ProcessedInbound
from testkit.config import PG_URL, write_config
from testkit.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI, post_update, text_update

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite-specific: PostgreSQL has row locks")
WRITERS = 200
TEXT = "Đường thôn Mẫu 1 bị sạt lở nặng, xe máy không đi được"


def hammer(service: Service) -> collections.Counter[str]:
    """WRITERS threads, each with its own connection, all released at once."""
    errors: collections.Counter[str] = collections.Counter()
    barrier = threading.Barrier(WRITERS)

    def work(i: int) -> None:
        barrier.wait()
        try:
            service.handle_inbound(Inbound(channel=Channel.TELEGRAM, user_id=str(i), chat_id=str(i),
                                           external_id=f"w{i}", text=TEXT))
        except Exception as exc:  # noqa: BLE001 - counted and asserted on
            errors[str(exc).splitlines()[0][:80]] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.slow
@pytest.mark.parametrize("tuned", [True, False], ids=["wal-immediate", "untuned"])
def test_200_concurrent_writers(settings, engine, clock, tuned):
    writer_engine = make_engine(settings.database_url, sqlite_tuning=tuned, poolclass=NullPool)
    service = Service(build_services(settings, clock=clock, engine=writer_engine, migrate=False))
    errors = hammer(service)
    with Session(engine) as session:
        done = session.exec(select(func.count()).select_from(ProcessedInbound)).one()
    if tuned:
        assert errors == {} and done == WRITERS
    else:
        # Without the settings SQLite refuses concurrent writers: the reason the settings exist.
        assert any("database is locked" in e for e in errors), errors


@pytest.mark.slow
async def test_200_concurrent_webhooks_answer_2xx(tmp_path, database_url, engine, clock):
    async with FakeTelegramAPI() as fake:
        def mutate(raw):
            raw["telegram"].update(base_url=f"{fake.url}/bot", webhook_url="https://danvan.test/telegram/webhook",
                                   per_chat_interval=0)
        settings = load_settings(write_config(tmp_path, mutate), environ={
            "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": "s"})
        app = TelegramBotApp(settings, services=build_services(settings, clock=clock, engine=engine, migrate=False),
                             port=0)
        await app.start()
        try:
            url = f"http://127.0.0.1:{app.port}/telegram/webhook"
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                statuses = await asyncio.gather(*(post_update(http, url, text_update(70_000 + i, TEXT), secret="s")
                                                  for i in range(WRITERS)))
        finally:
            await app.stop()
    assert collections.Counter(statuses) == {200: WRITERS}
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ProcessedInbound)).one() == WRITERS
