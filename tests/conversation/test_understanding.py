"""Issue 16, items 3–5 and issue 12 item 5: the bot understands words as well as buttons, reads
the hamlet from the description, gives honest receipts, offers an anonymous khiếu nại a one-tap
way forward, and console officials act by number or label. Real core, real database."""

from __future__ import annotations

import asyncio
import io

from sqlmodel import Session, select

from bot.intake.hamlets import find_hamlet
from bot.main.officials_cli import console_identity
from bot.service.transactions import Service
from bot.main.console import run_console
from storage.engine import write_session
from storage.models import Ticket
from testkit.drivers import CoreChat

DONG_TAM = "Đường vào xóm bị sạt lở một đoạn dài, xe máy không qua được, ở thôn Đồng Tâm"


def tickets(engine) -> list[Ticket]:
    with Session(engine) as session:
        return list(session.exec(select(Ticket).order_by(Ticket.id)))


def at_menu(service: Service, user_id: str = "2001") -> CoreChat:
    chat = CoreChat(service, user_id=user_id)
    chat.send("/start")
    chat.press("Đồng ý")
    assert "cần làm gì" in chat.text_of(chat.history[-2:])
    return chat


# --- 4. words at menus ------------------------------------------------------------------------

def test_menu_understands_part_of_a_label_and_the_bots_own_words(service: Service):
    chat = at_menu(service)
    assert "loại đơn nào" in chat.text_of(chat.send("Gửi phản ánh"))       # button: "Gửi phản ánh, kiến nghị"
    chat.send("/huy")
    assert "mã hồ sơ" in chat.text_of(chat.send("tra cứu")).lower()
    chat.send("/start")
    assert "Hướng dẫn sử dụng" in chat.text_of(chat.send("help"))
    assert "Hướng dẫn sử dụng" in chat.text_of(chat.send("?"))
    assert "Hướng dẫn sử dụng" in chat.text_of(chat.send("huong dan"))      # without diacritics


def test_out_of_range_number_says_the_range(service: Service):
    chat = at_menu(service)
    reply = chat.text_of(chat.send("7"))
    assert "chọn từ 1 đến 3" in reply and "gõ bằng chữ" not in reply
    assert "loại đơn nào" in chat.text_of(chat.send("1"))


def test_typed_description_at_menu_is_offered_not_falsely_receipted(service: Service, services):
    chat = at_menu(service)
    reply = chat.text_of(chat.send(DONG_TAM))
    assert "đã ghi lại" not in reply and "chưa được gửi" in reply
    assert not tickets(services.engine)
    types = chat.text_of(chat.press("Có, gửi nội dung này"))
    assert "loại đơn nào" in types and "đã ghi lại" not in types
    chat.press("Phản ánh")
    # The description was kept: the next question is the category, not the description.
    assert "lĩnh vực" in chat.text_of(chat.history[-1:]).lower()


def test_declining_the_offer_files_nothing(service: Service, services):
    chat = at_menu(service)
    chat.send(DONG_TAM)
    assert "cần làm gì" in chat.text_of(chat.send("không"))
    assert not tickets(services.engine)


# --- 3. the hamlet read from the description ---------------------------------------------------

def test_hamlet_in_description_is_confirmed_not_asked_again(service: Service, services):
    chat = at_menu(service)
    chat.press("Gửi phản ánh")
    chat.press("Phản ánh")
    chat.send(DONG_TAM)
    asked = chat.text_of(chat.press(chat.last_buttons()[0][0]))        # the top suggested category
    assert "Có phải ở thôn Đồng Tâm không?" in asked
    assert [label for label, _ in chat.last_buttons()] == ["✅ Đúng, thôn Đồng Tâm", "Thôn khác"]
    chat.send("có")                                                    # typed yes
    chat.press("Tiếp tục")
    chat.press("Một mình")
    chat.press("Không để lại")
    chat.press("Gửi đơn")
    [ticket] = tickets(services.engine)
    assert ticket.hamlet == "Thôn Đồng Tâm (mẫu)"


def test_other_hamlet_shows_the_list(service: Service, services):
    chat = at_menu(service)
    chat.press("Gửi phản ánh")
    chat.press("Phản ánh")
    chat.send(DONG_TAM)
    chat.press(chat.last_buttons()[0][0])
    assert "Bấm chọn hoặc gõ tên thôn" in chat.text_of(chat.press("Thôn khác"))
    chat.send("tan lap")
    chat.press("Tiếp tục")
    chat.press("Một mình")
    chat.press("Không để lại")
    chat.press("Gửi đơn")
    assert tickets(services.engine)[0].hamlet == "Thôn Tân Lập (mẫu)"


def test_find_hamlet_is_accent_insensitive_tolerant_and_knows_prefixes(settings):
    hamlets = settings.hamlets
    name = lambda text: None if find_hamlet(text, hamlets) is None else hamlets[find_hamlet(text, hamlets)]  # noqa: E731
    assert name("nước bẩn ở thôn Đồng Tâm") == "Thôn Đồng Tâm (mẫu)"
    assert name("nuoc ban o thon dong tam") == "Thôn Đồng Tâm (mẫu)"
    assert name("o xom Dong Tamm bi ngap") == "Thôn Đồng Tâm (mẫu)"             # misspelt, xóm
    assert name("đèn hỏng ở bản Nà Khà") == "Thôn Nà Khà (mẫu)"
    assert name("tổ 3 thôn Mẫu 2") == "Thôn Mẫu 2 (mẫu)"
    assert name("nha toi o ban moi") == "Thôn Bản Mới (mẫu)"                   # the prefix is part of the name
    assert name("thôn Mẫu 3 bị ngập") is None                                  # numbers must match exactly
    assert name("đường hỏng lâu rồi") is None


# --- 5. anonymous khiếu nại: one tap to a phản ánh or kiến nghị ---------------------------------

def test_anonymous_complaint_becomes_a_phan_anh_keeping_everything(service: Service, services):
    chat = at_menu(service)
    chat.press("Gửi phản ánh")
    chat.press("Khiếu nại")
    text = "Tôi khiếu nại việc cán bộ địa chính đo sai ranh giới thửa đất nhà tôi ở thôn Đồng Tâm"
    chat.send(text)
    chat.press(chat.last_buttons()[0][0])
    chat.press("Đúng")
    chat.press("Tiếp tục")
    chat.press("Một mình")
    refused = chat.text_of(chat.press("Không để lại"))
    assert "không thể gửi ẩn danh" in refused and "/huy" not in refused
    assert "Gửi thành phản ánh" in refused and "không giải quyết như một vụ khiếu nại" in refused
    assert not tickets(services.engine)
    summary = chat.text_of(chat.press("Gửi thành phản ánh"))
    assert "Phản ánh" in summary and "ranh giới thửa đất" in summary
    chat.press("Gửi đơn")
    [ticket] = tickets(services.engine)
    assert ticket.type == "phan_anh" and ticket.description == text and ticket.anonymous
    assert ticket.hamlet == "Thôn Đồng Tâm (mẫu)"


def test_anonymous_complaint_can_become_a_kien_nghi(service: Service, services):
    chat = at_menu(service)
    chat.press("Gửi phản ánh")
    chat.press("Khiếu nại")
    chat.send("Tôi không đồng ý với việc xã thu tiền đóng góp làm đường của các hộ nghèo trong thôn")
    chat.press(chat.last_buttons()[0][0])
    chat.send("mau 1")
    chat.press("Tiếp tục")
    chat.press("Một mình")
    chat.press("Không để lại")
    chat.send("kiến nghị")                                          # typed, part of "Gửi thành kiến nghị"
    chat.press("Gửi đơn")
    [ticket] = tickets(services.engine)
    assert ticket.type == "kien_nghi" and ticket.anonymous


# --- console officials act by number and by label ----------------------------------------------

def _file_ticket(service: Service, user_id: str) -> str:
    chat = at_menu(service, user_id)
    chat.press("Gửi phản ánh")
    chat.press("Phản ánh")
    chat.send("Đường bê tông vào thôn Mẫu 1 bị sụt lún, có ổ gà lớn, trời mưa xe máy đi rất nguy hiểm")
    chat.press("Hạ tầng")
    chat.press("Đúng")
    chat.press("Tiếp tục")
    chat.press("Một mình")
    chat.press("Không để lại")
    chat.press("Gửi đơn")
    return tickets(service.services.engine)[-1].code


def _console(services, user_id: str, lines: str) -> str:
    out = io.StringIO()
    asyncio.run(run_console(services, user_id=user_id, stdin=io.StringIO(lines), stdout=out))
    return out.getvalue()


def test_console_official_acts_by_number_and_by_label(service: Service, services):
    first, second = _file_ticket(service, "3001"), _file_ticket(service, "3002")
    with write_session(services.engine) as session:
        official = console_identity(session, "official:KT", now=services.clock.now(), offices={"KT"})
    out = _console(services, official, f"/xem {first}\n9\n1\n/xem {second}\nTiếp nhận\n")
    assert "Bot chưa hiểu yêu cầu" not in out
    assert "chọn từ 1 đến" in out                                     # 9 is outside the card's buttons
    with Session(services.engine) as session:
        statuses = {t.code: str(t.status) for t in session.exec(select(Ticket))}
    assert statuses[first] == "accepted" and statuses[second] == "accepted"
