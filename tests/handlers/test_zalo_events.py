"""The Zalo event parser, table-driven over every event shape channels.md lists (plain, no I/O)."""

from __future__ import annotations

import pytest

from bot.core.domain import Channel, Location
from handlers.zalo.events import dedupe_key, parse_event

USER = "2512523625412515"


def event(name: str, message: dict | None = None, **extra) -> dict:
    body = {"app_id": "1", "event_name": name, "sender": {"id": USER}, "recipient": {"id": "99"},
            "timestamp": "1543908534744", "user_id_by_app": "552177279717587730"}
    if message is not None:
        body["message"] = message
    body.update(extra)
    return body


def attachment(kind: str, **payload) -> dict:
    return {"type": kind, "payload": payload}


@pytest.mark.parametrize(("name", "message", "check"), [
    ("user_send_text", {"msg_id": "m1", "text": "Xin chào"}, lambda i: i.text == "Xin chào"),
    ("user_send_image", {"msg_id": "m2", "text": "ảnh đường", "attachments": [
        attachment("image", url="https://z/1.jpg", thumbnail="https://z/t.jpg")]},
     lambda i: i.text == "ảnh đường" and i.attachments[0].kind == "photo" and i.attachments[0].ref == "https://z/1.jpg"),
    ("user_send_file", {"msg_id": "m3", "attachments": [
        attachment("file", url="https://z/f.pdf", name="Đơn thư.pdf", size="2048", type="application/pdf")]},
     lambda i: i.attachments[0].kind == "document" and i.attachments[0].name == "Đơn thư.pdf"
     and i.attachments[0].size == 2048),
    ("user_send_file", {"msg_id": "m3b", "attachments": [attachment("file", url="https://z/f", size="big")]},
     lambda i: i.attachments[0].size == 0),
    ("user_send_location", {"msg_id": "m4", "attachments": [
        attachment("location", coordinates={"latitude": "21.8234", "longitude": "105.2141"})]},
     lambda i: i.location == Location(21.8234, 105.2141)),
    ("user_send_sticker", {"msg_id": "m5", "attachments": [attachment("sticker", id="st1", url="https://z/s")]},
     lambda i: i.attachments[0].kind == "sticker"),
    ("user_send_audio", {"msg_id": "m6", "attachments": [attachment("audio", url="https://z/a.aac")]},
     lambda i: i.attachments[0].kind == "audio"),
    ("user_send_video", {"msg_id": "m7", "attachments": [attachment("video", url="https://z/v.mp4")]},
     lambda i: i.attachments[0].kind == "video"),
    ("user_send_gif", {"msg_id": "m8", "attachments": [attachment("gif", url="https://z/g.gif")]},
     lambda i: i.attachments[0].kind == "photo"),
    ("user_send_link", {"msg_id": "m9", "text": "xem", "attachments": [attachment("link", url="https://x.vn/a")]},
     lambda i: i.text == "xem\nhttps://x.vn/a"),
    ("user_send_business_card", {"msg_id": "m10", "attachments": [
        attachment("business_card", title="Ông Bảy", phone="0911222333")]},
     lambda i: i.contact.phone == "0911222333" and i.contact.owner_id == ""),
])
def test_user_messages(name, message, check):
    parsed = parse_event(event(name, message))
    assert parsed.inbound is not None, parsed
    inbound = parsed.inbound
    assert inbound.channel == Channel.ZALO and inbound.user_id == USER and inbound.chat_id == USER
    assert inbound.external_id == f"msg:{message['msg_id']}"
    assert check(inbound)


@pytest.mark.parametrize("nested", [False, True])
def test_submit_info_flat_and_nested(nested):
    info = {"name": "Nguyễn Văn An", "phone": "84912345678"}
    address = {"address": "Thôn Mẫu 1", "city": "Tuyên Quang", "district": "", "ward": "Xuân Giang"}
    info.update({"full_address": address} if nested else address)
    inbound = parse_event(event("user_submit_info", info=info)).inbound
    assert inbound is not None and inbound.contact is not None
    assert (inbound.contact.phone, inbound.contact.name, inbound.contact.owner_id) == \
        ("84912345678", "Nguyễn Văn An", USER)
    assert inbound.external_id == f"user_submit_info:{USER}:1543908534744"


def test_follow_unfollow_echo_receipts_unknown():
    follow = {"app_id": "1", "oa_id": "99", "event_name": "follow", "source": "qr_code",
              "follower": {"id": USER}, "timestamp": "1543908534744"}
    parsed = parse_event(follow)
    assert parsed.inbound is not None and parsed.inbound.text == "/start" and parsed.inbound.user_id == USER
    assert dedupe_key(follow) == f"follow:{USER}:1543908534744"
    assert parse_event(dict(follow, event_name="unfollow")).ignored == "unfollow"
    assert parse_event(event("oa_send_text", {"msg_id": "x", "text": "hi"})).ignored == "echo"
    receipt = event("user_seen_message", {"msg_ids": ["a", "b"]}, sender={"id": "99"}, recipient={"id": USER})
    assert parse_event(receipt).ignored == "receipt"
    assert parse_event(event("user_received_message", {"msg_id": "a"})).ignored == "receipt"
    assert parse_event(event("shop_has_order", {"msg_id": "a"})).ignored == "unknown"


@pytest.mark.parametrize("body", [
    {}, {"event_name": "user_send_text"}, {"event_name": "user_send_text", "sender": {"id": None}},
    {"event_name": "user_send_text", "sender": {"id": USER}, "message": "not an object"},
    {"event_name": "user_send_image", "sender": {"id": USER}, "message": {"attachments": "x"}},
    {"event_name": "user_send_location", "sender": {"id": USER},
     "message": {"attachments": [{"type": "location", "payload": {"coordinates": {"latitude": "abc"}}}]}},
    {"event_name": "user_submit_info", "sender": {"id": USER}, "info": "x"},
])
def test_damaged_events_never_raise(body):
    parsed = parse_event(body)
    assert parsed.inbound is None


def test_numbers_where_strings_were_expected_stay_digits():
    body = event("user_send_text", {"msg_id": 12345678901234567890, "text": "Xin chào"},
                 sender={"id": 2512523625412515}, timestamp=1543908534744)
    inbound = parse_event(body).inbound
    assert inbound is not None and inbound.user_id == "2512523625412515"
    assert inbound.external_id == "msg:12345678901234567890"
