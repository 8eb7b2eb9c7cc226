"""The intake conversation through the real core and a real database (console channel)."""

from __future__ import annotations

from testkit.intake_steps import ROAD, intake_until_contact  # noqa: F401

import unicodedata

from sqlmodel import Session, select

from bot.core.domain import Location, Contact, Attachment
from bot.core.pins import check_pin
from bot.service.transactions import Service
from storage.models import Conversation, OutboxMessage, ReporterIdentity, Ticket, TicketEvent
from testkit.drivers import CoreChat



def tickets(engine) -> list[Ticket]:
    with Session(engine) as session:
        return list(session.exec(select(Ticket).order_by(Ticket.id)))


def outbox_for(engine, chat_id: str) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)))




def test_complete_intake_creates_routed_ticket_with_card(service: Service, services):
    chat = CoreChat(service)
    intake_until_contact(chat, type_label="Phản ánh")
    chat.press("Nhập họ tên")
    chat.send("Nguyễn Văn An 0912 345 678")
    assert "địa chỉ nơi ở" in chat.text_of(chat.history[-1:])        # offered, optional for a phản ánh
    chat.send("Số 5, xóm Bãi, thôn Mẫu 1")
    summary = chat.text_of(chat.history[-1:])
    assert "Thôn Mẫu 2" in summary and "Nguyễn Văn An" in summary and "0912345678" in summary
    assert "Địa chỉ người gửi: Số 5, xóm Bãi, thôn Mẫu 1" in summary
    done = chat.text_of(chat.press("Gửi đơn"))
    [ticket] = tickets(services.engine)
    assert ticket.code.startswith("XG-2026-") and ticket.code in done
    assert ticket.type == "phan_anh" and ticket.category == "ha_tang" and ticket.office_code == "KT"
    assert ticket.hamlet == "Thôn Mẫu 2 (mẫu)" and ticket.contact_phone == "0912345678"
    assert ticket.contact_address == "Số 5, xóm Bãi, thôn Mẫu 1"          # the sender's, not the incident's
    assert "Phòng Kinh tế" in done and ticket.answer_due.strftime("%d/%m/%Y") in done
    pin = done.split("Mã PIN:")[1].split()[0]
    assert check_pin(ticket.code, pin, ticket.pin_hash)
    [card] = outbox_for(services.engine, "-1002")
    assert ticket.code in card.payload and "Nguyễn Văn An" in card.payload
    with Session(services.engine) as session:
        events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
    assert [e.action for e in events] == ["created"]


def test_without_consent_only_anonymous_feedback(service: Service, services):
    chat = CoreChat(service)
    chat.send("/start")
    chat.press("Không đồng ý")
    chat.press("Gửi phản ánh")
    labels = [label for label, _ in chat.last_buttons()]
    assert "Phản ánh" in labels and "Góp ý" in labels
    assert "Khiếu nại" not in labels and "Tố cáo" not in labels
    chat.press("Góp ý")
    chat.send("De nghi xa lap them den duong o ngo xom de ban dem di lai an toan hon")
    chat.press(chat.last_buttons()[0][0])
    chat.press("Không rõ")
    chat.press("Tiếp tục")
    text = chat.text_of(chat.history[-1:])
    assert "không ghi danh" in text
    done = chat.text_of(chat.press("Gửi đơn"))
    [ticket] = tickets(services.engine)
    assert ticket.citizen_id is None and ticket.anonymous and ticket.contact_name == ""
    assert f"/tracuu {ticket.code}" in done


def test_anonymous_complaint_is_refused(service: Service, services):
    chat = CoreChat(service)
    intake_until_contact(chat, type_label="Khiếu nại",
                         description="Tôi khiếu nại việc cán bộ địa chính đo sai ranh giới thửa đất nhà tôi")
    refused = chat.text_of(chat.press("Không để lại"))
    assert "không thể gửi ẩn danh" in refused
    assert not tickets(services.engine)
    chat.press("Để lại họ tên")
    chat.send("Trần Thị Bình, 0987654321")
    asked = chat.text_of(chat.history[-1:])
    assert "phải ghi rõ họ tên và địa chỉ" in asked and not chat.history[-1].buttons   # required: no skip
    assert "rõ hơn" in chat.text_of(chat.send("abc"))
    chat.send("Xóm Đồi, thôn Mẫu 3")
    chat.press("Gửi đơn")
    [ticket] = tickets(services.engine)
    assert ticket.contact_address == "Xóm Đồi, thôn Mẫu 3"
    assert ticket.type == "khieu_nai" and ticket.office_code == "VP" and ticket.accept_due is not None


def test_denunciation_identity_kept_apart_and_out_of_card(service: Service, services):
    chat = CoreChat(service)
    intake_until_contact(chat, type_label="Tố cáo",
                         description="Tố cáo ông trưởng thôn thu tiền trái phép của các hộ làm đường bê tông")
    chat.press("Nhập họ tên")
    chat.send("Canary Hoàng Văn Bí 0911222333")
    chat.send("Canary xóm Kín, thôn Mẫu 4")
    chat.press("Gửi đơn")
    [ticket] = tickets(services.engine)
    assert ticket.citizen_id is None and ticket.contact_name == "" and ticket.contact_phone == ""
    with Session(services.engine) as session:
        identity = session.exec(select(ReporterIdentity)).one()
    assert identity.name == "Canary Hoàng Văn Bí" and identity.phone == "0911222333"
    assert identity.address == "Canary xóm Kín, thôn Mẫu 4" and ticket.contact_address == ""
    [card] = outbox_for(services.engine, "-1001")
    assert "Canary" not in card.payload and "0911222333" not in card.payload
    assert "giữ bí mật" in card.payload
    # The author can still look the case up from the same chat without a PIN.
    assert ticket.code in chat.text_of(chat.send(f"/tracuu {ticket.code}"))


def test_anonymous_denunciation_is_explained(service: Service):
    chat = CoreChat(service)
    intake_until_contact(chat, type_label="Tố cáo",
                         description="Có người khai thác cát trái phép ban đêm ở bến sông thôn Mẫu 1")
    info = chat.text_of(chat.press("Không để lại"))
    assert "không được giải quyết theo thủ tục tố cáo" in info
    chat.press("Vẫn gửi")
    assert "Nội dung:" in chat.text_of(chat.history[-1:])


def test_same_event_twice_creates_one_ticket(service: Service, services):
    chat = CoreChat(service)
    intake_until_contact(chat, type_label="Phản ánh")
    chat.press("Nhập họ tên")
    chat.send("Lê Văn Cường 0977000111")
    chat.press("Bỏ qua địa chỉ")
    payload = [p for label, p in chat.last_buttons() if "Gửi đơn" in label][0]
    chat.send(payload=payload, external_id="dup-1")
    again = chat.send(payload=payload, external_id="dup-1")
    assert again == []
    assert len(tickets(services.engine)) == 1


def test_repeated_submit_button_is_stale_not_a_second_ticket(service: Service, services):
    chat = CoreChat(service)
    intake_until_contact(chat, type_label="Phản ánh")
    chat.press("Không để lại")
    payload = [p for label, p in chat.last_buttons() if "Gửi đơn" in label][0]
    chat.send(payload=payload)
    stale = chat.text_of(chat.send(payload=payload))
    assert "không còn dùng được" in stale
    assert len(tickets(services.engine)) == 1


def test_nfd_long_and_emoji_input(service: Service, services):
    chat = CoreChat(service)
    chat.send("/start")
    chat.press("Đồng ý")
    chat.press("Gửi phản ánh")
    chat.press("Kiến nghị")
    assert "chưa đọc được" in chat.text_of(chat.send("😀😀🙏"))
    nfd = unicodedata.normalize("NFD", "Đề nghị xã hỗ trợ hộ nghèo ở thôn Đồng Tâm được vay vốn sản xuất. ") * 80
    assert len(nfd) > 5000
    chat.send(nfd)
    chat.press(chat.last_buttons()[0][0])
    chat.press("Đồng Tâm")
    chat.press("Tiếp tục")
    chat.press("Một mình")
    chat.press("Không để lại")
    chat.press("Gửi đơn")
    [ticket] = tickets(services.engine)
    assert unicodedata.is_normalized("NFC", ticket.description)
    assert len(ticket.description) > 4000 and ticket.category == "an_sinh"


def test_first_free_text_message_is_kept_after_consent(service: Service):
    chat = CoreChat(service)
    first = chat.text_of(chat.send("Rac thai do bua bai canh duong vao thon gay mui hoi kinh khung"))
    assert "đồng ý" in first.lower()
    chat.press("Đồng ý")
    chat.press("Phản ánh")
    # The description step is skipped: the first message is the description.
    labels = [label for label, _ in chat.last_buttons()]
    assert "Môi trường" in labels


def test_digits_labels_and_payload_text_are_the_same_answer(service: Service):
    chat = CoreChat(service)
    chat.send("/start")
    chat.send("1")                                   # digit of "Đồng ý"
    text = chat.text_of(chat.send("tra cuu ho so"))  # typed label without diacritics
    assert "mã hồ sơ" in text.lower()
    menu_payload = [p for label, p in chat.last_buttons() if "trang chính" in label][0]
    chat.send(menu_payload)                          # Zalo sends the payload back as text
    assert "cần làm gì" in chat.text_of(chat.history[-1:])


def test_restart_resumes_at_the_same_step(service: Service, services):
    chat = CoreChat(service)
    chat.send("/start")
    chat.press("Đồng ý")
    chat.press("Gửi phản ánh")
    chat.press("Phản ánh")
    chat.send(ROAD)
    from bot.main.composition import build_services
    from storage.engine import make_engine

    fresh_engine = make_engine(services.settings.database_url)
    restarted = Service(build_services(services.settings, clock=services.clock, engine=fresh_engine, migrate=True))
    chat2 = CoreChat(restarted)
    chat2.last_id, chat2.history = chat.last_id, list(chat.history)
    replies = chat2.press(chat.last_buttons()[0][0])
    assert "thôn nào" in chat2.text_of(replies)
    with Session(fresh_engine) as session:
        assert session.exec(select(Conversation)).one().step in ("hamlet", "hamlet_confirm")


def test_cancel_and_nonsense(service: Service, services):
    chat = CoreChat(service)
    chat.send("/start")
    chat.press("Đồng ý")
    assert "chưa hiểu" in chat.text_of(chat.send("asdf"))
    chat.press("Gửi phản ánh")
    chat.press("Phản ánh")
    assert "Đã hủy" in chat.text_of(chat.send("huỷ"))
    assert "không rõ" in chat.text_of(chat.send("/xyz")).lower()
    assert not tickets(services.engine)


def test_photos_location_and_shared_contact(service: Service, services):
    chat = CoreChat(service)
    chat.send("/start")
    chat.press("Đồng ý")
    chat.press("Gửi phản ánh")
    chat.press("Phản ánh")
    chat.send("", attachments=(Attachment(kind="photo", ref="ph1", size=100),))
    chat.send("Cống thoát nước trước nhà văn hóa thôn bị tắc, nước tràn lên đường")
    chat.press(chat.last_buttons()[0][0])
    chat.press("Mẫu 1")
    chat.send("", attachments=(Attachment(kind="photo", ref="ph2", size=100),))
    chat.send("", location=Location(22.1, 105.2))
    chat.press("Tiếp tục")
    chat.press("Một mình")
    other = chat.text_of(chat.send("", contact=Contact(phone="+84912000111", name="Người Khác", owner_id="999")))
    assert "chính mình" in other
    chat.send("", contact=Contact(phone="+84912000111", name="Phạm Thị Dung", owner_id=chat.user_id))
    chat.press("Phạm Thị Dung")
    chat.press("Bỏ qua địa chỉ")
    chat.press("Gửi đơn")
    [ticket] = tickets(services.engine)
    assert ticket.contact_phone == "0912000111" and ticket.contact_name == "Phạm Thị Dung"
    assert ticket.latitude == 22.1


def test_lookup_by_code_and_pin_with_lockout(service: Service, services):
    owner = CoreChat(service, user_id="2001")
    intake_until_contact(owner, type_label="Phản ánh")
    owner.press("Không để lại")
    done = owner.text_of(owner.press("Gửi đơn"))
    [ticket] = tickets(services.engine)
    pin = done.split("Mã PIN:")[1].split()[0]
    stranger = CoreChat(service, user_id="2002")
    stranger.send("/start")
    stranger.press("Đồng ý")
    assert "mã PIN" in stranger.text_of(stranger.send(f"/tracuu {ticket.code}"))
    wrong = "000000" if pin != "000000" else "111111"
    assert "Không tìm thấy" in stranger.text_of(stranger.send(f"/tracuu {ticket.code} {wrong}"))
    assert "Tình trạng" in stranger.text_of(stranger.send(f"/tracuu {ticket.code.lower()} {pin}"))
    for _ in range(5):
        stranger.send(f"/tracuu {ticket.code} {wrong}")
    assert "sai nhiều lần" in stranger.text_of(stranger.send(f"/tracuu {ticket.code} {pin}"))
