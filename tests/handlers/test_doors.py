"""Issue 14: the public doors, probed again finding by finding through real HTTP on 127.0.0.1 (the
web chat, /tra-cuu, Open311, /metrics) on a real database. Each test names the finding it closes."""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from aiohttp import ClientSession
from PIL import Image
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlmodel import select
from yarl import URL

from bot.core.attempts import AttemptLimiter
from bot.core.domain import Channel, Inbound
from bot.core.pins import hash_pin, reset_pepper
from bot.interop.api_keys import create_api_key
from bot.interop.public_stats import mask_personal
from bot.jobs.housekeeping import run_housekeeping
from bot.main.cli import check_secrets
from bot.service.transactions import Service
from bot.tickets.records import Draft, create_ticket
from storage.engine import make_engine, read_session, write_session
from storage.models import ChannelIdentity, OutboxMessage, Ticket, TicketAttachment
from testkit.drivers import CoreChat
from testkit.intake_steps import intake_until_contact
from testkit.web_driver import WebChatClient, serve_web, with_doors

LOCKED = "tạm khóa"


def new_ticket(services, *, citizen_id=None, latitude=None, longitude=None):
    draft = Draft(type="phan_anh", description="Đèn đường trước nhà văn hóa thôn bị hỏng đã hai tuần nay",
                  category="ha_tang", hamlet=services.settings.hamlets[0], contact_mode="anonymous",
                  location=[latitude, longitude] if latitude is not None else None)
    with write_session(services.engine) as session:
        created = create_ticket(session, settings=services.settings, calendar=services.calendar, draft=draft,
                                channel="telegram", citizen_id=citizen_id, now=services.clock.now())
    return created.ticket, created.pin


async def fresh_chat(http: ClientSession, base: str) -> WebChatClient:
    """A stranger with a brand-new cookie."""
    http.cookie_jar.clear()
    chat = WebChatClient(http, base)
    await chat.open()
    return chat


async def file_petition(chat: WebChatClient, *, photo: bytes | None = None) -> str:
    """A whole web-chat petition (the steps of test_web); the bot's last answer."""
    assert await chat.post(text="/start") == 200
    await chat.pull()
    await chat.press("Đồng ý")
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("Cống thoát nước đầu thôn bị tắc, nước tràn ra đường mỗi khi mưa to")
    await chat.press(chat.first_button())
    await chat.press("Mẫu 1")
    if photo is not None:
        assert await chat.upload(photo) == 200
        await chat.pull()
    await chat.press("Tiếp tục")
    await chat.press("Một mình")
    await chat.press("Không để lại")
    return await chat.press("Gửi đơn")


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (8, 8), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (21.0, 48.0, 12.0), 3: "E", 4: (105.0, 12.0, 30.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def telegram(service: Service, user: str, text: str, n: int) -> None:
    service.handle_inbound(Inbound(channel=Channel.TELEGRAM, user_id=user, chat_id=user,
                                   external_id=f"{user}:{n}", text=text))


def telegram_texts(services, chat_id: str) -> str:
    with read_session(services.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "telegram",
                                                        OutboxMessage.chat_id == chat_id)).all()
    return "\n".join(json.loads(r.payload)["text"] for r in rows)


# --- 1. PIN guessing: one limiter per code across cookies, channels and doors ------------------

async def test_1_pin_guesses_count_per_code_across_cookies_and_doors(services, service):
    telegram(service, "holder", "/start", 1)
    telegram(service, "holder", "1", 2)                                   # consent
    with read_session(services.engine) as session:
        identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.user_id == "holder")).one()
    holder_ticket, pin = new_ticket(services, citizen_id=identity.citizen_id)
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    async with serve_web(services) as (http, base):
        for _ in range(services.settings.doors.secret_failures):        # a new cookie for every guess
            chat = await fresh_chat(http, base)
            assert LOCKED not in await chat.say(f"/tracuu {holder_ticket.code} {wrong}")
        chat = await fresh_chat(http, base)
        answer = await chat.say(f"/tracuu {holder_ticket.code} {pin}")   # the right PIN, a stranger's chat
        assert LOCKED in answer and "Tình trạng" not in answer
        csrf = (await fresh_chat(http, base)).csrf
        async with http.post(base + "/tra-cuu", data={"csrf": csrf, "code": holder_ticket.code, "pin": pin}) as r:
            assert r.status == 429                                        # the same lock on /tra-cuu
    telegram(service, "holder", f"/tracuu {holder_ticket.code}", 3)      # the holder's own chat still works
    last = telegram_texts(services, "holder").split("Hồ sơ ")[-1]
    assert last.startswith(holder_ticket.code) and "Tình trạng" in last and LOCKED not in last


def test_1_lockouts_back_off_and_a_client_is_limited_across_codes(services):
    limiter = AttemptLimiter.from_settings(services.settings.doors)
    now = services.clock.now()
    lengths = []
    with write_session(services.engine) as session:
        for _ in range(3):
            for n in range(limiter.subject_failures):
                gate = limiter.failed(session, scope="pin", subject="XG-2026-000001", client=f"198.51.100.{n}",
                                      now=now)
            lengths.append(gate.until - now)
            assert limiter.check(session, scope="pin", subject="XG-2026-000001", client="x", now=now).locked
            assert not limiter.check(session, scope="pin", subject="XG-2026-000001", client="x", now=now,
                                     holder=True).locked
            now = gate.until + timedelta(seconds=1)
        assert lengths == [timedelta(minutes=15), timedelta(minutes=30), timedelta(minutes=60)]
        for n in range(limiter.client_failures):                         # one address, many codes
            limiter.failed(session, scope="pin", subject=f"XG-2026-{n + 10:06d}", client="203.0.113.9", now=now)
        assert limiter.check(session, scope="pin", subject="XG-2026-000099", client="203.0.113.9", now=now).locked


# --- 2. web sessions: server-issued, PIN shown once, erasable ---------------------------------

async def test_2_a_client_chosen_session_id_is_never_adopted(services):
    async with serve_web(services) as (http, base):
        chosen = "attacker-chosen-session-id-0001"
        http.cookie_jar.update_cookies({"dv_sid": chosen}, URL(base))
        async with http.get(base + "/chat") as response:
            assert response.status == 200
            issued = response.cookies["dv_sid"].value
            max_age = int(response.cookies["dv_sid"]["max-age"])
        assert issued != chosen and max_age <= services.settings.doors.session_hours * 3600


async def test_2_pin_shown_once_end_session_and_xoadulieu_erase_the_transcript(services):
    async with serve_web(services) as (http, base):
        chat = await fresh_chat(http, base)
        done = await file_petition(chat)
        pin = done.split("Mã PIN:")[1].split()[0]
        assert pin.isdigit()
        chat.after, again = 0, ""
        while batch := await chat.pull():                              # a reload of the page: all of it
            again += chat.plain(batch) + "\n"
        assert "Mã PIN:" in again and pin not in again
        sid = http.cookie_jar.filter_cookies(URL(base))["dv_sid"].value
        async with http.post(base + "/chat/ket-thuc", data={"csrf": chat.csrf}, allow_redirects=False) as r:
            assert r.status == 303
        http.cookie_jar.update_cookies({"dv_sid": sid}, URL(base))      # the old cookie, kept by someone
        chat.after = 0
        assert await chat.pull() == []                                  # nothing left to serve
        # /xoadulieu in another chat: its transcript and queued rows lose their text
        other = await fresh_chat(http, base)
        await other.say("/start")
        await other.press("Đồng ý")
        await other.say("/xoadulieu")
        await other.press("Xác nhận xóa")
    with read_session(services.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "web")).all()
    kept = [json.loads(r.payload)["text"] for r in rows if r.status != "erased"]
    assert len(kept) <= 2 and all(pin not in text for text in kept)     # only what was said after the erasure


def test_2_xoadulieu_erases_the_chat_and_the_phone_in_every_outbox_row(service, services):
    chat = CoreChat(service)
    intake_until_contact(chat, type_label="Phản ánh")
    chat.press("Nhập họ tên")
    chat.send("Vũ Thị Hoa 0933444555")
    chat.press("Bỏ qua địa chỉ")
    chat.press("Gửi đơn")
    with read_session(services.engine) as session:
        before = [json.loads(r.payload)["text"] for r in session.exec(select(OutboxMessage))]
    assert any("0933444555" in text for text in before)                 # the office card and the summary
    chat.send("/xoadulieu")
    chat.press("Xác nhận xóa")
    with read_session(services.engine) as session:
        after = [json.loads(r.payload)["text"] for r in session.exec(select(OutboxMessage))]
    assert not any("0933444555" in text or "Vũ Thị Hoa" in text for text in after)


# --- 3. uploads: metadata stripped, orphans removed, quotas, storage ceiling -------------------

async def test_3_web_photos_lose_exif_and_gps(services):
    async with serve_web(services) as (http, base):
        chat = await fresh_chat(http, base)
        assert await chat.upload(jpeg_with_gps(), name="anh.jpg") == 200
    [stored] = list((Path(services.settings.storage.attachments_dir) / "web").iterdir())
    data = stored.read_bytes()
    assert b"Exif" not in data and b"PhoneMaker" not in data
    with Image.open(stored) as image:
        assert not image.getexif()


async def test_3_orphan_uploads_are_removed_attached_ones_kept(services):
    folder = Path(services.settings.storage.attachments_dir) / "web"
    async with serve_web(services) as (http, base):
        await (await fresh_chat(http, base)).upload(jpeg_with_gps(), name="a.jpg")       # never sent
        await file_petition(await fresh_chat(http, base), photo=jpeg_with_gps())
    files = sorted(folder.iterdir())
    assert len(files) == 2
    run_housekeeping(services, {})
    assert len(list(folder.iterdir())) == 2                            # not yet: younger than the orphan time
    services.clock.advance(hours=25)
    run_housekeeping(services, {})
    with read_session(services.engine) as session:
        [attached] = session.exec(select(TicketAttachment)).all()
    assert [p.name for p in folder.iterdir()] == [attached.ref.removeprefix("web:")]


async def test_3_upload_quota_per_session_and_storage_ceiling(services):
    async with serve_web(with_doors(services, uploads_per_session_per_day=2)) as (http, base):
        chat = await fresh_chat(http, base)
        assert [await chat.upload(jpeg_with_gps(), name="a.jpg") for _ in range(3)] == [200, 200, 429]
    async with serve_web(with_doors(services, storage_ceiling_bytes=1)) as (http, base):
        chat = await fresh_chat(http, base)
        form_status = await chat.upload(jpeg_with_gps(), name="a.jpg")
        async with http.post(base + "/chat/api/upload", headers={"X-CSRF-Token": chat.csrf}) as r:
            body = await r.json()
    assert form_status == 503 and "ảnh" in body["message"]


# --- 4. per-address throttles, whatever the cookie; X-Forwarded-For only from proxies ----------

async def test_4_messages_are_throttled_per_address_across_cookies(services):
    async with serve_web(with_doors(services, messages_per_address_per_hour=3)) as (http, base):
        statuses, message = [], ""
        for n in range(4):
            chat = await fresh_chat(http, base)
            async with http.post(base + "/chat/api/send", json={"text": "/start", "client_id": f"client{n:04d}"},
                                 headers={"X-CSRF-Token": chat.csrf, "X-Forwarded-For": f"198.51.100.{n}"}) as r:
                statuses.append(r.status)
                if r.status == 429:
                    message = (await r.json())["message"]
    assert statuses == [200, 200, 200, 429] and "địa chỉ mạng" in message


async def test_4_petitions_are_capped_per_address(services):
    async with serve_web(with_doors(services, petitions_per_address_per_hour=1)) as (http, base):
        first = await file_petition(await fresh_chat(http, base))
        second = await file_petition(await fresh_chat(http, base))
    with read_session(services.engine) as session:
        tickets = session.exec(select(Ticket)).all()
    assert "Mã PIN" in first and "địa chỉ mạng" in second and len(tickets) == 1


# --- 5. validation at every door: 4xx with a Vietnamese message, never 500 --------------------

BAD_BODIES = ["[1, 2]", '"text"', "null", "{", '{"client_id": "abcdefgh12", "text": ["x"]}',
              '{"client_id": "abcdefgh12", "location": {"latitude": Infinity, "longitude": 1}}',
              '{"client_id": "abcdefgh12", "location": {"latitude": 999, "longitude": 999}}',
              '{"client_id": "abcdefgh12", "location": {"latitude": NaN, "longitude": 1}}',
              '{"client_id": 12345678901, "text": "x"}', '{"client_id": "abcdefgh12\\n", "text": "x"}']


async def test_5_bad_bodies_and_queries_are_4xx_with_a_message(services, api_key_plain):
    async with serve_web(services) as (http, base):
        chat = await fresh_chat(http, base)
        for body in BAD_BODIES:
            async with http.post(base + "/chat/api/send", data=body, headers={"X-CSRF-Token": chat.csrf,
                                                                            "Content-Type": "application/json"}) as r:
                assert r.status == 400, body
                assert (await r.json())["message"]
        for path in ("/tra-cuu", "/chat/ket-thuc"):                      # a non-ASCII CSRF token
            async with http.post(base + path, data={"csrf": "tôi-là-token", "code": "XG-2026-1", "pin": "123456"}) as r:
                assert r.status == 403, path
        for after in ("9" * 5000, str(2 ** 70), "-1", "١٢"):
            async with http.get(base + "/chat/api/messages", params={"after": after},
                                headers={"X-CSRF-Token": chat.csrf}) as r:
                assert r.status == 400, after
        async with http.post(base + "/open311/v2/requests.json",
                             data={"api_key": api_key_plain, "service_code": "ha_tang", "attribute[hamlet]": "9" * 5000,
                                   "description": "Đèn đường trước nhà văn hóa thôn bị hỏng"}) as r:
            assert r.status in (200, 400)
        async with http.get(base + "/open311/v2/requests.json", params={"start_date": "0001-01-01T00:00:00+23:00"}) as r:
            assert r.status == 400
    with read_session(services.engine) as session:
        assert all(t.latitude is None for t in session.exec(select(Ticket)))


async def test_5_open311_json_is_strict_even_with_a_stored_infinity(services):
    new_ticket(services, latitude=float("inf"), longitude=105.5)
    async with serve_web(services) as (http, base):
        async with http.get(base + "/open311/v2/requests.json") as r:
            assert r.status == 200
            text = await r.text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))


@pytest.fixture
def api_key_plain(services) -> str:
    with write_session(services.engine) as session:
        _, plain = create_api_key(session, name="Cổng tỉnh", now=services.clock.now())
    return plain


# --- 6. a transient database error: 503, the message left unprocessed, its retry handled -------

class DatabaseLocked:
    """Another client holding the tables the doors write, longer than the app is willing to wait:
    SQLite — a writer holding the file (busy timeout 200 ms); PostgreSQL — table locks (lock_timeout 200 ms)."""

    def __init__(self, database_url: str) -> None:
        self.url = make_url(database_url)

    def engine(self):  # noqa: ANN201
        quick = make_engine(self.url.render_as_string(hide_password=False))
        sqlite = self.url.get_backend_name() == "sqlite"

        @event.listens_for(quick, "connect")
        def impatient(dbapi_connection, _record):  # noqa: ANN001 - DB-API connection
            if sqlite:
                dbapi_connection.execute("PRAGMA busy_timeout=200")
            else:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '200ms'")
                dbapi_connection.commit()

        return quick

    def __enter__(self) -> "DatabaseLocked":
        if self.url.get_backend_name() == "sqlite":
            self.holder = sqlite3.connect(self.url.database, timeout=5)
            self.holder.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            self.holder = psycopg.connect(self.url.set(drivername="postgresql").render_as_string(hide_password=False))
            self.holder.execute("LOCK TABLE door_counters, api_keys, processed_inbound IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.holder.rollback()
        self.holder.close()


async def test_6_a_locked_database_is_503_and_the_retry_is_handled(services, database_url, api_key_plain):
    lock = DatabaseLocked(database_url)
    quick = lock.engine()
    impatient = replace(services, engine=quick)
    async with serve_web(impatient) as (http, base):
        chat = await fresh_chat(http, base)
        with lock:
            status = await chat.post(text="/start", client_id="retry-me-0001")
            async with http.post(base + "/open311/v2/requests.json",
                                 data={"api_key": api_key_plain, "service_code": "ha_tang",
                                       "description": "Đèn đường trước nhà văn hóa thôn bị hỏng"}) as r:
                open311_status, open311_body = r.status, await r.json()
        assert status == 503 and open311_status == 503 and "gửi lại" in open311_body["message"]
        assert await chat.post(text="/start", client_id="retry-me-0001") == 200
        assert "Xuân Giang" in chat.plain(await chat.pull())            # handled once, now
    quick.dispose()


# --- 7. Open311: well-formed XML for any input; the base URL from config -----------------------

async def test_7_open311_xml_is_well_formed_with_control_characters(services):
    async with serve_web(services) as (http, base):
        for query in ({"jurisdiction_id": "x\x01\x08y\x0b"}, {"start_date": "\x02"}, {"status": "\x1f"}):
            async with http.get(base + "/open311/v2/services.xml" if "jurisdiction_id" in query
                                else base + "/open311/v2/requests.xml", params=query) as r:
                assert r.status in (200, 400, 404)
                ET.fromstring(await r.read())
        async with http.get(base + "/open311/v2/discovery.json", headers={"Host": "evil.example"}) as r:
            url = (await r.json())["endpoints"][0]["url"]
    assert "evil.example" not in url and url.startswith(services.settings.doors.public_base_url)


# --- 8. phone masking with the phonenumbers library ---------------------------------------------

def test_8_phone_formats_are_masked():
    for text in ("Gọi (+84) 912 345 678 giúp", "số 0912 - 345 - 678 ạ", "liên hệ (0912) 345678",
                 "máy bàn 024 3825 1234", "0912.345.678"):
        masked = mask_personal(text)
        assert "***" in masked and not any(part in masked for part in ("912", "345", "3825")), masked
    assert mask_personal("Đơn XG-2026-000012 ngày 12/03/2026") == "Đơn XG-2026-000012 ngày 12/03/2026"


# --- 9. /metrics is not public -------------------------------------------------------------------

async def test_9_metrics_need_the_token(services):
    async with serve_web(services) as (http, base):
        async with http.get(base + "/metrics") as r:
            assert r.status == 404
    async with serve_web(with_doors(services, metrics_token="tok-123")) as (http, base):
        async with http.get(base + "/metrics", headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 404
        async with http.get(base + "/metrics", headers={"Authorization": "Bearer tok-123"}) as r:
            assert r.status == 200 and "danvan_" in await r.text()


# --- 10. no secret with a constant default -------------------------------------------------------

def test_10_the_pin_pepper_is_never_a_constant(tmp_path, monkeypatch):
    import hashlib
    import hmac

    monkeypatch.delenv("DANVAN_PIN_PEPPER", raising=False)
    monkeypatch.setenv("DANVAN_PIN_PEPPER_FILE", str(tmp_path / "pepper"))
    reset_pepper()
    try:
        constant = hmac.new(b"danvan", b"XG-2026-000001:123456", hashlib.sha256).hexdigest()
        assert hash_pin("XG-2026-000001", "123456") != constant
        assert (tmp_path / "pepper").exists() and oct((tmp_path / "pepper").stat().st_mode & 0o777) == "0o600"
        monkeypatch.setenv("DANVAN_ENV", "production")
        monkeypatch.delenv("DANVAN_PIN_PEPPER_FILE")
        reset_pepper()
        with pytest.raises(Exception, match="DANVAN_PIN_PEPPER"):
            hash_pin("XG-2026-000001", "123456")
    finally:
        reset_pepper()
    assert check_secrets({"DANVAN_ENV": "production", "DANVAN_DATA_KEY": "k"}) == 1
    assert check_secrets({"DANVAN_ENV": "production", "DANVAN_DATA_KEY": "k", "DANVAN_PIN_PEPPER": "p",
                          "DANVAN_WEB_SECRET": "w"}) == 0
