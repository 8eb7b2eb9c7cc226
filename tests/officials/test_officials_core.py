"""The officials' workflow through the real core and database: registration, card actions,
relay, survey, reopen, transfer, extension, refusal, notes, paper petitions, /theodoi."""

from __future__ import annotations

from testkit.office_steps import ROAD, all_tickets, fresh, submit, ticket_by_owner  # noqa: F401

import json
from datetime import timedelta

from sqlmodel import Session, col, select

from bot.officials.invites import create_invite
from bot.service.transactions import Service
from bot.intake.surveys import due_survey_actions, run_due_survey_actions, satisfaction_stats
from storage.engine import write_session
from storage.models import Official, SatisfactionSurvey, Ticket, TicketCard, TicketEvent
from testkit.drivers import CoreChat
from testkit.office_driver import OfficeChat, add_official, payloads, plain, rows_for

KT, VP, VHXH = "-1002", "-1001", "-1003"










def events(service: Service, ticket: Ticket | None = None) -> list[TicketEvent]:
    with Session(service.services.engine) as session:
        stmt = select(TicketEvent).order_by(col(TicketEvent.id))
        if ticket is not None:
            stmt = stmt.where(TicketEvent.ticket_id == ticket.id)
        return list(session.exec(stmt))


def test_invite_registers_once_and_expires(service: Service, services, clock):
    with write_session(services.engine) as session:
        code = create_invite(session, role="official", office_code="KT", now=clock.now(), hours=72)
        old = create_invite(session, role="official", office_code="KT", now=clock.now() - timedelta(hours=73),
                            hours=72)
    me = OfficeChat(service, user_id="501")
    me.send(f"/dangky {code.lower()} Trần Thị Bình")
    assert "Đăng ký thành công" in plain(rows_for(services.engine, "501"))
    with Session(services.engine) as session:
        official = session.exec(select(Official)).one()
        stored = [row.code_hash for row in session.exec(select(__import__("storage.models").models.OfficialInvite))]
    assert official.office_code == "KT" and official.role == "official" and official.display_name == "Trần Thị Bình"
    assert code not in " ".join(stored)                     # only a hash is stored
    other = OfficeChat(service, user_id="502")
    other.send(f"/dangky {code}")
    other.send(f"/dangky {old}")
    text = plain(rows_for(services.engine, "502"))
    assert "đã được sử dụng" in text and "hết hạn" in text


def test_full_lifecycle_with_relay_survey_and_reopen(service: Service, services, clock):
    head = add_official(services.engine, user_id="900", role="head", office="KT", name="Trưởng phòng Hà")
    add_official(services.engine, user_id="901", role="official", office="KT", name="Lê Văn Cường")
    citizen, ticket = submit(service)
    group = OfficeChat(service, user_id="901", chat_id=KT)
    [card] = payloads(rows_for(services.engine, KT))
    assert ticket.code in card["text"] and "card_id" in card
    assert all(len(b["payload"].encode()) <= 64 for row in card["buttons"] for b in row)

    group.press("Tiếp nhận", ticket.code)
    t = fresh(service, ticket)
    assert t.status == "accepted" and t.assignee_id is not None
    assert "tiếp nhận" in citizen.text_of(citizen.read())
    edit = payloads(rows_for(services.engine, KT))[-1]
    assert edit.get("edit_card") == card["card_id"] and "Lê Văn Cường" in edit["text"]

    group.press("Yêu cầu bổ sung", ticket.code)
    prompt = payloads(rows_for(services.engine, KT))[-1]
    assert prompt["force_reply"] is True
    group.send("Đề nghị ông/bà chụp ảnh đoạn đường sạt lở và cho biết km số mấy")
    assert fresh(service, ticket).status == "waiting_citizen"
    asked = citizen.text_of(citizen.read())
    assert "chụp ảnh đoạn đường" in asked
    relayed = citizen.send("Đoạn sạt ở km 3, gần nhà văn hóa thôn")
    assert "Đã chuyển thông tin bổ sung" in citizen.text_of(relayed)
    assert "km 3, gần nhà văn hóa" in plain(rows_for(services.engine, KT))
    assert fresh(service, ticket).status == "accepted"

    group.press("Trả lời", ticket.code)
    group.send("Xã đã cử cán bộ kiểm tra hiện trường sáng nay")
    assert "kiểm tra hiện trường" in citizen.text_of(citizen.read())
    assert fresh(service, ticket).status == "in_progress"

    group.press("Kết quả", ticket.code)
    group.send("Đã san lấp tạm và cắm biển cảnh báo; sẽ sửa dứt điểm trong tháng 12")
    answer = citizen.read()
    assert "san lấp tạm" in citizen.text_of(answer)
    assert fresh(service, ticket).status == "resolved"
    citizen.press("Rất không hài lòng")
    assert fresh(service, ticket).status == "resolved"
    citizen.press("gửi lại")
    assert fresh(service, ticket).status == "reopened"
    assert "mở lại" in plain(rows_for(services.engine, head.user_id))   # the head hears privately

    group.press("Tiếp nhận", ticket.code)
    group.press("Kết quả", ticket.code)
    group.send("Đã đổ bê tông lại toàn bộ đoạn đường sạt lở")
    citizen.read()
    citizen.press("Rất hài lòng")
    citizen.send("Cảm ơn cán bộ xã đã làm nhanh")
    t = fresh(service, ticket)
    assert t.status == "closed" and t.closed_at is not None
    with Session(services.engine) as session:
        surveys = session.exec(select(SatisfactionSurvey).order_by(col(SatisfactionSurvey.round))).all()
        assert [s.rating for s in surveys] == [1, 5] and "làm nhanh" in surveys[1].comment
        stats = satisfaction_stats(session)
    assert stats["satisfaction"] == 0.5 and stats["response_rate"] == 1.0
    actions = [e.action for e in events(service, ticket)]
    for expected in ("accepted", "info_requested", "citizen_answered", "progress", "resolved", "survey",
                     "reopened", "closed"):
        assert expected in actions
    # the citizen never sees which official handled the case
    assert "Lê Văn Cường" not in citizen.text_of(citizen.history)


def test_transfer_extend_refuse_and_note(service: Service, services):
    add_official(services.engine, user_id="911", role="official", office="KT", name="Cán bộ KT")
    add_official(services.engine, user_id="912", role="head", office="VHXH", name="Trưởng VHXH")
    citizen, ticket = submit(service)
    kt = OfficeChat(service, user_id="911", chat_id=KT)
    old_accept = kt.payload_of("Tiếp nhận", ticket.code)
    kt.press("Chuyển đơn vị", ticket.code)
    kt.press("Văn hóa")
    kt.send("Nội dung liên quan trường học, thuộc lĩnh vực giáo dục")
    t = fresh(service, ticket)
    assert t.office_code == "VHXH" and t.status == "transferred" and t.assignee_id is None
    assert "Phòng Văn hóa" in citizen.text_of(citizen.read())
    assert ticket.code in payloads(rows_for(services.engine, VHXH))[0]["text"]
    assert payloads(rows_for(services.engine, KT))[-1]["buttons"] == []        # the old card goes quiet
    before = len(events(service))
    assert kt.send(payload=old_accept).callback_text == "Không có quyền"     # the old office's card is dead
    t = fresh(service, ticket)
    assert t.status == "transferred" and t.assignee_id is None

    vh = OfficeChat(service, user_id="912", chat_id=VHXH)
    vh.press("Tiếp nhận", ticket.code)
    due = fresh(service, ticket).resolve_due
    vh.press("Gia hạn", ticket.code)
    vh.send("Cần phối hợp với trường học để xác minh")
    t = fresh(service, ticket)
    assert t.resolve_due > due and "gia hạn" in citizen.text_of(citizen.read())
    vh.press("Ghi chú", ticket.code)
    vh.send("Đã gọi điện cho hiệu trưởng, chờ phản hồi")
    assert "hiệu trưởng" not in citizen.text_of(citizen.read())
    assert any(e.action == "note" and "hiệu trưởng" in e.note for e in events(service, ticket))
    vh.press("Không thuộc thẩm quyền", ticket.code)
    vh.send("Đề nghị ông/bà liên hệ Sở Giáo dục và Đào tạo tỉnh Tuyên Quang")
    assert fresh(service, ticket).status == "refused"
    assert "Sở Giáo dục" in citizen.text_of(citizen.read())
    assert len(events(service)) > before


def test_officials_commands_lists_search_and_history(service: Service, services):
    add_official(services.engine, user_id="921", role="official", office="KT", name="Cán bộ A")
    add_official(services.engine, user_id="922", role="official", office="CA", name="Cán bộ Công an")
    _, ticket = submit(service)
    group = OfficeChat(service, user_id="921", chat_id=KT)
    group.press("Tiếp nhận", ticket.code)
    me = OfficeChat(service, user_id="921")
    me.send("/viec")
    me.send("/donvi")
    me.send("/tim sạt lở")
    me.send(f"/xem {ticket.code}")
    text = plain(rows_for(services.engine, "921"))
    assert text.count(ticket.code) >= 4 and "Lịch sử" in text and "tiếp nhận" in text
    other = OfficeChat(service, user_id="922")
    other.send("/tim sạt lở")
    other.send(f"/xem {ticket.code}")
    text = plain(rows_for(services.engine, "922"))
    assert ticket.code not in text and "Không có quyền" in text


def test_survey_reminder_then_auto_close(service: Service, services, clock):
    add_official(services.engine, user_id="931", role="official", office="KT")
    citizen, ticket = submit(service)
    group = OfficeChat(service, user_id="931", chat_id=KT)
    group.press("Tiếp nhận", ticket.code)
    group.press("Kết quả", ticket.code)
    group.send("Đã sửa xong đoạn đường")
    citizen.read()
    settings = services.settings

    def due(days: float):
        with Session(services.engine) as session:
            return due_survey_actions(session, clock.now() + timedelta(days=days),
                                      remind_after_days=settings.surveys.remind_after_days,
                                      close_after_days=settings.surveys.close_after_days)

    assert due(2.9) == []
    assert [a.kind for a in due(3.1)] == ["remind"]
    assert run_due_survey_actions(services, clock.now() + timedelta(days=3.1)) == {"remind": 1, "close": 0}
    assert "nhắc lại" in citizen.text_of(citizen.read())
    assert due(4) == []                                   # asked once more only
    assert [a.kind for a in due(7.1)] == ["close"]
    assert run_due_survey_actions(services, clock.now() + timedelta(days=7.1)) == {"remind": 0, "close": 1}
    assert fresh(service, ticket).status == "closed"
    assert due(30) == []


def test_paper_petition_receipt_and_follow(service: Service, services):
    add_official(services.engine, user_id="941", role="official", office="VP", name="Văn thư")
    me = OfficeChat(service, user_id="941")
    me.send("/nhapdon")
    me.press("Thư")
    me.send("24/11/2026")
    me.press("Kiến nghị")
    me.send("Đề nghị xã lắp thêm đèn chiếu sáng đường vào trường tiểu học thôn Mẫu 1")
    me.send("1")                                          # the suggested category, by its number
    me.press("Mẫu 1")
    me.send("Phạm Thị Dung 0987654321")
    me.press("Bỏ qua địa chỉ")                          # optional for a kiến nghị
    me.press("Gửi đơn")
    receipt = plain(rows_for(services.engine, "941"))
    [ticket] = all_tickets(service)
    assert ticket.source == "letter" and ticket.received_date.isoformat() == "2026-11-24"
    assert ticket.code in receipt and "/theodoi" in receipt
    pin = receipt.split("Mã tra cứu (PIN):")[1].split()[0]
    follower = CoreChat(service, user_id="c77")
    wrong = "111111" if pin != "111111" else "222222"
    assert "nhận thông báo" not in follower.text_of(follower.send(f"/theodoi {ticket.code} {wrong}"))
    assert "nhận thông báo" in follower.text_of(follower.send(f"/theodoi {ticket.code} {pin}"))
    office = settings_office_chat(ticket.office_code)
    add_official(services.engine, user_id="942", role="official", office=ticket.office_code)
    OfficeChat(service, user_id="942", chat_id=office).press("Tiếp nhận", ticket.code)
    assert "tiếp nhận" in follower.text_of(follower.read())


def test_paper_complaint_requires_the_senders_address(service: Service, services):
    """A khiếu nại on paper: name and address by law, as in the citizen's own intake. No skip button,
    nonsense refused, the address kept apart from the hamlet where the matter happened."""
    add_official(services.engine, user_id="943", role="official", office="VP", name="Văn thư")
    me = OfficeChat(service, user_id="943")

    def newest(count: int = 1) -> str:
        return plain(rows_for(services.engine, "943")[-count:])

    me.send("/nhapdon")
    me.press("Trực tiếp")
    me.send("hôm nay")
    me.press("Khiếu nại")
    me.send("Khiếu nại quyết định thu hồi đất của UBND xã đối với thửa đất nhà tôi ở thôn Mẫu 2")
    me.send("1")
    me.press("Mẫu 2")
    me.send("Lê Văn Cường 0912333444")
    assert "phải ghi rõ họ tên và địa chỉ" in newest()
    assert not any("Bỏ qua" in label for label, _ in me.buttons())
    me.send("payload", payload="p:skip")                 # a forged skip is not accepted for a khiếu nại
    assert "Chưa đọc được địa chỉ" in newest(2)       # the refusal, then the question again
    me.send("ok")
    assert "Chưa đọc được địa chỉ" in newest(2)
    me.send("Xóm 3, thôn Đồng Tâm, xã Xuân Giang")
    assert "Địa chỉ người gửi: Xóm 3, thôn Đồng Tâm, xã Xuân Giang" in newest()
    me.press("Gửi đơn")
    [ticket] = all_tickets(service)
    assert ticket.type == "khieu_nai" and "Mẫu 2" in ticket.hamlet
    assert ticket.contact_address == "Xóm 3, thôn Đồng Tâm, xã Xuân Giang"


def settings_office_chat(code: str) -> str:
    from testkit.config import OFFICE_CHATS

    return OFFICE_CHATS[code]


def test_unregistered_group_is_left_and_admin_can_bind_group(service: Service, services):
    stranger_group = OfficeChat(service, user_id="951", chat_id="-1009")
    assert stranger_group.send("xin chào").leave_chat is True
    add_official(services.engine, user_id="952", role="admin", office=None)
    admin = OfficeChat(service, user_id="952", chat_id="-1009")
    result = admin.send("/ganphong QS")
    assert result.leave_chat is False and "Ban Chỉ huy quân sự" in plain(rows_for(services.engine, "-1009"))
    assert stranger_group.send("xin chào").leave_chat is False


def test_card_edit_rows_target_the_card(service: Service, services):
    add_official(services.engine, user_id="961", role="official", office="KT")
    _, ticket = submit(service)
    OfficeChat(service, user_id="961", chat_id=KT).press("Tiếp nhận", ticket.code)
    with Session(services.engine) as session:
        [card] = session.exec(select(TicketCard)).all()
    rows = payloads(rows_for(services.engine, KT))
    assert rows[0]["card_id"] == card.id and rows[-1]["edit_card"] == card.id
    assert json.dumps(rows[-1]).count("Tiếp nhận") == 0      # accepted: no accept button any more


def test_console_citizen_answers_survey_with_numbers(service: Service, services):
    add_official(services.engine, user_id="971", role="official", office="KT")
    citizen, ticket = submit(service)
    group = OfficeChat(service, user_id="971", chat_id=KT)
    group.press("Tiếp nhận", ticket.code)
    group.press("Kết quả", ticket.code)
    group.send("Đã sửa xong đoạn đường")
    citizen.read()
    thanks = citizen.text_of(citizen.send("4"))
    assert "Cảm ơn ông/bà đã đánh giá" in thanks
    with Session(services.engine) as session:
        assert session.exec(select(SatisfactionSurvey)).one().rating == 4
    assert fresh(service, ticket).status == "closed"
    assert "Cảm ơn" in citizen.text_of(citizen.send("1"))        # the skip button, by number


def test_group_talk_after_a_while_is_not_taken_as_the_prompt_answer(service: Service, services, clock):
    add_official(services.engine, user_id="981", role="official", office="KT")
    _, ticket = submit(service)
    group = OfficeChat(service, user_id="981", chat_id=KT)
    group.press("Ghi chú", ticket.code)
    clock.advance(minutes=15)
    group.send("Chiều nay họp giao ban lúc 14 giờ nhé mọi người")
    assert not any(e.action == "note" for e in events(service, ticket))
    group.send("Đã liên hệ trưởng thôn để kiểm tra", reply_to_bot=True)
    notes = [e for e in events(service, ticket) if e.action == "note"]
    assert len(notes) == 1 and "trưởng thôn" in notes[0].note


def test_inspector_gets_numbers_only(service: Service, services):
    add_official(services.engine, user_id="991", role="inspector", office=None)
    add_official(services.engine, user_id="992", role="official", office="KT")
    _, ticket = submit(service)
    inspector = OfficeChat(service, user_id="991")
    inspector.send("/thongke")
    inspector.send(f"/xem {ticket.code}")
    inspector.send("/tim sạt lở")
    text = plain(rows_for(services.engine, "991"))
    assert "Tổng số hồ sơ: 1" in text and "Phản ánh: 1" in text
    assert ticket.code not in text and "sạt lở" not in text and "Nguyễn Văn An" not in text
    assert text.count("Không có quyền") == 2
    OfficeChat(service, user_id="992").send("/thongke")
    assert "Phòng Kinh tế" in plain(rows_for(services.engine, "992"))


def test_complaint_clock_starts_at_acceptance_and_extension_stops_at_legal_maximum(service: Service, services,
                                                                                    clock):
    from datetime import date

    add_official(services.engine, user_id="995", role="head", office="VP", name="Chánh văn phòng")
    citizen, ticket = submit(service, type_label="Khiếu nại",
                             description="Tôi khiếu nại quyết định xử phạt của xã vì đo sai diện tích đất nhà tôi")
    assert ticket.type == "khieu_nai" and ticket.accept_due is not None
    clock.advance(days=4)                                  # accepted on Monday 30/11/2026
    group = OfficeChat(service, user_id="995", chat_id=VP)
    group.press("Tiếp nhận", ticket.code)
    t = fresh(service, ticket)
    assert t.resolve_due == date(2026, 12, 30)             # 30 calendar days from acceptance
    group.press("Gia hạn", ticket.code)
    group.send("Vụ việc phức tạp, cần đo đạc lại")
    assert fresh(service, ticket).resolve_due == date(2027, 1, 14)     # 45 days: the legal maximum
    assert "14/01/2027" in citizen.text_of(citizen.read())
    group.press("Gia hạn", ticket.code)
    assert "tối đa" in plain(rows_for(services.engine, VP)[-1:])
    assert fresh(service, ticket).resolve_due == date(2027, 1, 14)
