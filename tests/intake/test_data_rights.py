"""Personal-data rights: see, delete (archived case files kept with the reason), retention purge."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.intake.data_rights import purge_expired_personal_data
from storage.models import Citizen, DataRequest, Ticket
from storage.engine import write_session
from testkit.drivers import CoreChat
from testkit.intake_steps import intake_until_contact


def file_ticket(chat: CoreChat, type_label: str, description: str) -> None:
    intake_until_contact(chat, type_label=type_label, description=description)
    chat.press("Nhập họ tên")
    chat.send("Vũ Thị Hoa 0933444555")
    chat.send("Số 12, xóm Giữa, thôn Mẫu 5")           # the sender's address (asked for every kind)
    chat.press("Gửi đơn")


def test_see_and_delete_personal_data(service, services):
    chat = CoreChat(service)
    file_ticket(chat, "Phản ánh", "Đường vào thôn Mẫu 1 bị ngập sâu mỗi khi mưa lớn, đi lại khó")
    file_ticket(chat, "Khiếu nại", "Khiếu nại việc xã thu hồi đất nhà tôi mà không thông báo trước")
    seen = chat.text_of(chat.send("/dulieu"))
    assert "Vũ Thị Hoa" in seen and "0933444555" in seen and "XG-2026-000001" in seen
    assert "Số 12, xóm Giữa" in seen
    chat.send("/xoadulieu")
    done = chat.text_of(chat.press("Xác nhận xóa"))
    assert "XG-2026-000002" in done and "lưu trữ" in done
    with Session(services.engine) as session:
        feedback, complaint = session.exec(select(Ticket).order_by(Ticket.id)).all()
        request = session.exec(select(DataRequest)).one()
        citizen = session.get(Citizen, feedback.citizen_id)
    assert feedback.contact_name == "" and feedback.contact_phone == "" and feedback.contact_address == ""
    assert complaint.contact_name == "Vũ Thị Hoa"            # archived by law, kept
    assert complaint.contact_address == "Số 12, xóm Giữa, thôn Mẫu 5"
    assert request.status == "partial" and request.executed_at is not None
    assert request.due_date > feedback.received_date and not citizen.consent
    assert "Vũ Thị Hoa" not in chat.text_of(chat.send("/dulieu")).split("XG-2026-000002")[0]


def test_retention_purge_erases_only_finished_non_archived(service, services, clock):
    chat = CoreChat(service)
    file_ticket(chat, "Phản ánh", "Rác thải đổ bừa bãi cạnh đường liên thôn gây mùi hôi khó chịu")
    file_ticket(chat, "Kiến nghị", "Đề nghị xã lắp thêm đèn chiếu sáng đường vào trường tiểu học")
    with write_session(services.engine) as session:
        first, second = session.exec(select(Ticket).order_by(Ticket.id)).all()
        first.status = "closed"
        first.updated_at = clock.now() - timedelta(days=2000)
    with write_session(services.engine) as session:
        purged = purge_expired_personal_data(session, now=clock.now(), retention_days=1825)
    assert purged == 1
    with Session(services.engine) as session:
        first, second = session.exec(select(Ticket).order_by(Ticket.id)).all()
    assert first.contact_phone == "" and second.contact_phone == "0933444555"
    assert first.contact_address == "" and second.contact_address == "Số 12, xóm Giữa, thôn Mẫu 5"
