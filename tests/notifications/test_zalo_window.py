"""Zalo's 7-day consultation window: a message to a citizen silent for 8 days is held (not lost),
the office is asked to phone them, and it is delivered when they next write."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from bot.core.domain import Reply
from storage.engine import write_session
from storage.models import OutboxMessage, TicketEvent
from storage.outbox import enqueue_message
from testkit.config import OFFICE_CHATS
from testkit.zalo_driver import ZaloCitizen, file_petition, settled, start_app, zalo_settings

ROAD = "Đèn đường ở thôn Mẫu 2 bị hỏng cả tháng nay, buổi tối đi lại rất tối và nguy hiểm"
DENOUNCE = "Tố cáo cán bộ địa chính nhận tiền để làm nhanh sổ đỏ cho một số hộ ở thôn Mẫu 2"


async def running(tmp_path, database_url, engine, clock, zalo, telegram, mutate=None):
    return await start_app(zalo_settings(tmp_path, database_url, zalo, telegram.url, mutate=mutate), engine, clock)


async def notify_citizen(app, user_id: str, code: str, text: str) -> int:
    """What a status update does: an outbox row to the citizen's Zalo chat, then wake the sender."""
    with write_session(app.services.engine) as session:
        row = enqueue_message(session, channel="zalo", chat_id=user_id, payload=Reply(text=text).to_json(),
                              now=app.services.clock.now(), ticket_code=code)
        session.flush()
        row_id = int(row.id)
    app.sender.wake()
    await settled(app.services.engine)
    return row_id


def outbox_row(engine, row_id: int) -> OutboxMessage:
    with Session(engine) as session:
        return session.get(OutboxMessage, row_id)


def events(engine, action: str) -> list[TicketEvent]:
    with Session(engine) as session:
        return list(session.exec(select(TicketEvent).where(TicketEvent.action == action)))


async def test_silent_for_eight_days_is_held_then_delivered(tmp_path, database_url, engine, clock, zalo, telegram,
                                                            http):
    app = await running(tmp_path, database_url, engine, clock, zalo, telegram)
    try:
        user = ZaloCitizen(zalo, http, app, "8411111111111111111")
        code = await file_petition(user, type_label="Phản ánh", description=ROAD, name="Trần Thị Bình",
                                   phone="84987654321")
        await telegram.wait_for_messages(int(OFFICE_CHATS["KT"]), 1)
        clock.advance(days=8)
        row_id = await notify_citizen(app, user.user_id, code, f"Hồ sơ <b>{code}</b> đã có kết quả giải quyết.")
        assert outbox_row(engine, row_id).status == "held" and user.new_messages() == []
        [_, phone_call] = await telegram.wait_for_messages(int(OFFICE_CHATS["KT"]), 2)
        assert code in phone_call["text"] and "0987654321" in phone_call["text"]
        assert len(events(engine, "citizen_unreachable")) == 1
        # A second update while still silent is held too, without a second phone request.
        second = await notify_citizen(app, user.user_id, code, "Cán bộ sẽ liên hệ lại.")
        assert outbox_row(engine, second).status == "held"
        assert len(telegram.sent_messages(int(OFFICE_CHATS["KT"]))) == 2
        clock.advance(days=2)
        arrived = await user.say("Xin chào")
        assert [m.text for m in arrived[:2]] == [f"Hồ sơ {code} đã có kết quả giải quyết.", "Cán bộ sẽ liên hệ lại."]
        assert len(arrived) > 2                      # then the answer to what they just wrote
        assert {outbox_row(engine, i).status for i in (row_id, second)} == {"sent"}
    finally:
        await app.stop()


async def test_zalo_saying_window_closed_also_holds(tmp_path, database_url, engine, clock, zalo, telegram, http):
    app = await running(tmp_path, database_url, engine, clock, zalo, telegram)
    try:
        user = ZaloCitizen(zalo, http, app, "8422222222222222222")
        code = await file_petition(user, type_label="Kiến nghị", description=ROAD)
        zalo.state.closed_window.add(user.user_id)       # our clock says open; Zalo says -230
        row_id = await notify_citizen(app, user.user_id, code, "Đã có kết quả.")
        assert outbox_row(engine, row_id).status == "held"
        assert len(events(engine, "citizen_unreachable")) == 1       # audited; no phone given, no call request
        assert len(telegram.sent_messages(int(OFFICE_CHATS["KT"]))) == 1
        zalo.state.closed_window.clear()
        assert "Đã có kết quả." in user.texts(await user.say("alo"))
    finally:
        await app.stop()


async def test_denunciation_phone_never_reaches_the_group(tmp_path, database_url, engine, clock, zalo, telegram,
                                                          http):
    app = await running(tmp_path, database_url, engine, clock, zalo, telegram)
    try:
        user = ZaloCitizen(zalo, http, app, "8433333333333333333")
        code = await file_petition(user, type_label="Tố cáo", description=DENOUNCE, name="Canary Đỗ Mật",
                                   phone="84909888777")
        clock.advance(days=8)
        await notify_citizen(app, user.user_id, code, "Đã thụ lý tố cáo.")
        messages = await telegram.wait_for_messages(int(OFFICE_CHATS["VP"]), 2)
        assert code in messages[1]["text"] and "bí mật" in messages[1]["text"]
        assert all("0909888777" not in str(m) and "Canary" not in str(m) for m in messages)
    finally:
        await app.stop()


async def test_approved_template_goes_out_instead_of_a_phone_call(tmp_path, database_url, engine, clock, zalo,
                                                                  telegram, http):
    def mutate(raw):
        raw["zalo"]["template"] = {"template_id": "tpl-123", "text_param": "noi_dung", "max_chars": 60}
    app = await running(tmp_path, database_url, engine, clock, zalo, telegram, mutate)
    try:
        user = ZaloCitizen(zalo, http, app, "8444444444444444444")
        code = await file_petition(user, type_label="Phản ánh", description=ROAD, name="Lê Văn Cường",
                                   phone="0911222333")
        clock.advance(days=8)
        long_update = f"Hồ sơ {code} đã có kết quả giải quyết: " + "chi tiết " * 30
        row_id = await notify_citizen(app, user.user_id, code, long_update)
        [template] = [m for m in user.new_messages() if m.path.endswith("/template")]
        assert template.body["template_id"] == "tpl-123"
        assert template.body["template_data"]["noi_dung"].startswith(f"Hồ sơ {code}")
        assert len(template.body["template_data"]["noi_dung"]) <= 60
        assert outbox_row(engine, row_id).status == "held"
        assert len(telegram.sent_messages(int(OFFICE_CHATS["KT"]))) == 1       # the card only, no phone request
        assert long_update.strip() in user.texts(await user.say("Tôi muốn xem chi tiết"))
    finally:
        await app.stop()


async def test_held_rows_do_not_block_other_chats(tmp_path, database_url, engine, clock, zalo, telegram, http):
    app = await running(tmp_path, database_url, engine, clock, zalo, telegram)
    try:
        quiet = ZaloCitizen(zalo, http, app, "8455555555555555555")
        await quiet.say("/start")
        clock.advance(days=8)
        await notify_citizen(app, quiet.user_id, "", "Tin chung")
        active = ZaloCitizen(zalo, http, app, "8466666666666666666")
        assert "dữ liệu cá nhân" in active.texts(await active.say("/start"))
        with Session(engine) as session:
            held = session.exec(select(OutboxMessage).where(OutboxMessage.status == "held")).all()
        assert [json.loads(h.payload)["text"] for h in held] == ["Tin chung"]
    finally:
        await app.stop()
