"""The fake Bot API and AiohttpRequest, proven through the real python-telegram-bot client.

Every client test runs twice: on our aiohttp backend and on PTB's default httpx one, so the fake
is known to answer what PTB really sends, and our backend to behave like PTB's own.
"""

import asyncio
import datetime as dtm
import html
import socket
import time

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, Update
from telegram import ReplyKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, MessageHandler, filters
from telegram.request import HTTPXRequest

from handlers.telegram.request import AiohttpRequest
from testkit.fakes.telegram_api import (
    FakeTelegramAPI,
    Upload,
    callback_update,
    contact_update,
    group_text_update,
    location_update,
    photo_update,
    post_update,
    text_update,
    voice_update,
)

TOKEN = "123:ABC"
CITIZEN = 5550001
GROUP = -1001234567890

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


@pytest.fixture
async def fake():
    async with FakeTelegramAPI(TOKEN) as server:
        yield server


@pytest.fixture(params=[AiohttpRequest, HTTPXRequest], ids=["aiohttp", "httpx"])
def request_class(request):
    return request.param


def make_bot(fake: FakeTelegramAPI, request_class, token: str = TOKEN, **request_kwargs) -> Bot:
    return Bot(
        token,
        base_url=f"{fake.url}/bot",
        base_file_url=f"{fake.url}/file/bot",
        request=request_class(**request_kwargs),
        get_updates_request=request_class(),
    )


@pytest.fixture
async def bot(fake, request_class):
    async with make_bot(fake, request_class) as client:
        yield client


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"Nút {d}", callback_data=d)] for d in data])


# -- the happy paths ---------------------------------------------------------------------------


async def test_get_me_answers_the_bot_behind_the_token(bot):
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.username) == (123, True, "danvan_test_bot")


async def test_send_message_echoes_the_inline_keyboard_and_is_recorded(bot, fake):
    first = await bot.send_message(CITIZEN, "Chọn lĩnh vực", reply_markup=keyboard("c:1", "c:2"))
    second = await bot.send_message(CITIZEN, "Tiếp")

    assert first.text == "Chọn lĩnh vực"
    assert first.reply_markup == keyboard("c:1", "c:2")
    assert first.chat.id == CITIZEN and first.chat.type == "private"
    assert first.from_user.id == 123
    assert second.message_id > first.message_id
    sent = fake.sent_messages(CITIZEN)
    assert [m["text"] for m in sent] == ["Chọn lĩnh vực", "Tiếp"]
    assert sent[0]["reply_markup"]["inline_keyboard"][1][0]["callback_data"] == "c:2"
    call = fake.calls[-1]
    assert (call.method, call.chat_id, call.status) == ("sendMessage", CITIZEN, 200)


async def test_a_reply_keyboard_is_recorded_but_not_echoed_like_telegram(bot, fake):
    markup = ReplyKeyboardMarkup([[KeyboardButton("Gửi số điện thoại", request_contact=True)]])

    message = await bot.send_message(CITIZEN, "Số điện thoại?", reply_markup=markup)

    assert message.reply_markup is None
    button = fake.sent_messages(CITIZEN)[0]["reply_markup"]["keyboard"][0][0]
    assert button == {"text": "Gửi số điện thoại", "request_contact": True}


async def test_edit_message_text_changes_the_message_and_refuses_a_no_op(bot, fake):
    sent = await bot.send_message(CITIZEN, "Đang xử lý", reply_markup=keyboard("ok"))

    edited = await bot.edit_message_text("Đã xong", chat_id=CITIZEN, message_id=sent.message_id)

    assert edited.text == "Đã xong" and edited.edit_date is not None
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    assert fake.message(CITIZEN, sent.message_id)["text"] == "Đã xong"
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Đã xong", chat_id=CITIZEN, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=CITIZEN, message_id=sent.message_id + 1000)


async def test_answer_callback_query_is_recorded_with_decoded_values(bot, fake):
    assert await bot.answer_callback_query("42", text="Đã nhận", show_alert=True)

    call = fake.calls[-1]
    assert call.method == "answerCallbackQuery"
    assert call.params == {"callback_query_id": "42", "text": "Đã nhận", "show_alert": True}


async def test_an_uploaded_photo_can_be_fetched_back_with_get_file(bot, fake):
    data = b"\xff\xd8\xff\xe0 fake jpeg \x00\x01"

    message = await bot.send_photo(CITIZEN, data, caption="Ảnh hiện trường")
    file = await bot.get_file(message.photo[-1].file_id)

    assert message.caption == "Ảnh hiện trường"
    assert await file.download_as_bytearray() == data
    upload = next(c.params["photo"] for c in fake.calls if c.method == "sendPhoto")
    assert upload.data == data


async def test_get_file_serves_a_registered_file_under_a_vietnamese_path(bot, fake):
    fake.add_file("citizen-photo", b"jpeg bytes", file_path="photos/ảnh số 1.jpg")

    file = await bot.get_file("citizen-photo")

    assert file.file_size == len(b"jpeg bytes")
    assert await file.download_as_bytearray() == b"jpeg bytes"
    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("unknown")


async def test_a_document_keeps_its_vietnamese_file_name(bot, fake):
    message = await bot.send_document(CITIZEN, b"%PDF-1.4", filename="Đơn thư.pdf")

    assert message.document.file_name == "Đơn thư.pdf"
    upload = fake.calls[-1].params["document"]
    assert upload == Upload("Đơn thư.pdf", "application/pdf", b"%PDF-1.4")


async def test_every_other_method_the_bot_uses_answers(bot, fake):
    photo = await bot.send_photo(CITIZEN, b"img", caption="cũ", reply_markup=keyboard("a"))
    location = await bot.send_location(CITIZEN, latitude=21.03, longitude=105.85)
    captioned = await bot.edit_message_caption(
        chat_id=CITIZEN,
        message_id=photo.message_id,
        caption="<i>mới</i>",
        parse_mode="HTML",
        reply_markup=keyboard("a"),
    )
    unmarked = await bot.edit_message_reply_markup(chat_id=CITIZEN, message_id=photo.message_id)
    fake.set_chat_member(GROUP, 123, "administrator")
    member = await bot.get_chat_member(GROUP, 123)
    chat = await bot.get_chat(GROUP)

    assert (location.location.latitude, location.location.longitude) == (21.03, 105.85)
    assert captioned.caption == "mới" and captioned.caption_entities[0].type == "italic"
    assert unmarked.reply_markup is None
    assert member.status == "administrator" and member.user.id == 123
    assert (await bot.get_chat_member(GROUP, CITIZEN)).status == "member"
    assert chat.type == "supergroup"
    assert await bot.set_my_commands([("start", "Bắt đầu"), ("huy", "Huỷ")])
    assert [c["command"] for c in fake.commands] == ["start", "huy"]
    assert await bot.send_chat_action(CITIZEN, "typing")
    assert await bot.delete_message(CITIZEN, location.message_id)
    assert fake.message(CITIZEN, location.message_id) is None
    assert await bot.leave_chat(GROUP)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(CITIZEN, location.message_id)
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Bắt_đầu", "Bắt đầu")])


# -- validation like Telegram ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>Phiếu số 12", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>in đậm <i>nghiêng</b></i>", 'expected "</i>", found "</b>"'),
        ("<script>alert(1)</script>", 'Unsupported start tag "script"'),
        ("1 < 2", 'Unsupported start tag ""'),
        ("Thôn 3 & 4", 'Character "&"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("xong</b>", "Unexpected end tag"),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("Ý kiến <p>", 'Unsupported start tag "p" at byte offset 10'),  # bytes, not characters
    ],
)
async def test_malformed_html_is_refused_with_telegrams_message(bot, text, reason):
    with pytest.raises(BadRequest, match="(?i)can't parse entities") as error:
        await bot.send_message(CITIZEN, text, parse_mode=ParseMode.HTML)

    assert reason.lower() in error.value.message.lower()  # PTB's str.capitalize() lowercases it


@pytest.mark.parametrize(
    "hostile", ["<script>&", "<b>chưa đóng", "</i>", "a &amp b", '"><img src=x>', "&#0;&#xD800;"]
)
async def test_escaped_hostile_text_is_accepted_and_shown_verbatim(bot, hostile):
    message = await bot.send_message(
        CITIZEN, f"<b>Ý kiến:</b> {html.escape(hostile)}", parse_mode=ParseMode.HTML
    )

    assert message.text == f"Ý kiến: {hostile}"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 7)]


async def test_html_entities_are_measured_in_utf16_like_telegram(bot):
    message = await bot.send_message(CITIZEN, "😀 <u>xã</u>", parse_mode="html")

    assert (message.entities[0].offset, message.entities[0].length) == (3, 2)
    assert message.parse_entity(message.entities[0]) == "xã"


async def test_text_longer_than_4096_utf16_units_is_refused(bot):
    await bot.send_message(CITIZEN, "a" * 4096)

    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(CITIZEN, "a" * 4097)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(CITIZEN, "😀" * 2049)  # 2,049 characters, 4,098 UTF-16 units


async def test_the_limit_counts_text_after_html_parsing(bot):
    message = await bot.send_message(CITIZEN, f"<b>{'a' * 4096}</b>", parse_mode=ParseMode.HTML)

    assert len(message.text) == 4096


async def test_empty_text_and_long_captions_are_refused(bot):
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(CITIZEN, "<b></b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.send_photo(CITIZEN, b"img", caption="c" * 1025)


async def test_callback_data_over_64_bytes_is_refused(bot):
    await bot.send_message(CITIZEN, "ok", reply_markup=keyboard("đ" * 32))  # 64 bytes

    text = "Phản ánh về đường liên thôn Xuân Giang bị xuống cấp"
    assert len(text) < 64 < len(text.encode())  # Vietnamese letters take 2-3 bytes
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CITIZEN, "x", reply_markup=keyboard(text))


async def test_a_wrong_token_or_unknown_method_is_refused(fake, request_class):
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with make_bot(fake, request_class, token="999:WRONG"):
            pass
    async with make_bot(fake, request_class) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("sendTelepathy")
    assert [(c.method, c.status) for c in fake.calls[-3:]] == [
        ("getMe", 401),
        ("getMe", 200),
        ("sendTelepathy", 404),
    ]


# -- faults and limits -------------------------------------------------------------------------


async def test_an_injected_429_raises_retry_after(bot, fake, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22 warns unless retry_after is a timedelta
    fake.fail_next("sendMessage", status=429, retry_after=3)

    with pytest.raises(RetryAfter) as error:
        await bot.send_message(CITIZEN, "x")

    assert error.value.retry_after == dtm.timedelta(seconds=3)
    assert (await bot.send_message(CITIZEN, "lần hai")).text == "lần hai"
    assert [c.status for c in fake.calls[-2:]] == [429, 200]
    assert [m["text"] for m in fake.sent_messages()] == ["lần hai"]


async def test_injected_500_and_403_raise_network_error_and_forbidden(bot, fake):
    fake.fail_next("sendMessage", status=500, times=2)
    fake.fail_next("editMessageText", status=403)

    for _ in range(2):
        with pytest.raises(NetworkError, match="(?i)Internal Server Error"):
            await bot.send_message(CITIZEN, "x")
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.edit_message_text("x", chat_id=CITIZEN, message_id=1)
    await bot.send_message(CITIZEN, "x")


async def test_a_slow_answer_times_out(bot, fake):
    fake.set_delay(10)
    started = time.monotonic()

    with pytest.raises(TimedOut):
        await bot.get_me(read_timeout=0.2)

    assert time.monotonic() - started < 5  # gave up long before the answer came


async def test_a_full_pool_times_out(fake, request_class):
    async with make_bot(
        fake, request_class, connection_pool_size=1, connect_timeout=0.1, pool_timeout=0.1
    ) as bot:
        fake.set_delay(1)
        results = await asyncio.gather(bot.get_me(), bot.get_me(), return_exceptions=True)

    assert any(isinstance(r, TimedOut) for r in results)


async def test_a_refused_connection_is_a_network_error(request_class):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request_class())

    with pytest.raises(NetworkError) as error:
        async with bot:
            pass

    assert not isinstance(error.value, TimedOut)


async def test_enforced_limits_answer_429_per_chat(bot, fake, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.enforce_limits = True

    await bot.send_message(CITIZEN, "1")
    with pytest.raises(RetryAfter) as error:
        await bot.send_message(CITIZEN, "2")
    await bot.send_message(CITIZEN + 1, "another chat is not limited")

    assert error.value.retry_after == dtm.timedelta(seconds=1)
    assert fake.rate_limit_hits == 1


async def test_enforced_limits_per_group_and_overall(request_class, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    now = [1000.0]
    async with FakeTelegramAPI(TOKEN, enforce_limits=True, clock=lambda: now[0]) as fake:
        async with make_bot(fake, request_class) as bot:
            for _ in range(20):  # 20 a minute, each 1.5 s apart: within both limits
                await bot.send_message(GROUP, "tin nhóm")
                now[0] += 1.5
            with pytest.raises(RetryAfter) as group_error:
                await bot.send_message(GROUP, "the 21st in a minute")
            now[0] += 100
            for chat in range(1, 31):  # 30 chats in the same instant
                await bot.send_message(chat, "x")
            with pytest.raises(RetryAfter):
                await bot.send_message(31, "the 31st in a second")

    # The first of the last 20 group messages leaves the minute window 30 s later.
    assert group_error.value.retry_after == dtm.timedelta(seconds=30)
    assert fake.rate_limit_hits == 2


# -- updates -----------------------------------------------------------------------------------


async def test_get_updates_long_polls_until_an_update_is_pushed(bot, fake):
    update = text_update(CITIZEN, "Xin chào")
    asyncio.get_running_loop().call_later(0.3, fake.push_update, update)
    started = time.monotonic()

    updates = await bot.get_updates(timeout=5)

    assert 0.2 < time.monotonic() - started < 4  # woke at the push, not at the 5 s timeout
    assert [u.update_id for u in updates] == [update["update_id"]]
    assert updates[0].message.text == "Xin chào"
    assert await bot.get_updates(offset=update["update_id"] + 1, timeout=0) == ()


async def test_get_updates_returns_empty_after_its_timeout(bot):
    started = time.monotonic()

    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 4


async def test_webhook_settings_and_the_polling_conflict(bot, fake):
    assert await bot.set_webhook("https://xa.example/tg", secret_token="s3cr3t_-")
    info = await bot.get_webhook_info()

    assert info.url == "https://xa.example/tg"
    assert fake.webhook["secret_token"] == "s3cr3t_-"
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates()
    with pytest.raises(BadRequest, match="(?i)HTTPS URL"):
        await bot.set_webhook("http://xa.example/tg")
    with pytest.raises(BadRequest, match="(?i)secret token"):
        await bot.set_webhook("https://xa.example/tg", secret_token="có dấu")
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_an_application_polls_the_fake_and_replies(fake, request_class):
    async def echo(update: Update, context) -> None:
        await update.message.reply_text(f"Đã nhận: {update.message.text}")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(f"{fake.url}/bot")
        .base_file_url(f"{fake.url}/file/bot")
        .request(request_class())
        .get_updates_request(request_class())
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake.push_update(text_update(CITIZEN, "Đèn đường hỏng"))
        sent = await fake.wait_for_messages(CITIZEN, 1)
        await app.updater.stop()
        await app.stop()

    assert sent[0]["text"] == "Đã nhận: Đèn đường hỏng"


async def test_wait_for_messages_says_what_was_sent_when_it_gives_up(bot, fake):
    await bot.send_message(CITIZEN, "một")

    with pytest.raises(AssertionError, match="expected 2 message.*'một'"):
        await fake.wait_for_messages(CITIZEN, 2, timeout=0.2)
    fake.clear()
    assert fake.sent_messages() == [] and fake.calls == []


async def test_builders_make_updates_ptb_understands(bot):
    updates = [
        text_update(CITIZEN, "/start@danvan_test_bot xin chào", username="dan1"),
        callback_update(CITIZEN, "t:42", message_id=7, message_text="Phiếu 42"),
        contact_update(CITIZEN, "84912345678", contact_user_id=CITIZEN),
        location_update(CITIZEN, 21.03, 105.85),
        photo_update(CITIZEN, "AgACphoto", caption="ổ gà"),
        voice_update(CITIZEN, "AwACvoice"),
        group_text_update(GROUP, CITIZEN, "Cán bộ nhận"),
    ]

    parsed = [Update.de_json(u, bot) for u in updates]

    assert len({u.update_id for u in parsed}) == len(parsed)
    assert parsed[0].message.text.startswith("/start")
    assert parsed[0].message.entities[0].type == "bot_command"
    assert parsed[0].message.entities[0].length == len("/start@danvan_test_bot")
    assert parsed[1].callback_query.data == "t:42"
    assert parsed[1].callback_query.message.message_id == 7
    assert parsed[2].message.contact.user_id == parsed[2].effective_user.id
    assert parsed[3].message.location.latitude == 21.03
    assert parsed[4].message.photo[-1].file_id == "AgACphoto"
    assert parsed[4].message.caption == "ổ gà"
    assert parsed[5].message.voice.mime_type == "audio/ogg"
    assert parsed[6].effective_chat.type == "supergroup"
    assert parsed[6].effective_user.id == CITIZEN


async def test_post_update_sends_the_secret_header_like_telegram():
    received = []

    async def webhook(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        secret_ok = secret == "s3cret"
        return web.Response(status=200 if secret_ok else 403)

    app = web.Application()
    app.router.add_post("/tg", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    update = text_update(CITIZEN, "qua webhook")
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/tg"
            statuses = [
                await post_update(session, url, update, secret="s3cret"),
                await post_update(session, url, update, secret="wrong"),
                await post_update(session, url, update, secret=None),
            ]
    finally:
        await runner.cleanup()

    assert statuses == [200, 403, 403]
    assert [secret for secret, _ in received] == ["s3cret", "wrong", None]
    assert received[0][1] == update


# -- AiohttpRequest's own contract ---------------------------------------------------------------


def test_aiohttp_request_can_be_built_outside_a_running_loop():
    request = AiohttpRequest(connection_pool_size=8, read_timeout=3, connect_timeout=2)

    assert request.read_timeout == 3


async def test_aiohttp_request_shuts_down_twice_and_reopens(fake):
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url=f"{fake.url}/bot", request=request)

    async with bot:
        assert (await bot.get_me()).id == 123
    await request.shutdown()
    async with bot:
        assert (await bot.get_me()).id == 123


async def test_network_errors_never_carry_the_bot_token():
    """A canary token must not reach an error message (and so a log line) through a request URL."""
    from telegram.error import TelegramError

    from handlers.telegram.request import AiohttpRequest

    canary = "987654:CANARYtokenSECRETvalue"
    # A misconfigured base URL: aiohttp quotes the whole URL, token included, in its error.
    bot = Bot(canary, base_url="http://127.0.0.1:9:9/bot", request=AiohttpRequest(connect_timeout=0.5))
    with pytest.raises(TelegramError) as caught:
        await bot.get_me()
    assert "CANARY" not in str(caught.value) and "SECRET" not in repr(caught.value)
