"""The Zalo webhook through the real aiohttp server and client: signatures, the console check, stale
events, at-least-once redelivery, and a crash between answering and processing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import Session, select

from bot.main.composition import build_services, build_web_app
from bot.config.settings import load_settings
from bot.service.transactions import Service
from handlers.zalo.webhook import ZaloWebhook, expected_signature, signature_valid
from storage.models import InboundEvent, OutboxMessage, ProcessedInbound
from testkit.config import write_config
from testkit.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET_KEY, post_event, sign, text_event


@pytest.fixture
def zalo_settings(tmp_path, database_url):
    env = {"DATABASE_URL": database_url, "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET,
           "ZALO_OA_SECRET_KEY": OA_SECRET_KEY}
    return load_settings(write_config(tmp_path), environ=env)


@pytest.fixture
def zalo_services(zalo_settings, engine, clock):
    return build_services(zalo_settings, clock=clock, engine=engine, migrate=False)


def make_webhook(services) -> ZaloWebhook:
    return ZaloWebhook(Service(services), services.engine, services.clock, services.settings.zalo)


@pytest.fixture
async def served(zalo_services):
    """The webhook on a real aiohttp server, with no worker running: events only get stored."""
    webhook = make_webhook(zalo_services)
    server = TestServer(build_web_app(zalo_services, telegram=None, zalo=webhook), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield webhook, http, str(server.make_url(zalo_services.settings.zalo.webhook_path))
    await server.close()


def now_ms(services) -> int:
    return int(services.clock.now().timestamp() * 1000)


def stored(engine) -> list[InboundEvent]:
    with Session(engine) as session:
        return list(session.exec(select(InboundEvent)))


def outbox(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage)))


def test_signature_is_plain_sha256_of_app_id_body_timestamp_secret():
    raw = b'{"a":"1"}'
    digest = hashlib.sha256(b"app" + raw + b"123" + b"key").hexdigest()
    assert expected_signature("app", raw, "123", "key") == digest
    assert signature_valid(f"mac={digest}", app_id="app", raw_body=raw, timestamp="123", oa_secret_key="key")
    assert signature_valid(digest.upper(), app_id="app", raw_body=raw, timestamp="123", oa_secret_key="key")
    assert not signature_valid(f"mac={digest}", app_id="app", raw_body=raw + b" ", timestamp="123",
                               oa_secret_key="key")
    assert not signature_valid("", app_id="app", raw_body=raw, timestamp="123", oa_secret_key="key")


async def test_only_a_correct_signature_is_accepted(served, zalo_services):
    webhook, http, url = served
    ts = now_ms(zalo_services)
    event = text_event("3001", "Xin chào", ts)
    compact = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    reserialised = json.dumps(event).encode()          # what a framework's JSON parser would give back
    hmac_sig = "mac=" + hmac.new(OA_SECRET_KEY.encode(), APP_ID.encode() + compact + str(ts).encode(),
                                 hashlib.sha256).hexdigest()
    other_app = text_event("3001", "Xin chào", ts, app_id="1111111111")
    other_raw = json.dumps(other_app, separators=(",", ":")).encode()
    cases = [
        ("wrong secret", await post_event(http, url, event, signature=sign(compact, str(ts), secret="nope"))),
        ("missing", await post_event(http, url, event, signature=None)),
        ("re-serialised", await post_event(http, url, event, raw=compact, signature=sign(reserialised, str(ts)))),
        ("hmac", await post_event(http, url, event, signature=hmac_sig)),
        ("other app", await post_event(http, url, other_app, raw=other_raw,
                                       signature=sign(other_raw, str(ts), app_id="1111111111"))),
        ("stale", await post_event(http, url, text_event("3001", "cũ", ts - 8 * 86400 * 1000))),
    ]
    assert [(name, status) for name, status in cases if status < 400] == []
    assert dict(cases)["other app"] == 403 and dict(cases)["missing"] == 401
    assert stored(zalo_services.engine) == []
    assert await post_event(http, url, event, raw=compact) == 200
    assert len(stored(zalo_services.engine)) == 1


async def test_console_check_and_receipts_are_acknowledged_without_effect(served, zalo_services):
    webhook, http, url = served
    async with http.post(url, data=b"{}") as response:
        assert response.status == 200
    ts = now_ms(zalo_services)
    echo = {"app_id": APP_ID, "event_name": "oa_send_text", "sender": {"id": "oa"}, "recipient": {"id": "3002"},
            "message": {"msg_id": "m-echo", "text": "hi"}, "timestamp": str(ts)}
    seen = {"app_id": APP_ID, "event_name": "user_seen_message", "sender": {"id": "oa"},
            "recipient": {"id": "3002"}, "message": {"msg_ids": ["a", "b"]}, "timestamp": str(ts)}
    assert await post_event(http, url, echo) == 200
    assert await post_event(http, url, seen) == 200
    async with http.post(url, data=b"not json", headers={"X-ZEvent-Signature": "mac=00"}) as response:
        assert response.status == 400
    assert stored(zalo_services.engine) == []


async def test_same_event_three_times_has_one_effect(served, zalo_services):
    webhook, http, url = served
    event = text_event("3003", "/start", now_ms(zalo_services))
    statuses = await asyncio.gather(*(post_event(http, url, event) for _ in range(3)))
    assert statuses == [200, 200, 200]
    assert len(stored(zalo_services.engine)) == 1
    assert await webhook.process_pending() == 1
    assert await post_event(http, url, event) == 200          # a redelivery hours later
    assert await webhook.process_pending() == 0
    replies = outbox(zalo_services.engine)
    assert len(replies) == 1 and "dữ liệu cá nhân" in replies[0].payload


async def test_crash_after_answering_loses_nothing_and_repeats_nothing(served, zalo_services):
    webhook, http, url = served
    event = text_event("3004", "/start", now_ms(zalo_services))
    assert await post_event(http, url, event) == 200
    # The process dies before its worker ran: a new process finds the event and handles it.
    restarted = make_webhook(zalo_services)
    assert await restarted.process_pending() == 1
    assert len(outbox(zalo_services.engine)) == 1
    # It dies again after the core committed but before the event was marked done: no second reply.
    with Session(zalo_services.engine) as session:
        row = session.exec(select(InboundEvent)).one()
        row.status = "pending"
        session.add(row)
        session.commit()
    assert await make_webhook(zalo_services).process_pending() == 1
    assert len(outbox(zalo_services.engine)) == 1
    with Session(zalo_services.engine) as session:
        assert session.exec(select(InboundEvent)).one().status == "done"
        assert len(session.exec(select(ProcessedInbound)).all()) == 1


async def test_ids_stay_strings_beyond_two_to_the_53(served, zalo_services):
    webhook, http, url = served
    big = "9007199254740993123"
    raw = ('{"app_id":"%s","sender":{"id":"%s"},"recipient":{"id":"1"},"event_name":"user_send_text",'
           '"message":{"msg_id":"x1","text":"/start"},"timestamp":"%d"}' % (APP_ID, big, now_ms(zalo_services))).encode()
    ts = json.loads(raw)["timestamp"]
    async with http.post(url, data=raw, headers={"X-ZEvent-Signature": sign(raw, ts)}) as response:
        assert response.status == 200
    await webhook.process_pending()
    [reply] = outbox(zalo_services.engine)
    assert reply.chat_id == big
