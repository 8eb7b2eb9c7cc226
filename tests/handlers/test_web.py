"""The web front through real HTTP on 127.0.0.1: public page, lookup, web chat, metrics, security."""

from __future__ import annotations

from testkit.images import png_bytes  # noqa: F401

import re

import pytest
from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select
from yarl import URL

from bot.main.composition import WARMING_KEY, build_web_app
from bot.core.pins import check_pin
from bot.tickets.records import Draft, create_ticket
from storage.engine import read_session, write_session
from storage.models import OutboxMessage, Ticket, TicketAttachment
from testkit.config import write_config
from testkit.petitions import DENOUNCER_NAME, Spec, at, create, seed_period
from testkit.web_driver import WebChatClient, serve_web, with_doors, with_portal




@pytest.fixture
async def server(services):
    runner = web.AppRunner(build_web_app(services, telegram=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        yield http, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def new_ticket(services, *, type_="phan_anh", category="ha_tang"):
    draft = Draft(type=type_, description="Đèn đường trước nhà văn hóa thôn bị hỏng đã hai tuần nay",
                  category=category, hamlet=services.settings.hamlets[0], contact_mode="anonymous")
    with write_session(services.engine) as session:
        created = create_ticket(session, settings=services.settings, calendar=services.calendar, draft=draft,
                                channel="telegram", citizen_id=None, now=services.clock.now())
    return created.ticket, created.pin


async def test_public_page_counts_only_public_types(services, server):
    http, base = server
    seed_period(services)
    async with http.get(base + "/") as response:
        assert response.status == 200
        page = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in page and "style=" not in page
    # 2026 tickets of public types and categories: 7 (the July one included; no khiếu nại, tố cáo).
    assert re.search(r'id="stat-received">7<', page)
    assert "Khiếu nại" not in page and "Tố cáo" not in page and "Đất đai" in page
    assert DENOUNCER_NAME not in page and "Nguyễn Văn An" not in page and "0987654321" not in page
    assert "<svg" in page and "Diễn biến theo tháng" in page
    assert "Trả lời phản ánh" not in page             # answers are off by default


async def test_published_answers_hide_phone_numbers(tmp_path, database_url, engine, clock):
    from bot.main.composition import build_services
    from bot.config.settings import load_settings

    def mutate(raw):
        raw["portal"]["publish_answers"] = True
    settings = load_settings(write_config(tmp_path, mutate), environ={"DATABASE_URL": database_url})
    services = build_services(settings, clock=clock, engine=engine, migrate=False)
    create(services, Spec("phan_anh", "ha_tang", settings.hamlets[1], at(2, 11),
                          ((ticket_state("accepted"), at(3, 11)), (ticket_state("resolved"), at(4, 11))),
                          contact=("Nguyễn Văn An", "0987654321"),
                          answer="Kính gửi ông An: đã thay bóng đèn; liên hệ 0912 345 678 nếu còn hỏng."))
    create(services, Spec("khieu_nai", "dat_dai", settings.hamlets[1], at(2, 11),
                          ((ticket_state("accepted"), at(3, 11)), (ticket_state("resolved"), at(4, 11))),
                          contact=("Lê Văn Cường", "0911000222"), answer="Giữ nguyên quyết định đối với ông Cường."))
    runner = web.AppRunner(build_web_app(services, telegram=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http, http.get(f"http://127.0.0.1:{port}/") as response:
            page = await response.text()
    finally:
        await runner.cleanup()
    assert "đã thay bóng đèn" in page and "0912 345 678" not in page and "Kính gửi ông ***:" in page
    assert "An:" not in page and "0987654321" not in page
    assert "Cường" not in page and "Giữ nguyên" not in page


def ticket_state(name: str):
    from bot.core.domain import TicketStatus
    return TicketStatus(name)


async def lookup_csrf(http, base) -> str:
    async with http.get(base + "/tra-cuu") as response:
        return re.search(r'name="csrf" value="([0-9a-f]+)"', await response.text()).group(1)


async def test_lookup_by_code_and_pin(services, server):
    http, base = server
    ticket, pin = new_ticket(services)
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    async with http.post(base + "/tra-cuu", data={"code": ticket.code, "pin": pin}) as response:
        assert response.status == 403                 # no CSRF token
    csrf = await lookup_csrf(http, base)
    async with http.post(base + "/tra-cuu", data={"csrf": csrf, "code": ticket.code.lower(), "pin": pin}) as response:
        page = await response.text()
        assert response.status == 200
    assert 'id="lookup-result"' in page and ticket.code in page and "Đã tiếp nhận, chờ xử lý" in page
    async with http.post(base + "/tra-cuu", data={"csrf": csrf, "code": ticket.code, "pin": wrong}) as response:
        page = await response.text()
        assert response.status == 404
    assert 'id="lookup-result"' not in page and "Không tìm thấy hồ sơ" in page
    assert pin not in str(response.url) and ticket.code not in str(response.url)


async def test_pin_guessing_is_limited_per_code(services, server):
    http, base = server
    ticket, pin = new_ticket(services)
    csrf = await lookup_csrf(http, base)
    statuses = []
    for guess in range(7):
        async with http.post(base + "/tra-cuu", data={"csrf": csrf, "code": ticket.code,
                                                      "pin": f"{(int(pin) + 1 + guess) % 1_000_000:06d}"}) as r:
            statuses.append(r.status)
    assert statuses[:5] == [404] * 5 and statuses[5:] == [429, 429]
    async with http.post(base + "/tra-cuu", data={"csrf": csrf, "code": ticket.code, "pin": pin}) as r:
        assert r.status == 429                         # locked for the hour, even with the right PIN


async def test_lookup_attempts_are_limited_per_address(services, server):
    http, base = server
    csrf = await lookup_csrf(http, base)
    limit = services.settings.portal.lookup_attempts_per_hour
    statuses = []
    for n in range(limit + 1):
        async with http.post(base + "/tra-cuu", data={"csrf": csrf, "code": f"XG-2026-{n + 100:06d}",
                                                      "pin": "123456"}) as r:
            statuses.append(r.status)
    assert statuses[:limit] == [404] * limit and statuses[limit] == 429


async def test_web_chat_intake_creates_a_web_ticket(services, server):
    http, base = server
    chat = WebChatClient(http, base)
    await chat.open()
    assert await chat.post(text="/start") == 200
    welcome = chat.plain(await chat.pull())
    assert "Xuân Giang" in welcome
    await chat.press("Đồng ý")
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("Cống thoát nước đầu thôn bị tắc, nước tràn ra đường mỗi khi mưa to")
    await chat.press(chat.first_button())
    await chat.press("Mẫu 1")
    assert await chat.upload(png_bytes()) == 200
    assert "ảnh" in chat.plain(await chat.pull()).lower()
    assert await chat.upload(b"MZ\x90\x00 not an image") == 415
    await chat.press("Tiếp tục")
    await chat.press("Một mình")
    await chat.press("Không để lại")
    done = await chat.press("Gửi đơn")
    with read_session(services.engine) as session:
        [ticket] = session.exec(select(Ticket)).all()
        photos = session.exec(select(TicketAttachment)).all()
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.channel == "web")).all()
    assert ticket.channel == "web" and ticket.code in done and ticket.hamlet.startswith("Thôn Mẫu 1")
    assert len(photos) == 1 and photos[0].mime == "image/png" and photos[0].ref.startswith("web:")
    assert open(photos[0].path, "rb").read() == png_bytes()         # the stored copy is the uploaded file
    pin = done.split("Mã PIN:")[1].split()[0]
    assert check_pin(ticket.code, pin, ticket.pin_hash)
    assert rows and all(r.status == "sent" for r in rows)   # fetched by the browser = delivered
    sid = http.cookie_jar.filter_cookies(URL(base))["dv_sid"].value
    assert len({r.chat_id for r in rows}) == 1 and sid not in rows[0].chat_id   # the cookie never reaches the database


async def test_web_chat_requires_csrf_and_is_idempotent(services, server):
    http, base = server
    chat = WebChatClient(http, base)
    await chat.open()
    async with http.post(base + "/chat/api/send", json={"text": "/start", "client_id": "abcdefgh12"}) as r:
        assert r.status == 403
    assert await chat.post(text="/start", client_id="same-id-123") == 200
    first = len(await chat.pull())
    assert await chat.post(text="/start", client_id="same-id-123") == 200   # a retry of the same message
    assert first > 0 and await chat.pull() == []


async def test_metrics(services):
    async with serve_web(with_doors(services, metrics_token="metrics-secret")) as (http, base):
        chat = WebChatClient(http, base)
        await chat.open()
        await chat.say("/start")
        new_ticket(services)
        async with http.get(base + "/metrics") as response:
            assert response.status == 404           # never public without the token
        async with http.get(base + "/metrics", headers={"Authorization": "Bearer metrics-secret"}) as response:
            text = await response.text()
    assert 'danvan_updates_received_total{channel="web"} 1.0' in text
    assert 'danvan_tickets{state="received"} 1.0' in text
    assert 'danvan_outbox_messages{channel="telegram",status="pending"}' not in text  # card rows only via intake
    assert "danvan_outbox_lag_seconds" in text and "danvan_outbox_dead" in text
    assert 'danvan_http_request_duration_seconds_count{method="GET",route="/chat"} 1.0' in text
    assert "XG-" not in text and "csrf" not in text


async def test_chat_may_be_framed_only_by_configured_sites(services, server):
    http, base = server
    async with http.get(base + "/chat?embed=1") as response:
        page = await response.text()
        assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in response.headers
    assert 'src="/static/chat.js"' in page and "site-header" not in page
    async with http.get(base + "/static/chat.js") as response:
        assert response.status == 200 and "fetch(" in await response.text()


async def test_chat_sessions_survive_a_restart(services, tmp_path):
    """Without DANVAN_WEB_SECRET the secret is kept on disk: the same browser is the same citizen."""
    async def run_once(http) -> tuple[str, int]:
        runner = web.AppRunner(build_web_app(services, telegram=None))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        try:
            chat = WebChatClient(http, base)
            await chat.open()
            status = await chat.post(text="/start")
            return chat.csrf, status
        finally:
            await runner.cleanup()

    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        first, status_one = await run_once(http)
        second, status_two = await run_once(http)
    assert status_one == status_two == 200 and first == second
    secret_file = tmp_path / "web_secret"
    assert secret_file.exists() and oct(secret_file.stat().st_mode & 0o777) == "0o600"


async def test_rate_limit_follows_the_client_behind_the_proxy(services):
    """Behind the (configured, local) reverse proxy each citizen has their own lookup budget."""
    async with serve_web(with_portal(services, trusted_proxies=("127.0.0.1",))) as (http, base):
        await _rate_limit_behind_proxy(services, http, base)


async def _rate_limit_behind_proxy(services, http, base):
    csrf = await lookup_csrf(http, base)
    limit = services.settings.portal.lookup_attempts_per_hour
    async def attempt(client: str, number: int) -> int:
        async with http.post(base + "/tra-cuu", data={"csrf": csrf, "code": f"XG-2026-{number:06d}", "pin": "123456"},
                             headers={"X-Forwarded-For": f"{client}, 127.0.0.1"}) as r:
            return r.status
    first = [await attempt("203.0.113.5", n) for n in range(limit + 1)]
    assert first[-1] == 429 and set(first[:-1]) == {404}
    assert await attempt("203.0.113.77", 500) == 404


async def test_readyz_waits_for_the_classifier(services):
    """/readyz: 503 "starting" until the classifier is fitted (the first call starts the fit), then 200."""
    assert not services.classifier.ready
    app = build_web_app(services, telegram=None)
    async with TestClient(TestServer(app)) as client:
        first = await client.get("/readyz")
        assert first.status == 503 and (await first.json())["status"] == "starting"
        assert (await client.get("/healthz")).status == 200             # alive all along
        await app[WARMING_KEY]["task"]                                  # the fit the first call started
        assert services.classifier.ready
        ready = await client.get("/readyz")
        assert ready.status == 200 and (await ready.json())["status"] == "ok"
