"""The back office at /can-bo through real HTTP on 127.0.0.1 (aiohttp client, real database, the
real Service for /dangnhap): sign-in by one-time link, sessions, CSRF, permissions, queue, ticket
actions through the same policy as the chat card, documents."""

from __future__ import annotations

import io
import json

import pytest
from aiohttp import web
from docx import Document
from openpyxl import load_workbook
from sqlmodel import Session, col, select
from yarl import URL

from bot.config.settings import load_settings
from bot.core.domain import TicketStatus as S
from bot.main.composition import build_services, build_web_app
from bot.main.log_redaction import redact
from bot.officials.invites import revoke_official
from bot.officials.web_session import digest
from bot.service.transactions import Service
from storage.engine import write_session
from storage.models import Official, OutboxMessage, Ticket, TicketAttachment, TicketEvent, WebLoginLink, WebSession
from testkit.config import write_config
from testkit.backoffice_driver import Browser, ask_link, make_ticket, newest_link, png_bytes
from testkit.office_driver import OfficeChat, add_official
from testkit.petitions import DENOUNCER_NAME, DENOUNCER_PHONE, Spec, at, create

KT_GROUP = "-1002"


@pytest.fixture
async def base(services):
    runner = web.AppRunner(build_web_app(services, telegram=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    await runner.cleanup()


@pytest.fixture
async def browsers(base):
    made: list[Browser] = []

    def new() -> Browser:
        made.append(Browser(base))
        return made[-1]

    yield new
    for b in made:
        await b.close()


def events(engine, action: str) -> list[TicketEvent]:
    with Session(engine) as session:
        return list(session.exec(select(TicketEvent).where(TicketEvent.action == action)
                                 .order_by(col(TicketEvent.id))))


def outbox_count(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(OutboxMessage)).all())


def ticket_of(engine, ticket_id: int) -> Ticket:
    with Session(engine) as session:
        return session.get(Ticket, ticket_id)


async def signed_in(service, browsers, user_id: str, *, role: str = "official", office: str | None = "KT") -> Browser:
    add_official(service.services.engine, user_id=user_id, role=role, office=office)
    browser = browsers()
    assert await browser.sign_in(ask_link(service, user_id)) == 303
    return browser


# --- sign-in ----------------------------------------------------------------------------------

async def test_dangnhap_link_signs_in_once_and_is_audited(service, browsers):
    official = add_official(service.services.engine, user_id="501", role="official", office="KT")
    link = ask_link(service, "501")
    first = browsers()
    status, page = await first.get(first.local(link)[len(first.base):])
    assert status == 200 and 'id="enter"' in page          # opening the link (a chat preview) spends nothing
    assert await first.sign_in(link) == 303
    cookie = next(m for m in first.http.cookie_jar if m.key == "dv_bo")
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/can-bo"
    status, page = await first.get("/can-bo/hang-doi")
    assert status == 200 and official.display_name in page
    assert [e.actor for e in events(service.services.engine, "web_sign_in")] == [f"official:{official.id}"]
    second = browsers()                                       # the same link again, from another browser
    assert await second.sign_in(link) == 403
    assert await second.get("/can-bo/hang-doi") == (303, "/can-bo/dang-nhap")
    refused = [e.note for e in events(service.services.engine, "denied") if "web_sign_in" in e.note]
    assert refused and "reason=used" in refused[-1]
    with Session(service.services.engine) as session:      # only the hash is stored
        stored = [r.token_hash for r in session.exec(select(WebLoginLink))]
    assert link.split("t=")[1] not in stored and len(stored) == 1


async def test_expired_link_does_not_sign_in(service, browsers, clock):
    add_official(service.services.engine, user_id="502", role="official", office="KT")
    link = ask_link(service, "502")
    clock.advance(minutes=10, seconds=1)
    browser = browsers()
    assert await browser.sign_in(link) == 403
    assert "reason=expired" in [e.note for e in events(service.services.engine, "denied")][-1]


async def test_dangnhap_in_a_group_sends_the_link_privately(service, browsers):
    add_official(service.services.engine, user_id="503", role="official", office="KT")
    OfficeChat(service, user_id="503", chat_id=KT_GROUP).send("/dangnhap")
    assert newest_link(service.services.engine, "503")
    with pytest.raises(AssertionError):
        newest_link(service.services.engine, KT_GROUP)


async def test_sign_in_page_pushes_the_link_through_the_outbox_and_says_the_same_to_strangers(service, browsers):
    add_official(service.services.engine, user_id="504", role="official", office="KT")
    browser = browsers()
    await browser.get("/can-bo/dang-nhap")
    status, page = await browser.post("/can-bo/dang-nhap", {"channel": "telegram", "account": "504"})
    assert status == 200 and 'id="link-sent"' in page
    assert await browser.sign_in(newest_link(service.services.engine, "504")) == 303
    stranger = browsers()
    await stranger.get("/can-bo/dang-nhap")
    status, page2 = await stranger.post("/can-bo/dang-nhap", {"channel": "telegram", "account": "999999"})
    assert status == 200 and 'id="link-sent"' in page2
    with Session(service.services.engine) as session:
        assert not session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == "999999")).all()


async def test_session_fixation_is_refused(service, browsers, base):
    add_official(service.services.engine, user_id="505", role="official", office="KT")
    browser = browsers()
    planted = "A" * 43
    browser.http.cookie_jar.update_cookies({"dv_bo": planted}, response_url=URL(base + "/can-bo"))
    assert await browser.sign_in(ask_link(service, "505")) == 303
    assert browser.cookie() not in ("", planted)
    with Session(service.services.engine) as session:
        assert session.get(WebSession, digest(planted)) is None
    attacker = browsers()
    attacker.http.cookie_jar.update_cookies({"dv_bo": planted}, response_url=URL(base + "/can-bo"))
    assert await attacker.get("/can-bo/hang-doi") == (303, "/can-bo/dang-nhap")


async def test_csrf_is_required_on_every_form(service, browsers):
    browser = await signed_in(service, browsers, "506")
    ticket = make_ticket(service.services, accepted=False)
    for csrf in ("", "0" * 64):
        status, _ = await browser.post(f"/can-bo/phieu/{ticket.code}/thao-tac", {"action": "accept"}, csrf=csrf)
        assert status == 403
    other = await signed_in(service, browsers, "507")
    status, _ = await browser.post(f"/can-bo/phieu/{ticket.code}/thao-tac", {"action": "accept"}, csrf=other.csrf)
    assert status == 403
    status, _ = await browser.post("/can-bo/dang-xuat", {}, csrf="")
    assert status == 403
    assert ticket_of(service.services.engine, ticket.id).status == S.RECEIVED


async def test_revoked_official_loses_the_session_at_the_next_request(service, browsers):
    browser = await signed_in(service, browsers, "508")
    assert (await browser.get("/can-bo/hang-doi"))[0] == 200
    with write_session(service.services.engine) as session:
        official = revoke_official(session, next(o.id for o in session.exec(
            select(Official)) if o.user_id == "508"))
    assert await browser.get("/can-bo/hang-doi") == (303, "/can-bo/dang-nhap")
    with Session(service.services.engine) as session:
        rows = session.exec(select(WebSession).where(WebSession.official_id == official.id)).all()
    assert rows and all(r.ended_at is not None for r in rows)


async def test_idle_timeout_and_sign_out_everywhere(service, browsers, clock):
    one = await signed_in(service, browsers, "509")
    two = browsers()
    assert await two.sign_in(ask_link(service, "509")) == 303
    clock.advance(minutes=service.services.settings.web.session_idle_minutes - 1)
    assert (await one.get("/can-bo/hang-doi"))[0] == 200      # activity keeps `one` alive
    clock.advance(minutes=2)
    assert await two.get("/can-bo/hang-doi") == (303, "/can-bo/dang-nhap")   # idle too long
    three = browsers()
    assert await three.sign_in(ask_link(service, "509")) == 303
    status, location = await one.post("/can-bo/dang-xuat", {"everywhere": "1"})
    assert (status, location) == (303, "/can-bo/dang-nhap")
    assert await three.get("/can-bo/hang-doi") == (303, "/can-bo/dang-nhap")
    assert events(service.services.engine, "web_sign_out_all")


# --- permissions ------------------------------------------------------------------------------

async def test_other_office_gets_404_for_ticket_page_photos_and_exports(service, browsers, tmp_path):
    ticket = make_ticket(service.services, accepted=False)           # a KT ticket
    photo = tmp_path / "p.png"
    photo.write_bytes(png_bytes())
    with write_session(service.services.engine) as session:
        item = TicketAttachment(ticket_id=ticket.id, kind="photo", mime="image/png", size=10, path=str(photo),
                                created_at=service.services.clock.now())
        session.add(item)
        session.flush()
        item_id = item.id
    own = await signed_in(service, browsers, "510", office="KT")
    assert (await own.get(f"/can-bo/phieu/{ticket.code}"))[0] == 200
    status, body, mime = await own.get_bytes(f"/can-bo/tep/{item_id}")
    assert status == 200 and body == png_bytes() and mime == "image/png"
    other = await signed_in(service, browsers, "511", office="CA")
    assert (await other.get(f"/can-bo/phieu/{ticket.code}"))[0] == 404
    assert (await other.get(f"/can-bo/phieu/XG-2026-999999"))[0] == 404
    assert (await other.get_bytes(f"/can-bo/tep/{item_id}"))[0] == 404
    status, _ = await other.post(f"/can-bo/phieu/{ticket.code}/thao-tac", {"action": "accept"})
    assert status == 404
    for kind in ("register", "report"):
        assert (await other.get_bytes(f"/can-bo/tai-lieu/{kind}"))[0] == 404
    status, body, _ = await other.get_bytes("/can-bo/tai-lieu/plan")   # its own office's plan only
    assert status == 200
    cells = [str(c.value) for row in load_workbook(io.BytesIO(body)).active.iter_rows() for c in row]
    assert ticket.code not in " ".join(cells)
    status, queue = await other.get("/can-bo/hang-doi")
    assert status == 200 and ticket.code not in queue
    assert ticket_of(service.services.engine, ticket.id).status == S.RECEIVED


async def test_denunciation_author_only_through_the_leaders_audited_reveal(service, browsers):
    ticket = create(service.services, Spec("to_cao", "can_bo", service.services.settings.hamlets[0], at(20, 11),
                                           contact=(DENOUNCER_NAME, DENOUNCER_PHONE),
                                           description="Tố cáo cán bộ địa chính thu tiền sai quy định khi làm sổ"))
    leader = await signed_in(service, browsers, "512", role="leader", office=None)
    pages = [await leader.get("/can-bo/hang-doi"), await leader.get("/can-bo/hang-doi?q=dia+chinh"),
             await leader.get(f"/can-bo/phieu/{ticket.code}"), await leader.get("/can-bo/tong-quan")]
    for status, page in pages:
        assert status == 200 and DENOUNCER_NAME not in page and DENOUNCER_PHONE not in page
    assert ticket.code in pages[1][1]
    status, page = await leader.post(f"/can-bo/phieu/{ticket.code}/danh-tinh", {"reason": "Xác minh theo yêu cầu thanh tra"})
    assert status == 200 and DENOUNCER_NAME in page
    assert events(service.services.engine, "identity_revealed")[-1].actor.startswith("official:")
    status, again = await leader.get(f"/can-bo/phieu/{ticket.code}")
    assert DENOUNCER_NAME not in again
    status, body, _ = await leader.get_bytes("/can-bo/tai-lieu/register?from=2026-01-01&to=2026-12-31")
    cells = " ".join(str(c.value) for row in load_workbook(io.BytesIO(body)).active.iter_rows() for c in row)
    assert ticket.code in cells and DENOUNCER_NAME not in cells


# --- queue and actions ------------------------------------------------------------------------

async def test_queue_filters_accent_insensitive_search_and_counts(service, browsers, clock):
    hamlets = service.services.settings.hamlets
    late = create(service.services, Spec("phan_anh", "ha_tang", hamlets[0], at(1, 10),
                                         description="Đường bê tông thôn bị nứt vỡ nhiều đoạn"))
    other = create(service.services, Spec("kien_nghi", "moi_truong", hamlets[1], at(24, 11),
                                          description="Rác thải tập kết sai nơi quy định bốc mùi"))
    browser = await signed_in(service, browsers, "513", role="leader", office=None)
    status, page = await browser.get("/can-bo/hang-doi")
    assert status == 200 and late.code in page and other.code in page
    assert page.index(late.code) < page.index(other.code)            # earliest deadline first
    assert 'id="count-total">2<' in page and 'id="count-overdue">1<' in page
    status, page = await browser.get("/can-bo/hang-doi?q=DUONG+be+tong")
    assert late.code in page and other.code not in page and 'id="count-total">1<' in page
    status, page = await browser.get(f"/can-bo/hang-doi?category=moi_truong&hamlet={hamlets[1]}")
    assert other.code in page and late.code not in page
    status, page = await browser.get("/can-bo/hang-doi?type=phan_anh&status=received&channel=telegram"
                                     "&from=2026-09-01&to=2026-10-31")
    assert late.code in page and other.code not in page
    status, page = await browser.get("/can-bo/hang-doi?office=VP")
    assert late.code not in page and other.code not in page


async def test_ticket_page_accept_answer_with_preview_transfer_extend(service, browsers):
    engine = service.services.engine
    ticket = make_ticket(service.services, accepted=False)
    browser = await signed_in(service, browsers, "514", role="head", office="KT")
    status, page = await browser.get(f"/can-bo/phieu/{ticket.code}")
    assert status == 200 and "Đèn đường thôn Mẫu 1" in page and "Nguyễn Văn Test" in page
    status, page = await browser.post(f"/can-bo/phieu/{ticket.code}/thao-tac", {"action": "accept"})
    assert status == 200, page
    after = ticket_of(engine, ticket.id)
    assert after.status == S.ACCEPTED and after.assignee_id is not None
    answer = "Đơn vị đã cử người kiểm tra, sẽ thay bóng đèn trong tuần này"
    before_rows = outbox_count(engine)
    status, page = await browser.post(f"/can-bo/phieu/{ticket.code}/thao-tac",
                                      {"action": "progress", "text": answer, "step": "preview"})
    assert status == 200 and 'id="preview-text"' in page and answer in page
    assert outbox_count(engine) == before_rows      # nothing sent yet
    status, page = await browser.post(f"/can-bo/phieu/{ticket.code}/thao-tac",
                                      {"action": "progress", "text": answer, "step": "send"})
    assert status == 200 and ticket_of(engine, ticket.id).status == S.IN_PROGRESS
    with Session(engine) as session:
        sent = [json.loads(r.payload)["text"] for r in session.exec(select(OutboxMessage).where(
            OutboxMessage.chat_id == "cit", OutboxMessage.ticket_code == ticket.code))]
    assert any(answer in text for text in sent)
    due = ticket_of(engine, ticket.id).resolve_due
    status, page = await browser.post(f"/can-bo/phieu/{ticket.code}/thao-tac",
                                      {"action": "extend", "text": "Cần thêm thời gian mua vật tư", "step": "send"})
    assert status == 200 and ticket_of(engine, ticket.id).resolve_due > due
    status, page = await browser.post(f"/can-bo/phieu/{ticket.code}/thao-tac",
                                      {"action": "transfer", "target": "VP", "text": "Thuộc thẩm quyền Văn phòng"})
    assert status == 200 and ticket_of(engine, ticket.id).office_code == "VP"
    assert (await browser.get(f"/can-bo/phieu/{ticket.code}"))[0] == 404     # no longer this office's
    actors = {e.actor for e in events(engine, "accepted") + events(engine, "progress") + events(engine, "extended")
              + events(engine, "transferred")}
    assert len(actors) == 1 and actors.pop().startswith("official:")


async def test_web_actions_obey_the_chat_policy(service, browsers):
    """An ordinary official may not extend (head only), exactly as on the chat card."""
    ticket = make_ticket(service.services, accepted=True)
    browser = await signed_in(service, browsers, "515", role="official", office="KT")
    status, page = await browser.get(f"/can-bo/phieu/{ticket.code}")
    assert 'id="act-extend"' not in page and 'id="act-resolve"' in page
    due = ticket_of(service.services.engine, ticket.id).resolve_due
    status, _ = await browser.post(f"/can-bo/phieu/{ticket.code}/thao-tac",
                                   {"action": "extend", "text": "Cần thêm thời gian mua vật tư", "step": "send"})
    assert status == 409 and ticket_of(service.services.engine, ticket.id).resolve_due == due
    assert any("action=extend reason=role" in e.note for e in events(service.services.engine, "denied"))


async def test_documents_download_as_valid_files_and_are_audited(service, browsers):
    make_ticket(service.services, accepted=False)
    browser = await signed_in(service, browsers, "516", role="official", office="VHXH")
    for path, check in (("/can-bo/tai-lieu/register?from=2026-01-01&to=2026-12-31", load_workbook),
                        ("/can-bo/tai-lieu/report?period=year&year=2026", Document),
                        ("/can-bo/tai-lieu/plan?week=2026-11-23", load_workbook)):
        status, body, _ = await browser.get_bytes(path)
        assert status == 200, path
        check(io.BytesIO(body))
    assert len(events(service.services.engine, "web_download")) == 3
    status, location = await browser.get("/can-bo/tai-lieu/register?from=2026-12-01&to=2026-01-01")
    assert status == 303 and "loi=period" in location


async def test_cards_carry_the_ticket_page_link_when_public_url_is_set(tmp_path, database_url, engine, clock):

    def mutate(raw):
        raw["web"]["public_url"] = "https://phananh.example.vn/"
    settings = load_settings(write_config(tmp_path, mutate), environ={"DATABASE_URL": database_url})
    services = build_services(settings, clock=clock, engine=engine, migrate=False)
    add_official(engine, user_id="517", role="official", office="KT")
    ticket = make_ticket(services, accepted=False)
    OfficeChat(Service(services), user_id="517").send(f"/xem {ticket.code}")
    with Session(engine) as session:
        texts = [json.loads(r.payload)["text"] for r in session.exec(select(OutboxMessage).where(
            OutboxMessage.chat_id == "517"))]
    assert any(f"https://phananh.example.vn/can-bo/phieu/{ticket.code}" in t for t in texts)
    assert "https://phananh.example.vn/can-bo/vao?t=" in newest_link_text(services, "517")


def newest_link_text(services, user_id: str) -> str:

    OfficeChat(Service(services), user_id=user_id).send("/dangnhap")
    return newest_link(services.engine, user_id)


async def test_revoked_official_gets_no_link(service, browsers):
    official = add_official(service.services.engine, user_id="518", role="official", office="KT")
    with write_session(service.services.engine) as session:
        revoke_official(session, official.id)
    OfficeChat(service, user_id="518").send("/dangnhap")
    with pytest.raises(AssertionError):
        newest_link(service.services.engine, "518")
    assert any("action=dangnhap reason=revoked" in e.note for e in events(service.services.engine, "denied"))


def test_sign_in_links_are_masked_in_logs():
    line = '127.0.0.1 "GET /can-bo/vao?t=Q2xv_ZS1zZWNyZXQtdG9rZW4tdmFsdWU HTTP/1.1" 200'
    assert "Q2xv" not in redact(line, []) and "/can-bo/vao?t=***" in redact(line, [])
