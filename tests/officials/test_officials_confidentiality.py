"""A tố cáo with a canary name and phone goes through the whole lifecycle: the canary reaches no
group, no non-leader official, no search result; only a leader, in private, with a reason, and audited."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from bot.service.transactions import Service
from storage.models import OutboxMessage, ReporterIdentity, TicketEvent
from testkit.office_driver import OfficeChat, add_official, plain, rows_for
from testkit.office_steps import fresh, submit

CANARY_NAME = "Canary Vũ Thị Kín"
CANARY_PHONE = "0977123456"
AUTHOR_ID = "author-secret-4242"
VP = "-1001"


def leaks(text: str) -> bool:
    return CANARY_NAME.split()[0] in text or "Vũ Thị Kín" in text or CANARY_PHONE in text or AUTHOR_ID in text \
        or "977123456" in text or "977 123 456" in text


def test_denunciation_canary_never_reaches_groups_or_officials(service: Service, services):
    leader = add_official(services.engine, user_id="990", role="leader", office=None, name="Chủ tịch xã")
    add_official(services.engine, user_id="991", role="official", office="VP", name="Cán bộ VP")
    add_official(services.engine, user_id="992", role="head", office="VP", name="Chánh VP")
    citizen, ticket = submit(service, user_id=AUTHOR_ID, type_label="Tố cáo",
                             description="Tố cáo cán bộ địa chính nhận tiền để làm nhanh hồ sơ cấp sổ đỏ cho một số hộ",
                             contact=f"{CANARY_NAME} {CANARY_PHONE}")
    assert ticket.type == "to_cao" and ticket.office_code == "VP"
    group = OfficeChat(service, user_id="991", chat_id=VP)
    private = OfficeChat(service, user_id="991")
    group.press("Tiếp nhận", ticket.code)
    group.press("Yêu cầu bổ sung", ticket.code)
    group.send("Đề nghị cung cấp thời gian, địa điểm đưa tiền")
    citizen.send("Khoảng tháng 9 năm 2026 tại trụ sở xã")
    group.press("Trả lời", ticket.code)
    group.send("Đang xác minh nội dung tố cáo")
    group.press("Ghi chú", ticket.code)
    group.send("Chuyển tổ xác minh")
    group.press("Kết quả", ticket.code)
    group.send("Đã xác minh, xử lý kỷ luật cán bộ vi phạm")
    citizen.read()
    citizen.press("Không hài lòng")
    citizen.press("gửi lại")
    head = OfficeChat(service, user_id="992", chat_id=VP)
    head.press("Tiếp nhận", ticket.code)
    head.press("Gia hạn", ticket.code)
    head.send("Cần thêm thời gian xác minh chứng cứ")
    head.press("Kết quả", ticket.code)
    head.send("Kết luận tố cáo đúng một phần")
    citizen.read()
    citizen.press("4 – Hài lòng")
    assert fresh(service, ticket).status == "closed"
    for person in (private, OfficeChat(service, user_id="992")):
        person.send("/viec")
        person.send("/donvi")
        person.send(f"/xem {ticket.code}")
        person.send("/tim Canary")
        person.send("/tim 0977123456")
        person.send("/tim địa chính")
        person.send(f"/danhtinh {ticket.code} muốn biết ai gửi")
    leader_group = OfficeChat(service, user_id="990", chat_id=VP)
    leader_group.send(f"/danhtinh {ticket.code} xác minh nội dung tố cáo")
    leader_group.send(f"/xem {ticket.code}")
    with Session(services.engine) as session:
        rows = list(session.exec(select(OutboxMessage)))
    to_offices = [r for r in rows if r.chat_id.startswith("-") or r.chat_id in ("991", "992")]
    assert len(to_offices) > 20
    # a search result echoes the words the official typed: the results below it must not leak
    texts = [json.loads(r.payload)["text"] for r in to_offices]
    leaked = [t for t in texts if leaks(t.split("\n", 1)[1] if t.startswith("<b>Kết quả tìm") else t)]
    assert leaked == []
    search = plain(rows_for(services.engine, "991"))
    assert "Không có hồ sơ nào phù hợp" in search and ticket.code in search      # found by content, never by name
    # Only a leader, in private chat, with a reason, sees the author; the look is audited.
    OfficeChat(service, user_id=leader.user_id).send(f"/danhtinh {ticket.code} xác minh nội dung tố cáo")
    assert CANARY_NAME in plain(rows_for(services.engine, leader.user_id))
    with Session(services.engine) as session:
        reveals = session.exec(select(TicketEvent).where(TicketEvent.action == "identity_revealed")).all()
        denied = session.exec(select(TicketEvent).where(TicketEvent.action == "denied",
                                                        TicketEvent.ticket_id == ticket.id)).all()
        assert session.exec(select(ReporterIdentity)).one().name == CANARY_NAME
    assert len(reveals) == 1 and "xác minh" in reveals[0].note and not leaks(reveals[0].note)
    assert len(denied) >= 3
    # the author did get every notice on their own chat
    assert "Kết luận tố cáo đúng một phần" in citizen.text_of(citizen.history)
