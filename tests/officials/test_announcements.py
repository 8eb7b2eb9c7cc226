"""Announcements: citizens opt in once after their first ticket or with /dangkytin, opt out with
/huytin; a leader's /thongbao is previewed, confirmed and reaches every opted-in citizen through the
outbox (Zalo users silent for more than 7 days are reported as not reachable)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session, col, select

from bot.officials.announcements import handle_leader_input
from bot.core.domain import Channel
from storage.engine import write_session
from storage.models import Announcement, ChannelIdentity, Citizen, NoticeSubscription, OutboxMessage
from testkit.drivers import CoreChat

ROAD = "Đường bê tông vào thôn bị sụt lún, có ổ gà lớn, trời mưa xe máy đi rất nguy hiểm"
LEADER = "official:1"


def file_ticket(chat: CoreChat) -> str:
    chat.send("/start")
    if any("Đồng ý" in b for b, _ in chat.last_buttons()):
        chat.press("Đồng ý")
    chat.press("Gửi phản ánh")
    chat.press("Phản ánh")
    chat.send(ROAD)
    for label in ("Hạ tầng", "Không rõ", "Tiếp tục", "Một mình"):
        if any(label.lower() in b.lower() for b, _ in chat.last_buttons()):
            chat.press(label)
    if any("không để lại" in b.lower() for b, _ in chat.last_buttons()):
        chat.press("Không để lại")
    replies = chat.press("Gửi đơn")
    return CoreChat.text_of(replies)


def outbox_for(engine, chat_id: str) -> list[dict]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                            .order_by(col(OutboxMessage.id))).all()
    return [json.loads(r.payload) for r in rows]


def test_offer_once_after_first_ticket_and_commands(service):
    chat = CoreChat(service, user_id="3001")
    text = file_ticket(chat)
    assert "nhận các thông báo của UBND xã" in text
    assert "đã đăng ký nhận thông báo" in CoreChat.text_of(chat.press("Có, nhận"))
    # A second ticket: not asked again.
    assert "nhận các thông báo" not in file_ticket(chat)
    assert "không nhận thông báo chung" in CoreChat.text_of(chat.send("/huytin"))
    with Session(service.services.engine) as session:
        row = session.exec(select(NoticeSubscription)).one()
    assert row.subscribed is False
    chat.send("/dangkytin")
    with Session(service.services.engine) as session:
        assert session.exec(select(NoticeSubscription)).one().subscribed is True


def test_leader_announcement_preview_confirm_and_reach(service, clock):
    services = service.services
    subscribed = CoreChat(service, user_id="3101", channel=Channel.TELEGRAM)
    file_ticket(subscribed)
    subscribed.press("Có, nhận")
    declined = CoreChat(service, user_id="3102", channel=Channel.TELEGRAM)
    file_ticket(declined)
    declined.press("Không, cảm ơn")
    never_asked = CoreChat(service, user_id="3103", channel=Channel.TELEGRAM)
    never_asked.send("/start")
    never_asked.press("Đồng ý")
    never_asked.send("/dangkytin")
    now = clock.now()
    with write_session(services.engine) as session:     # a Zalo citizen silent for 10 days
        citizen = Citizen(consent=True, created_at=now, updated_at=now)
        session.add(citizen)
        session.flush()
        session.add(ChannelIdentity(citizen_id=citizen.id, channel="zalo", user_id="z1", chat_id="z1",
                                    last_seen_at=now - timedelta(days=10)))
        session.add(NoticeSubscription(citizen_id=citizen.id, subscribed=True, asked_at=now, changed_at=now))

    body = "Lịch tiếp công dân tuần này chuyển sang <thứ Sáu> 04/12/2026 & tại hội trường UBND xã."
    with write_session(services.engine) as session:
        preview = handle_leader_input(session, services.settings, services.texts, author=LEADER, now=now,
                                      text=f"/thongbao {body}")
    assert preview is not None and len(preview) == 2
    assert "&lt;thứ Sáu&gt;" in preview[0].text and "&amp;" in preview[0].text       # escaped
    assert "tới <b>2</b> người" in preview[1].text and "1 người dùng Zalo" in preview[1].text
    send_payload = preview[1].buttons[0][0].payload
    assert outbox_for(services.engine, "3101")[-1]["text"].find("Lịch tiếp công dân") == -1   # not yet sent
    with write_session(services.engine) as session:
        report = handle_leader_input(session, services.settings, services.texts, author=LEADER, now=now,
                                     payload=send_payload)
    assert "tới <b>2</b> người" in report[0].text and "Không liên lạc được: 1" in report[0].text
    assert "Lịch tiếp công dân" in outbox_for(services.engine, "3101")[-1]["text"]
    assert "Lịch tiếp công dân" in outbox_for(services.engine, "3103")[-1]["text"]
    assert all("Lịch tiếp công dân" not in m["text"] for m in outbox_for(services.engine, "3102"))
    # Pressing "send" again sends nothing more.
    with write_session(services.engine) as session:
        again = handle_leader_input(session, services.settings, services.texts, author=LEADER, now=now,
                                    payload=send_payload)
    assert "đã được gửi" in again[0].text
    with Session(services.engine) as session:
        row = session.exec(select(Announcement)).one()
    assert (row.status, row.sent_count, row.unreachable_count) == ("sent", 2, 1)
    assert sum("Lịch tiếp công dân" in m["text"] for m in outbox_for(services.engine, "3101")) == 1


def test_cancel_and_foreign_input(service, clock):
    services = service.services
    with write_session(services.engine) as session:
        assert handle_leader_input(session, services.settings, services.texts, author=LEADER, now=clock.now(),
                                   text="xin chào") is None
        replies = handle_leader_input(session, services.settings, services.texts, author=LEADER,
                                      now=clock.now(), text="/thongbao Họp dân thôn Mẫu 1 lúc 19h")
        cancel = replies[1].buttons[0][1].payload
        assert "Đã hủy" in handle_leader_input(session, services.settings, services.texts, author=LEADER,
                                               now=clock.now(), payload=cancel)[0].text
        assert session.exec(select(Announcement)).one().status == "cancelled"


def test_leader_announces_from_private_chat_through_the_officials_dispatcher(service, services):
    from testkit.office_driver import OfficeChat, add_official, plain, rows_for

    citizen = CoreChat(service, user_id="4401", channel=Channel.TELEGRAM)
    file_ticket(citizen)
    citizen.press("Có, nhận")                        # yes to the commune's notices
    add_official(services.engine, user_id="9001", role="leader", office=None)
    leader = OfficeChat(service, user_id="9001")
    leader.send("/thongbao Lịch tiếp công dân tuần này: sáng thứ Năm tại trụ sở UBND xã.")
    assert "Lịch tiếp công dân" in plain(rows_for(services.engine, "9001"))
    leader.press("Gửi")
    received = [p["text"] for p in outbox_for(services.engine, "4401")]
    assert any("Lịch tiếp công dân" in t for t in received)
    # An ordinary official cannot announce.
    add_official(services.engine, user_id="9002", role="official", office="KT")
    OfficeChat(service, user_id="9002").send("/thongbao Lịch họp")
    assert "Lịch họp" not in plain(rows_for(services.engine, "9002"))
