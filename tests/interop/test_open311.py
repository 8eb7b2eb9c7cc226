"""Open311 GeoReport v2, read by the independent `georeport` client (JSON and XML) and written to
with `requests` + an API key, against the real app on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest
import requests
import xmltodict
from aiohttp import web
from georeport import GeoReport
from sqlmodel import select

from bot.interop.api_keys import create_api_key, revoke_api_key
from bot.main.composition import build_web_app
from bot.main.cli import main
from storage.engine import read_session, write_session
from storage.models import OutboxMessage, Ticket, TicketEvent
from testkit.config import OFFICE_CHATS
from testkit.petitions import DENOUNCER_NAME, seed_period

WINDOW = {"start_date": "2026-05-01T00:00:00Z", "end_date": "2026-07-30T00:00:00Z"}


@pytest.fixture
async def root(services):
    runner = web.AppRunner(build_web_app(services, telegram=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/open311/v2"
    await runner.cleanup()


@pytest.fixture
def api_key(services) -> str:
    with write_session(services.engine) as session:
        _, plain = create_api_key(session, name="Cổng thông tin tỉnh", now=services.clock.now())
    return plain


async def test_services_in_json_and_xml(services, root):
    public = list(services.settings.portal.public_categories)
    as_json = await asyncio.to_thread(GeoReport(root).get_service_list)
    as_xml = await asyncio.to_thread(GeoReport(root, output_format="xml").get_service_list)
    assert [s["service_code"] for s in as_json] == public == [s["service_code"] for s in as_xml]
    assert "can_bo" not in public
    assert as_json[0]["service_name"] == as_xml[0]["service_name"] == "Đất đai"
    definition = await asyncio.to_thread(GeoReport(root, output_format="xml").get_service_definition, "ha_tang")
    assert [a["code"] for a in definition["attributes"]["attribute"]] == ["type", "hamlet"]
    types = [v["key"] for v in definition["attributes"]["attribute"][0]["values"]["value"]]
    assert types == ["phan_anh", "kien_nghi", "gop_y"]
    with pytest.raises(requests.HTTPError):
        await asyncio.to_thread(GeoReport(root).get_service_definition, "can_bo")


async def test_requests_list_and_one_request(services, root):
    seed_period(services)
    client, xml_client = GeoReport(root), GeoReport(root, output_format="xml")
    listed = await asyncio.to_thread(client.get_service_requests, **WINDOW)
    listed_xml = await asyncio.to_thread(xml_client.get_service_requests, **WINDOW)
    with read_session(services.engine) as session:
        tickets = {t.code: t for t in session.exec(select(Ticket))}
    codes = [r["service_request_id"] for r in listed]
    assert codes == [r["service_request_id"] for r in listed_xml]
    assert sorted(tickets[c].type for c in codes) == ["gop_y", "kien_nghi", "phan_anh"]   # no tố cáo from May
    for item in listed:
        assert item["status"] in ("open", "closed") and item["status_notes"]
        assert item["description"] == ""                 # descriptions are not published by default
        assert DENOUNCER_NAME not in str(item)
    transferred = next(r for r in listed if tickets[r["service_request_id"]].status == "referred")
    assert transferred["status"] == "closed" and transferred["status_notes"] == "Đã chuyển cơ quan có thẩm quyền"
    closed = await asyncio.to_thread(client.get_service_requests, status="closed", **WINDOW)
    assert [r["service_request_id"] for r in closed] == [transferred["service_request_id"]]
    one = await asyncio.to_thread(client.get_service_request, transferred["service_request_id"])
    one_xml = await asyncio.to_thread(xml_client.get_service_request, transferred["service_request_id"])
    assert one["service_request_id"] == one_xml["service_request_id"] == transferred["service_request_id"]
    assert one["agency_responsible"] == one_xml["agency_responsible"]
    denunciation = next(t for t in tickets.values() if t.type == "to_cao")
    complaint = next(t for t in tickets.values() if t.type == "khieu_nai")
    for hidden in (denunciation.code, complaint.code):
        with pytest.raises(requests.HTTPError):
            await asyncio.to_thread(client.get_service_request, hidden)
        by_id = await asyncio.to_thread(client.get_service_requests, service_request_id=hidden)
        assert by_id == []


async def test_post_with_key_creates_a_routed_ticket(services, root, api_key):
    body = {"api_key": api_key, "service_code": "ha_tang", "lat": "21.81234", "long": "105.21456",
            "description": "Cột đèn đường đầu cầu tràn bị đổ sau cơn bão, dây điện sà xuống thấp",
            "attribute[hamlet]": "1", "first_name": "Phạm", "last_name": "Thị Dung", "phone": "0977111222"}
    response = await asyncio.to_thread(requests.post, f"{root}/requests.json", data=body, timeout=10)
    assert response.status_code == 200, response.text
    [created] = response.json()
    code, token = created["service_request_id"], created["token"]
    with read_session(services.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.code == code)).one()
        events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
        cards = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == OFFICE_CHATS["KT"])).all()
    assert ticket.channel == "open311" and ticket.office_code == "KT" and ticket.type == "phan_anh"
    assert ticket.hamlet == services.settings.hamlets[1] and ticket.contact_phone == "0977111222"
    assert [e.action for e in events] == ["created"] and len(cards) == 1 and code in cards[0].payload
    by_token = await asyncio.to_thread(requests.get, f"{root}/tokens/{token}.json", timeout=10)
    assert by_token.json() == [{"service_request_id": code, "token": token}]
    read_back = await asyncio.to_thread(GeoReport(root).get_service_request, code)
    assert read_back["status"] == "open" and read_back["lat"] == 21.812
    assert "Dung" not in str(read_back) and "0977111222" not in str(read_back)


async def test_post_without_or_with_bad_key_is_refused(services, root, api_key):
    body = {"service_code": "ha_tang", "description": "Đường ngập nước sâu sau mưa, trẻ em đi học rất nguy hiểm"}
    response = await asyncio.to_thread(requests.post, f"{root}/requests.json", data=body, timeout=10)
    assert response.status_code == 403
    assert response.json() == [{"code": 403, "description": "Invalid api_key"}]
    as_xml = await asyncio.to_thread(requests.post, f"{root}/requests.xml", data={**body, "api_key": "dvk_wrong"},
                                     timeout=10)
    assert as_xml.status_code == 403
    assert xmltodict.parse(as_xml.content)["errors"]["error"] == {"code": "403", "description": "Invalid api_key"}
    with write_session(services.engine) as session:
        assert revoke_api_key(session, 1, now=services.clock.now())
    revoked = await asyncio.to_thread(requests.post, f"{root}/requests.json", data={**body, "api_key": api_key},
                                      timeout=10)
    assert revoked.status_code == 403
    with read_session(services.engine) as session:
        assert session.exec(select(Ticket)).all() == []


async def test_post_cannot_file_a_complaint_or_a_private_category(services, root, api_key):
    base = {"api_key": api_key, "description": "Đề nghị xem xét lại quyết định thu hồi đất của xã đối với gia đình"}
    for extra in ({"service_code": "dat_dai", "attribute[type]": "khieu_nai"},
                  {"service_code": "dat_dai", "attribute[type]": "to_cao"},
                  {"service_code": "can_bo"}, {"service_code": "ha_tang", "description": "ngắn"}):
        response = await asyncio.to_thread(requests.post, f"{root}/requests.json", data={**base, **extra}, timeout=10)
        assert response.status_code == 400 and response.json()[0]["code"] == 400


async def test_discovery(root, services):
    response = await asyncio.to_thread(requests.get, f"{root}/discovery.json", timeout=10,
                                       headers={"Host": "attacker.example"})
    endpoint = response.json()["endpoints"][0]
    # the configured public base URL, never the request's Host header
    assert endpoint["url"] == services.settings.doors.public_base_url + "/open311/v2"
    assert "text/xml" in endpoint["formats"]
    xml = await asyncio.to_thread(requests.get, f"{root}/discovery.xml", timeout=10)
    assert xmltodict.parse(xml.content)["discovery"]["endpoints"]["endpoint"]["specification"].endswith("GeoReport_v2")


def test_apikey_command(tmp_path, database_url, engine, monkeypatch, capsys, settings):
    monkeypatch.setenv("DATABASE_URL", database_url)
    config = str(tmp_path / "config.yaml")
    assert main(["--config", config, "apikey", "create", "Cổng thông tin tỉnh"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("dvk_") and len(key) > 30
    assert main(["--config", config, "apikey", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Cổng thông tin tỉnh" in listing and key not in listing and "active" in listing
    assert main(["--config", config, "apikey", "revoke", "1"]) == 0
    assert main(["--config", config, "apikey", "list"]) == 0
    assert "revoked" in capsys.readouterr().out


async def test_post_goes_through_the_core_like_a_chat_ticket(services, root, api_key):
    """An Open311 ticket gets the same actionable card as a chat ticket (buttons, a TicketCard row), in the
    group linked with /ganphong. Before, Open311 wrote a card without buttons to
    offices[].telegram_chat_id only, in a transaction of its own."""
    from storage.models import OfficeGroup, TicketCard

    with write_session(services.engine) as session:
        session.add(OfficeGroup(channel="telegram", chat_id="-100777", office_code="KT",
                                created_at=services.clock.now()))
    body = {"api_key": api_key, "service_code": "ha_tang",
            "description": "Rãnh thoát nước trước nhà văn hóa bị tắc, nước tràn ra đường",
            "attribute[hamlet]": "1"}
    response = await asyncio.to_thread(requests.post, f"{root}/requests.json", data=body, timeout=10)
    assert response.status_code == 200, response.text
    code = response.json()[0]["service_request_id"]
    with read_session(services.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.code == code)).one()
        group_rows = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == "-100777")).all()
        card_rows = session.exec(select(TicketCard).where(TicketCard.ticket_id == ticket.id)).all()
    assert len(group_rows) == 1 and code in group_rows[0].payload
    assert '"buttons"' in group_rows[0].payload and "x:" in group_rows[0].payload
    assert [c.chat_id for c in card_rows] == ["-100777"]
