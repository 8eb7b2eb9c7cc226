"""The citizen intake on Telegram, end to end: webhook → core → outbox → python-telegram-bot's real
client → a fake Bot API on 127.0.0.1 that validates HTML and limits like Telegram."""

from __future__ import annotations

from testkit.telegram_fixtures import ROAD, SECRET, all_tickets, citizen, reach_contact_step, start_app  # noqa: F401

from testkit.images import gps_photo  # noqa: F401

import asyncio
import unicodedata
from pathlib import Path

from PIL import Image
from sqlmodel import Session, select

from bot.config.settings import load_settings
from storage.models import ProcessedInbound, ReporterIdentity, TicketAttachment
from testkit.config import OFFICE_CHATS, write_config
from testkit.fakes.telegram_api import (DEFAULT_TOKEN, callback_update, contact_update,
                                      photo_update, post_update, text_update)
from testkit.telegram_driver import TelegramCitizen, outbox_settled





















async def test_complete_intake_with_shared_contact_and_photo(app, fake, http):
    assert fake.webhook["url"] == "https://danvan.test/telegram/webhook"
    user = citizen(fake, http, app)
    welcome = user.texts(await user.say("/start"))
    assert "dữ liệu cá nhân" in welcome
    await user.tap("Đồng ý")
    await user.tap("Gửi phản ánh")
    await user.tap("Phản ánh")
    fake.add_file("photo-1", gps_photo(), "photos/road.jpg")
    reply = user.texts(await user.post(photo_update(user.user_id, "photo-1", caption=ROAD)))
    assert "lĩnh vực" in reply
    await user.tap("Hạ tầng")
    await user.tap("Mẫu 1")
    keyboard_message, buttons = user.last_keyboard()
    assert any(b.get("request_location") for b in buttons)
    await user.tap("Tiếp tục")
    await user.tap("Một mình")
    _, buttons = user.last_keyboard()
    assert any(b.get("request_contact") for b in buttons)
    await user.post(contact_update(user.user_id, "+84912345678", contact_user_id=user.user_id,
                                   first_name="Nguyễn Văn An"))
    await user.tap("Nguyễn Văn An")
    await user.say("Xóm Chợ, thôn Mẫu 1")
    done = user.texts(await user.tap("Gửi đơn"))
    [ticket] = all_tickets(app.services.engine)
    assert ticket.code in done and "Phòng Kinh tế" in done and ticket.answer_due.strftime("%d/%m/%Y") in done
    assert ticket.contact_phone == "0912345678" and ticket.category == "ha_tang"
    assert ticket.contact_address == "Xóm Chợ, thôn Mẫu 1"
    cards = fake.sent_messages(int(OFFICE_CHATS["KT"]))
    assert len(cards) == 1 and ticket.code in cards[0]["text"] and "Nguyễn Văn An" in cards[0]["text"]
    for _ in range(100):                       # the local copy is made after commit, in the background
        with Session(app.services.engine) as session:
            [attachment] = session.exec(select(TicketAttachment)).all()
        if attachment.path:
            break
        await asyncio.sleep(0.05)
    stored = Path(attachment.path)
    assert stored.parent == Path(app.settings.storage.attachments_dir) and stored.name.startswith(ticket.code)
    assert stored.suffix == ".jpg" and b"CanaryCam" not in stored.read_bytes()
    assert not Image.open(stored).getexif()


async def test_same_update_twice_creates_one_ticket(app, fake, http):
    user = citizen(fake, http, app)
    await reach_contact_step(user, type_label="Phản ánh")
    await user.tap("Không để lại")
    message, buttons = user.last_keyboard()
    submit = next(b for b in buttons if "Gửi đơn" in b["text"])
    update = callback_update(user.user_id, submit["callback_data"], message_id=message["message_id"])
    await user.post(update)
    await user.post(update)
    assert len(all_tickets(app.services.engine)) == 1
    assert sum("Mã hồ sơ" in (m.get("text") or "") for m in fake.sent_messages(user.user_id)) == 1


async def test_restart_mid_conversation_resumes(tg_settings, engine, clock, fake, http):
    first = await start_app(tg_settings, engine, clock)
    user = citizen(fake, http, first)
    await user.say("/start")
    await user.tap("Đồng ý")
    await user.tap("Gửi phản ánh")
    await user.tap("Kiến nghị")
    await first.stop()
    second = await start_app(tg_settings, engine, clock)
    try:
        user.url = f"http://127.0.0.1:{second.port}{tg_settings.telegram.webhook_path}"
        reply = user.texts(await user.say("Đề nghị xã làm lại cầu tràn thôn Bản Mới vì mùa mưa nước dâng cao"))
        assert "lĩnh vực" in reply
    finally:
        await second.stop()


async def test_hostile_input_nfd_long_emoji_and_stale_button(app, fake, http):
    user = citizen(fake, http, app)
    await user.say("/start")
    await user.tap("Đồng ý")
    old_message, old_buttons = user.last_keyboard()
    await user.tap("Gửi phản ánh")
    stale = user.texts(await user.post(callback_update(user.user_id, old_buttons[0]["callback_data"],
                                                       message_id=old_message["message_id"])))
    assert "không còn dùng được" in stale
    await user.tap("Phản ánh")
    assert "chưa đọc được" in user.texts(await user.say("🙂🙂🙂"))
    hostile = "<b>Ống nước</b> & <script>alert(1)</script> hỏng, nước tràn <i "
    nfd = unicodedata.normalize("NFD", hostile + " Đường thôn Đồng Tâm ngập sâu. ")
    long_text = (nfd * 90)[:5000]
    assert len(long_text) == 5000
    reply = user.texts(await user.say(long_text))
    assert "lĩnh vực" in reply
    await user.tap(user.last_keyboard()[1][0]["text"])
    await user.tap("Đồng Tâm")
    await user.tap("Tiếp tục")
    summary = user.texts(await user.tap("Một mình"))
    summary = user.texts(await user.tap("Không để lại")) or summary
    assert unicodedata.normalize("NFC", "<b>Ống nước</b> & <script>alert(1)</script>") in summary
    await user.tap("Gửi đơn")
    [ticket] = all_tickets(app.services.engine)
    assert unicodedata.is_normalized("NFC", ticket.description)
    assert ticket.description.startswith(unicodedata.normalize("NFC", hostile.strip()))
    card = fake.sent_messages(int(OFFICE_CHATS["KT"]))[0]["text"]
    assert "<script>alert(1)</script>" in card


async def test_anonymous_complaint_refused_on_telegram(app, fake, http):
    user = citizen(fake, http, app)
    await reach_contact_step(user, type_label="Khiếu nại",
                             description="Tôi khiếu nại quyết định xử phạt của xã vì đo sai diện tích đất")
    refused = user.texts(await user.tap("Không để lại"))
    assert "không thể gửi ẩn danh" in refused
    assert all_tickets(app.services.engine) == []


async def test_denunciation_card_has_no_identity(app, fake, http):
    user = citizen(fake, http, app, user_id=7007)
    await reach_contact_step(user, type_label="Tố cáo",
                             description="Tố cáo cán bộ địa chính nhận tiền để làm nhanh sổ đỏ cho một số hộ")
    await user.tap("Nhập họ tên")
    await user.say("Canary Đỗ Thị Mật 0909888777")
    await user.say("Canary xóm Ẩn, thôn Mẫu 2")
    await user.tap("Gửi đơn")
    [ticket] = all_tickets(app.services.engine)
    assert ticket.office_code == "VP"
    card = fake.sent_messages(int(OFFICE_CHATS["VP"]))
    assert len(card) == 1
    body = str(card[0])
    assert "Canary" not in body and "0909888777" not in body and "7007" not in body and "xóm Ẩn" not in body
    with Session(app.services.engine) as session:
        assert session.exec(select(ReporterIdentity)).one().name == "Canary Đỗ Thị Mật"


async def test_webhook_rejects_forged_and_malformed_requests(app, fake, http):
    url = f"http://127.0.0.1:{app.port}{app.settings.telegram.webhook_path}"
    update = text_update(6001, "/start")
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        async with http.post(url, json=update, headers=headers) as response:
            assert response.status == 403
    async with http.post(url, data=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
        assert response.status == 400
    async with http.post(url, json=[1, 2], headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
        assert response.status == 400
    with Session(app.services.engine) as session:
        assert session.exec(select(ProcessedInbound)).all() == []
    await asyncio.sleep(0.1)
    assert fake.sent_messages(6001) == []


async def test_polling_mode_handles_updates(tmp_path, database_url, engine, clock, fake):
    def mutate(raw):
        raw["telegram"].update(base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot", webhook_url="")
    settings = load_settings(write_config(tmp_path, mutate),
                             environ={"DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN})
    app = await start_app(settings, engine, clock)
    try:
        fake.push_update(text_update(8008, "/start"))
        [welcome] = await fake.wait_for_messages(8008, 1, timeout=10)
        assert "Đồng ý" in str(welcome["reply_markup"])
    finally:
        await app.stop()


async def test_disguised_file_is_refused_but_the_ticket_is_kept(app, fake, http):
    user = citizen(fake, http, app, user_id=5055)
    await user.say("/start")
    await user.tap("Đồng ý")
    await user.tap("Gửi phản ánh")
    await user.tap("Phản ánh")
    fake.add_file("evil-1", b"MZ\x90\x00 not a photo", "photos/evil.jpg")
    await user.post(photo_update(user.user_id, "evil-1", caption=ROAD))
    await user.tap("Hạ tầng")
    await user.tap("Mẫu 1")
    await user.tap("Tiếp tục")
    await user.tap("Một mình")
    await user.tap("Không để lại")
    await user.tap("Gửi đơn")
    [ticket] = all_tickets(app.services.engine)
    for _ in range(100):
        with Session(app.services.engine) as session:
            [attachment] = session.exec(select(TicketAttachment)).all()
        if attachment.path:
            break
        await asyncio.sleep(0.05)
    assert attachment.path == "refused:wrong_type" and ticket.code
    for _ in range(100):
        told = [m for m in fake.sent_messages(user.user_id) if "không được lưu" in (m.get("text") or "")]
        if told:
            break
        await asyncio.sleep(0.05)
    assert told and ticket.code in told[0]["text"] and "vẫn được tiếp nhận" in told[0]["text"]
    folder = Path(app.settings.storage.attachments_dir)
    assert not folder.exists() or list(folder.iterdir()) == []


async def test_webhook_flood_gets_one_warning_and_writes_nothing_more(app, fake, http):
    """A flood through the webhook: the surplus is answered 200 and dropped before any database work."""
    user = citizen(fake, http, app, user_id=5666)
    await user.say("/start")
    limit = app.settings.intake.messages_per_minute
    statuses = await asyncio.gather(*(post_update(http, user.url, text_update(user.user_id, f"spam {n}"),
                                                  secret=SECRET) for n in range(limit + 40)))
    assert set(statuses) == {200}
    await outbox_settled(app.services.engine)
    texts = TelegramCitizen.texts(fake.sent_messages(user.user_id))
    assert texts.count("quá nhanh") == 1
    with Session(app.services.engine) as session:
        handled = len(session.exec(select(ProcessedInbound)).all())
    assert handled == limit          # /start and the messages within the limit; the warning has no key
    other = citizen(fake, http, app, user_id=5667)
    assert "đồng ý" in TelegramCitizen.texts(await other.say("/start")).lower()
