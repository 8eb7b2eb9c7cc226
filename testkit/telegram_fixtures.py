"""Pytest fixtures for the Telegram tests: a fake Bot API server, the real app on it, an HTTP client.
Loaded as a plugin by tests/conftest.py."""

from __future__ import annotations

import aiohttp
import pytest
from sqlmodel import Session, select
from bot.main.composition import TelegramBotApp, build_services
from bot.config.settings import load_settings
from storage.models import Ticket
from testkit.config import write_config
from testkit.fakes.telegram_api import (DEFAULT_TOKEN, FakeTelegramAPI)
from testkit.telegram_driver import TelegramCitizen


ROAD = "Đường bê tông vào thôn Mẫu 1 bị sụt lún, có ổ gà lớn, trời mưa xe máy đi rất nguy hiểm"
SECRET = "webhook-secret-for-tests"


@pytest.fixture
async def fake():
    async with FakeTelegramAPI() as api:
        yield api


@pytest.fixture
def tg_settings(tmp_path, database_url, fake):
    def mutate(raw):
        raw["telegram"].update(base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot",
                               webhook_url="https://danvan.test/telegram/webhook", per_chat_interval=0)
    env = {"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET}
    return load_settings(write_config(tmp_path, mutate), environ=env)


async def start_app(settings, engine, clock) -> TelegramBotApp:
    app = TelegramBotApp(settings, services=build_services(settings, clock=clock, engine=engine, migrate=False),
                         port=0)
    await app.start()
    return app


@pytest.fixture
async def app(tg_settings, engine, clock):
    running = await start_app(tg_settings, engine, clock)
    yield running
    await running.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def citizen(fake, http, app, user_id=5001) -> TelegramCitizen:
    url = f"http://127.0.0.1:{app.port}{app.settings.telegram.webhook_path}"
    return TelegramCitizen(fake, http, url, SECRET, app.services.engine, user_id)


def all_tickets(engine) -> list[Ticket]:
    with Session(engine) as session:
        return list(session.exec(select(Ticket)))


async def reach_contact_step(user: TelegramCitizen, *, type_label: str, description: str = ROAD) -> None:
    await user.say("/start")
    await user.tap("Đồng ý")
    await user.tap("Gửi phản ánh")
    await user.tap(type_label)
    await user.say(description)
    _, buttons = user.last_keyboard()
    await user.tap(buttons[0]["text"])
    await user.tap("Mẫu 1")
    await user.tap("Tiếp tục")
    await user.tap("Một mình")
