"""The citizen service on Zalo, end to end: signed webhook → stored event → worker → core → outbox →
danvan's aiohttp Zalo client → a fake OA API on 127.0.0.1 (and office cards on a fake Telegram)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from storage.models import InboundEvent, Ticket, TicketAttachment
from testkit.config import OFFICE_CHATS
from testkit.fakes.zalo_api import image_event
from testkit.zalo_driver import ZaloCitizen, start_app, zalo_settings

ROAD = "Đường bê tông vào thôn Mẫu 1 bị sụt lún, có ổ gà lớn, trời mưa xe máy đi rất nguy hiểm"


@pytest.fixture
async def app(tmp_path, database_url, engine, clock, zalo, telegram):
    running = await start_app(zalo_settings(tmp_path, database_url, zalo, telegram.url), engine, clock)
    yield running
    await running.stop()


def tickets(engine) -> list[Ticket]:
    with Session(engine) as session:
        return list(session.exec(select(Ticket)))


async def test_complete_intake_and_lookup_on_zalo(app, zalo, telegram, http):
    user = ZaloCitizen(zalo, http, app, "8412345678901234567")
    welcome = await user.say("Xin chào")
    assert "dữ liệu cá nhân" in user.texts(welcome) and "<b>" not in user.texts(welcome)
    assert [b["type"] for b in welcome[-1].buttons] == ["oa.query.show", "oa.query.show"]
    await user.tap("Đồng ý")
    # Six choices (five types + cancel): more than Zalo's five buttons, so a numbered list.
    types = await user.tap("Gửi phản ánh")
    assert not types[-1].buttons and "1. Phản ánh" in types[-1].text
    await user.pick("Kiến nghị")
    reply = user.texts(await user.post(image_event(user.user_id, "https://photo.zalo.test/road.jpg", user.now_ms(),
                                                   caption=ROAD)))
    assert "lĩnh vực" in reply
    await user.tap("Hạ tầng")
    guess = zalo.messages(user.user_id)[-1]
    assert "Có phải ở thôn Mẫu 1 không?" in guess.text      # the hamlet named in the description
    await user.tap("Thôn khác")
    hamlets = zalo.messages(user.user_id)[-1]
    assert re.search(r"^\d\. Thôn Mẫu 1", hamlets.text, re.M)
    await user.pick("Mẫu 1")
    assert [b["title"] for b in user.last_buttons()] == ["Tiếp tục ➡️"]   # no location button on Zalo
    await user.tap("Tiếp tục")
    await user.tap("Một mình")
    contact = zalo.messages(user.user_id)[-2:]
    assert [b["title"] for b in contact[0].buttons] == ["✍️ Nhập họ tên, số điện thoại", "Không để lại thông tin"]
    assert contact[1].template_type == "request_user_info"
    received = user.texts(await user.submit_info(name="Nguyễn Văn An", phone="84912345678", nested=True))
    assert "0912345678" in received
    await user.tap("Nguyễn Văn An")
    await user.tap("Bỏ qua địa chỉ")
    summary = zalo.messages(user.user_id)[-1].text
    assert "Nguyễn Văn An – 0912345678" in summary and "Gửi đơn" in summary
    done = user.texts(await user.pick("Gửi đơn"))
    [ticket] = tickets(app.services.engine)
    assert ticket.code in done and "Phòng Kinh tế" in done and ticket.channel == "zalo"
    assert ticket.type == "kien_nghi" and ticket.category == "ha_tang" and ticket.contact_phone == "0912345678"
    with Session(app.services.engine) as session:
        [photo] = session.exec(select(TicketAttachment)).all()
    assert photo.ref == "https://photo.zalo.test/road.jpg"
    [card] = await telegram.wait_for_messages(int(OFFICE_CHATS["KT"]), 1)
    assert ticket.code in card["text"] and "zalo" in card["text"]
    pin = re.search(r"Mã PIN: (\d{6})", done).group(1)

    # Status lookup: the label typed by hand, then code + PIN from another Zalo account.
    await user.say("tra cuu ho so")
    shown = user.texts(await user.say(ticket.code))
    assert "Đã tiếp nhận" in shown and ticket.answer_due.strftime("%d/%m/%Y") in shown
    stranger = ZaloCitizen(zalo, http, app, "8499999999999999999")
    await stranger.say("/start")
    await stranger.tap("Không đồng ý")
    assert "mã PIN" in stranger.texts(await stranger.say(f"/tracuu {ticket.code}"))
    found = stranger.texts(await stranger.say(f"/tracuu {ticket.code} {pin}"))
    assert f"Hồ sơ {ticket.code}" in found and "Đã tiếp nhận" in found
    with Session(app.services.engine) as session:
        assert {e.status for e in session.exec(select(InboundEvent))} == {"done"}


async def test_digit_label_and_payload_are_the_same_answer(app, zalo, http):
    by_payload = ZaloCitizen(zalo, http, app, "1001")
    by_label = ZaloCitizen(zalo, http, app, "1002")
    by_digit = ZaloCitizen(zalo, http, app, "1003")
    for user in (by_payload, by_label, by_digit):
        await user.say("/start")
    await by_payload.tap("Đồng ý")
    await by_label.say("dong y")
    await by_digit.say("1")
    for user in (by_payload, by_label, by_digit):
        assert "Cảm ơn ông/bà đã đồng ý" in user.texts(zalo.messages(user.user_id)[-2:])
        assert any("Gửi phản ánh" in b["title"] for b in user.last_buttons())


async def test_stale_button_and_unknown_events_on_zalo(app, zalo, http):
    user = ZaloCitizen(zalo, http, app, "2002")
    await user.say("/start")
    old = user.last_buttons()
    await user.tap("Đồng ý")
    stale = user.texts(await user.say(old[0]["payload"]))
    assert "không còn dùng được" in stale
    # A follow greets like /start; an unknown event and an unfollow are acknowledged, no reply.
    quiet = ZaloCitizen(zalo, http, app, "2003")
    follow = {"app_id": app.settings.zalo.app_id, "oa_id": "1", "event_name": "follow", "source": "oa_profile",
              "follower": {"id": "2003"}, "timestamp": str(quiet.now_ms())}
    assert "dữ liệu cá nhân" in quiet.texts(await quiet.post(follow))
    odd = dict(follow, event_name="user_reacted_message", timestamp=str(quiet.now_ms() + 1))
    assert await quiet.post(odd) == []
    assert await quiet.post(dict(follow, event_name="unfollow", timestamp=str(quiet.now_ms() + 2))) == []
    with Session(app.services.engine) as session:
        statuses = {e.event_name: e.status for e in session.exec(select(InboundEvent))}
    assert statuses["user_reacted_message"] == "ignored" and statuses["unfollow"] == "ignored"
