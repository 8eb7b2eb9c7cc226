"""OAuth v4 tokens against the fake Zalo: single-use refresh tokens under concurrency, across two
"processes" (two engines, two clients), refusal alerts, and the first authorisation with PKCE."""

from __future__ import annotations

import asyncio
import json
import threading
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import Session, select

from bot.main.composition import ZaloChannel, build_services
from bot.config.settings import load_settings
from bot.core.domain import Reply
from notifications.zalo.tokens import TokenUnavailable
from storage.engine import make_engine
from storage.models import OutboxMessage, ZaloToken
from testkit.config import OFFICE_CHATS, write_config
from testkit.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZalo


@pytest.fixture
async def zalo():
    async with FakeZalo(refresh_delay=0.2) as api:
        yield api


def settings_for(tmp_path, database_url, zalo, refresh_token=""):
    def mutate(raw):
        raw["zalo"].update(api_base_url=zalo.url, oauth_base_url=zalo.url,
                           redirect_uri="https://danvan.test/zalo/callback")
    env = {"DATABASE_URL": database_url, "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET,
           "ZALO_OA_SECRET_KEY": OA_SECRET_KEY, "ZALO_REFRESH_TOKEN": refresh_token}
    return load_settings(write_config(tmp_path, mutate), environ=env)


@pytest.fixture
async def channel(tmp_path, database_url, engine, clock, zalo):
    settings = settings_for(tmp_path, database_url, zalo, zalo.issue_refresh_token())
    parts = ZaloChannel(settings, build_services(settings, clock=clock, engine=engine, migrate=False))
    parts.tokens.seed()
    yield parts
    await parts.client.close()


def outbox(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage)))


async def test_twenty_senders_across_an_expiry_refresh_exactly_once(channel, zalo, clock):
    users = [str(5000 + i) for i in range(20)]
    await channel.sender.send(users[0], Reply(text="first"))          # the seeded refresh token → pair 1
    assert zalo.state.refresh_calls == 1
    zalo.expire_access_tokens()                                       # Zalo now answers -216
    await asyncio.gather(*(channel.sender.send(u, Reply(text=f"after expiry {u}")) for u in users))
    assert zalo.state.refresh_calls == 2 and zalo.state.invalid_refresh == 0
    clock.advance(hours=25)                                           # our own clock says: expired
    await asyncio.gather(*(channel.sender.send(u, Reply(text=f"next day {u}")) for u in users))
    assert zalo.state.refresh_calls == 3 and zalo.state.invalid_refresh == 0
    assert len(zalo.messages()) == 41


async def test_two_processes_share_one_refresh(tmp_path, database_url, engine, clock, zalo, channel):
    await channel.sender.send("6000", Reply(text="warm up"))
    other_engine = make_engine(database_url)                          # a second process: own pool, own client
    other_settings = channel.services.settings
    other = ZaloChannel(other_settings, build_services(other_settings, clock=clock, engine=other_engine,
                                                       migrate=False))
    try:
        clock.advance(hours=24, minutes=30)                           # inside the early-refresh margin
        calls = [channel.sender.send(str(6100 + i), Reply(text="a")) for i in range(10)]
        calls += [other.sender.send(str(6200 + i), Reply(text="b")) for i in range(10)]
        await asyncio.gather(*calls)
    finally:
        await other.client.close()
        other_engine.dispose()
    assert zalo.state.refresh_calls == 2 and zalo.state.invalid_refresh == 0
    assert len(zalo.messages()) == 21
    with Session(engine) as session:
        row = session.exec(select(ZaloToken)).one()
    assert row.generation == 2 and row.refresh_token in zalo.state.refresh_tokens and row.lease_owner == ""


async def test_refused_refresh_alerts_an_admin_once(tmp_path, database_url, engine, clock, zalo):
    settings = settings_for(tmp_path, database_url, zalo, "rt-stolen-or-used")
    parts = ZaloChannel(settings, build_services(settings, clock=clock, engine=engine, migrate=False))
    parts.tokens.seed()
    try:
        results = await asyncio.gather(*(parts.sender.send(str(7000 + i), Reply(text="x")) for i in range(5)),
                                       return_exceptions=True)
    finally:
        await parts.client.close()
    assert all(isinstance(r, TokenUnavailable) for r in results)
    assert zalo.state.refresh_calls == 1 and zalo.messages() == []
    [alert] = outbox(engine)
    assert alert.channel == "telegram" and alert.chat_id == OFFICE_CHATS["VP"]
    text = json.loads(alert.payload)["text"]
    assert "danvan zalo auth-url" in text and "rt-stolen" not in text and APP_SECRET not in text


def run_fake_in_thread() -> tuple[FakeZalo, asyncio.AbstractEventLoop, threading.Thread]:
    """The fake on its own loop, so the CLI's asyncio.run can talk to it from this thread."""
    loop = asyncio.new_event_loop()
    fake = FakeZalo()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.__aenter__())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(5)
    return fake, loop, thread


def test_cli_first_authorisation_with_pkce(tmp_path, database_url, engine, monkeypatch, capsys):
    from bot.main.cli import main

    fake, loop, thread = run_fake_in_thread()
    try:
        settings = settings_for(tmp_path, database_url, fake)
        config = tmp_path / "config.yaml"
        for name, value in {"DATABASE_URL": database_url, "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET,
                            "ZALO_OA_SECRET_KEY": OA_SECRET_KEY}.items():
            monkeypatch.setenv(name, value)
        assert settings.zalo.oauth_base_url == fake.url
        assert main(["--config", str(config), "zalo", "auth-url"]) == 0
        url = urlparse(capsys.readouterr().out.strip().splitlines()[-1])
        query = parse_qs(url.query)
        assert url.path == "/v4/oa/permission" and query["app_id"] == [APP_ID]
        assert query["redirect_uri"] == ["https://danvan.test/zalo/callback"] and query["state"][0]
        with Session(engine) as session:
            verifier = session.exec(select(ZaloToken)).one().pkce_verifier
        code = fake.issue_code(verifier)
        assert fake.state.codes[code] == query["code_challenge"][0]
        assert main(["--config", str(config), "zalo", "exchange", "wrong-code"]) == 1
        assert main(["--config", str(config), "zalo", "exchange", code]) == 0
        out = capsys.readouterr().out
        assert "authorised" in out and "at-" not in out
        with Session(engine) as session:
            row = session.exec(select(ZaloToken)).one()
        assert row.access_token in fake.state.access_tokens and row.pkce_verifier == ""
        assert row.refresh_token in fake.state.refresh_tokens
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


async def test_token_is_not_logged(channel, zalo, caplog):
    caplog.set_level("DEBUG")
    await channel.sender.send("6500", Reply(text="x"))
    with Session(channel.services.engine) as session:
        row = session.exec(select(ZaloToken)).one()
    assert row.access_token and row.access_token not in caplog.text and row.refresh_token not in caplog.text


async def test_environment_token_seeds_once_and_never_overwrites(tmp_path, database_url, engine, clock, zalo):
    first = zalo.issue_refresh_token()
    settings = settings_for(tmp_path, database_url, zalo, first)
    parts = ZaloChannel(settings, build_services(settings, clock=clock, engine=engine, migrate=False))
    try:
        parts.tokens.authorization_url()          # an admin started PKCE: the row exists, still no token
        parts.tokens.seed()
        await parts.tokens.access_token()
        parts.tokens.seed()                       # a restart with the same (now used) env token
        with Session(engine) as session:
            row = session.exec(select(ZaloToken)).one()
        assert row.refresh_token != first and row.refresh_token in zalo.state.refresh_tokens
        assert zalo.state.refresh_calls == 1 and zalo.state.invalid_refresh == 0
    finally:
        await parts.client.close()
