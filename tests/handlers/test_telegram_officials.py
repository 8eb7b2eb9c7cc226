"""Officials on Telegram, end to end: webhook → core → outbox → python-telegram-bot's real client →
the fake Bot API. Cards with inline buttons in office groups, edited in place; ForceReply prompts;
the citizen's answer relayed back; the satisfaction survey; registration; unregistered groups."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.officials.invites import create_invite
from storage.engine import write_session
from storage.models import Official, Ticket, TicketEvent
from testkit.config import OFFICE_CHATS
from testkit.fakes.telegram_api import text_update
from testkit.office_driver import add_official
from testkit.telegram_driver import TelegramOfficial
from testkit.telegram_fixtures import SECRET, citizen, reach_contact_step

KT = int(OFFICE_CHATS["KT"])
VHXH = int(OFFICE_CHATS["VHXH"])


def official(fake, http, app, user_id: int, chat_id: int | None = None, name: str = "Cán bộ") -> TelegramOfficial:
    url = f"http://127.0.0.1:{app.port}{app.settings.telegram.webhook_path}"
    return TelegramOfficial(fake, http, url, SECRET, app.services.engine, user_id, chat_id, name)


def the_ticket(app) -> Ticket:
    with Session(app.services.engine) as session:
        return session.exec(select(Ticket)).one()


async def submit_road(user) -> None:
    await reach_contact_step(user, type_label="Phản ánh")
    await user.tap("Nhập họ tên")
    await user.say("Nguyễn Văn An 0912345678")
    await user.tap("Bỏ qua địa chỉ")
    await user.tap("Gửi đơn")


async def test_full_lifecycle_on_telegram(app, fake, http):
    add_official(app.services.engine, user_id="4001", role="official", office="KT", name="Lê Văn Cường")
    add_official(app.services.engine, user_id="4002", role="head", office="KT", name="Trưởng phòng Hà")
    user = citizen(fake, http, app)
    await submit_road(user)
    ticket = the_ticket(app)
    group = official(fake, http, app, 4001, KT, "Cường")
    card = group.card(ticket.code)
    assert "Tiếp nhận" in str(card["reply_markup"]) and "Đã tiếp nhận, chờ xử lý" in card["text"]
    card_id = card["message_id"]

    assert "Đã tiếp nhận" in await group.tap("Tiếp nhận", ticket.code)
    card = fake.message(KT, card_id)
    assert "Lê Văn Cường" in card["text"] and "Đã thụ lý" in card["text"] and "edit_date" in card
    assert "đã được Phòng Kinh tế tiếp nhận" in user.texts(user.new_messages())

    await group.tap("Yêu cầu bổ sung", ticket.code)
    prompt = fake.sent_messages(KT)[-1]
    assert prompt["reply_markup"].get("force_reply") is True
    assert any(e.get("url") == "tg://user?id=4001" for e in prompt.get("entities", []))   # selective target
    await group.say("Đề nghị ông/bà cho biết đoạn sạt lở ở gần nhà ai, dài bao nhiêu mét")
    assert "dài bao nhiêu mét" in user.texts(user.new_messages())
    assert "Chờ ông/bà bổ sung" in fake.message(KT, card_id)["text"]
    assert "Đã chuyển thông tin bổ sung" in user.texts(await user.say("Gần nhà ông Tư, dài khoảng 20 mét"))
    assert "dài khoảng 20 mét" in group.texts()

    await group.tap("Kết quả", ticket.code)
    await group.say("Xã đã đổ đá, san phẳng đoạn đường; tuần sau sẽ đổ bê tông")
    got = user.new_messages()
    assert "san phẳng đoạn đường" in user.texts(got) and any("reply_markup" in m for m in got)
    await user.tap("Rất không hài lòng")
    reopened = user.texts(await user.tap("gửi lại"))
    assert "mở lại" in reopened
    assert "mở lại" in " ".join(m.get("text", "") for m in fake.sent_messages(4002))    # the head, privately
    await group.tap("Tiếp nhận", ticket.code)
    await group.tap("Kết quả", ticket.code)
    await group.say("Đã đổ bê tông xong toàn bộ đoạn đường")
    user.new_messages()
    assert "Cảm ơn ông/bà đã đánh giá" in user.texts(await user.tap("Rất hài lòng"))
    final = fake.message(KT, card_id)
    assert the_ticket(app).status == "closed" and "Đã kết thúc" in final["text"]
    assert "Lê Văn Cường" not in user.texts(fake.sent_messages(user.user_id))
    assert "4001" not in str(fake.sent_messages(user.user_id)) and "5001" not in str(fake.sent_messages(KT))


async def test_transfer_extension_refusal_and_note_on_telegram(app, fake, http):
    add_official(app.services.engine, user_id="4101", role="official", office="KT", name="Cán bộ KT")
    add_official(app.services.engine, user_id="4102", role="head", office="VHXH", name="Trưởng VHXH")
    user = citizen(fake, http, app)
    await submit_road(user)
    ticket = the_ticket(app)
    kt = official(fake, http, app, 4101, KT)
    old_card = kt.card(ticket.code)["message_id"]
    await kt.tap("Chuyển đơn vị", ticket.code)
    await kt.tap("Văn hóa")
    await kt.say("Thuộc lĩnh vực văn hóa – xã hội")
    assert "reply_markup" not in fake.message(KT, old_card)          # the old card lost its buttons
    assert "Phòng Văn hóa" in user.texts(user.new_messages())
    vh = official(fake, http, app, 4102, VHXH)
    assert vh.card(ticket.code)
    await vh.tap("Tiếp nhận", ticket.code)
    await vh.tap("Gia hạn", ticket.code)
    await vh.say("Cần khảo sát thực địa cùng thôn")
    assert "gia hạn" in user.texts(user.new_messages())
    await vh.tap("Ghi chú", ticket.code)
    await vh.say("Đã hẹn trưởng thôn thứ Hai")
    assert "trưởng thôn thứ Hai" in vh.texts() and "trưởng thôn thứ Hai" not in user.texts(user.new_messages())
    await vh.tap("Không thuộc thẩm quyền", ticket.code)
    await vh.say("Đề nghị liên hệ Công ty Điện lực Tuyên Quang")
    assert "Điện lực" in user.texts(user.new_messages())
    with Session(app.services.engine) as session:
        actions = [e.action for e in session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))]
    assert ["created", "transferred", "accepted", "extended", "note", "refused"] == actions


async def test_registration_refusals_and_unregistered_groups(app, fake, http):
    with write_session(app.services.engine) as session:
        code = create_invite(session, role="official", office_code="KT", now=app.services.clock.now(), hours=72)
    me = official(fake, http, app, 4201)
    await me.say(f"/dangky {code} Đinh Văn Mới")
    assert "Đăng ký thành công" in me.texts()
    with Session(app.services.engine) as session:
        assert session.exec(select(Official)).one().user_id == "4201"
    user = citizen(fake, http, app)
    await submit_road(user)
    ticket = the_ticket(app)
    # A stranger in the office group and an official of the office in the wrong group are refused.
    stranger = official(fake, http, app, 4299, KT)
    assert await stranger.tap("Tiếp nhận", ticket.code) == "Không có quyền"
    assert the_ticket(app).status == "received"
    # An unknown group: the bot leaves it.
    await official(fake, http, app, 4201, -100777).post(text_update(4201, "chào bot", chat_id=-100777))
    assert any(c.method == "leaveChat" and str(c.chat_id) == "-100777" for c in fake.calls)
    await me.say(f"/xem {ticket.code}")
    assert ticket.code in me.texts() and "Lịch sử" in me.texts()
    assert "Đã tiếp nhận" in await me.tap("Tiếp nhận", ticket.code)           # from the private card


async def test_photos_travel_both_ways_on_telegram(app, fake, http):
    from testkit.fakes.telegram_api import photo_update

    add_official(app.services.engine, user_id="4301", role="official", office="KT", name="Cán bộ ảnh")
    user = citizen(fake, http, app)
    await submit_road(user)
    ticket = the_ticket(app)
    group = official(fake, http, app, 4301, KT)
    await group.tap("Tiếp nhận", ticket.code)
    await group.tap("Yêu cầu bổ sung", ticket.code)
    await group.say("Xin gửi ảnh hiện trường")
    user.new_messages()
    await user.post(photo_update(user.user_id, "citizen-photo-1", caption="Ảnh đoạn đường sạt"))
    assert any(m.get("photo") and m["photo"][0]["file_id"] == "citizen-photo-1" for m in fake.sent_messages(KT))
    await group.tap("Kết quả", ticket.code)
    update = photo_update(4301, "office-photo-9", caption="Đã sửa xong, ảnh sau khi sửa")
    update["message"]["chat"] = {"id": KT, "type": "supergroup", "title": "KT"}
    await group.post(update)
    got = user.new_messages()
    assert "Đã sửa xong" in user.texts(got)
    assert any(m.get("photo") and m["photo"][0]["file_id"] == "office-photo-9" for m in got)


async def test_late_group_answer_must_reply_to_the_prompt(app, fake, http, clock):
    from testkit.telegram_driver import reply_update

    add_official(app.services.engine, user_id="4401", role="official", office="KT", name="Cán bộ B")
    user = citizen(fake, http, app)
    await submit_road(user)
    ticket = the_ticket(app)
    group = official(fake, http, app, 4401, KT)
    await group.tap("Ghi chú", ticket.code)
    prompt = fake.sent_messages(KT)[-1]
    clock.advance(minutes=30)
    await group.say("Mọi người nhớ họp giao ban chiều nay")
    await group.post(reply_update(4401, KT, "Đã gọi cho trưởng thôn, hẹn thứ Hai", prompt))
    with Session(app.services.engine) as session:
        notes = session.exec(select(TicketEvent).where(TicketEvent.action == "note")).all()
    assert [n.note for n in notes] == ["Đã gọi cho trưởng thôn, hẹn thứ Hai"]
