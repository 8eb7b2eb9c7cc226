"""The typed ticket commands are channel-agnostic: in a Telegram office group they act like the buttons,
and a stranger's command is refused politely and audited."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import Ticket, TicketEvent
from testkit.config import OFFICE_CHATS
from testkit.office_driver import add_official
from testkit.telegram_driver import TelegramOfficial
from testkit.telegram_fixtures import SECRET, citizen, reach_contact_step

KT = int(OFFICE_CHATS["KT"])


def member(fake, http, app, user_id: int, name: str) -> TelegramOfficial:
    url = f"http://127.0.0.1:{app.port}{app.settings.telegram.webhook_path}"
    return TelegramOfficial(fake, http, url, SECRET, app.services.engine, user_id, KT, name)


async def test_typed_commands_in_a_telegram_office_group(app, fake, http):
    add_official(app.services.engine, user_id="4001", role="official", office="KT", name="Lê Văn Cường")
    user = citizen(fake, http, app)
    await reach_contact_step(user, type_label="Phản ánh")
    await user.tap("Nhập họ tên")
    await user.say("Nguyễn Văn An 0912345678")
    await user.tap("Bỏ qua địa chỉ")
    await user.tap("Gửi đơn")
    with Session(app.services.engine) as session:
        ticket = session.exec(select(Ticket)).one()
    stranger = member(fake, http, app, 4999, "Khách")
    await stranger.say(f"/tiepnhan {ticket.code}")
    assert "chỉ cán bộ đã đăng ký" in fake.sent_messages(KT)[-1]["text"]
    official = member(fake, http, app, 4001, "Cường")
    await official.say(f"/tiếp nhận {ticket.code}")
    await official.say(f"/traloi {ticket.code} Đã cử cán bộ kiểm tra")
    with Session(app.services.engine) as session:
        ticket = session.get(Ticket, ticket.id)
        events = list(session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)))
    assert ticket.status == "in_progress"
    assert any(e.action == "denied" and "not_official" in e.note for e in events)
    assert "Đã cử cán bộ kiểm tra" in user.texts(user.new_messages())
