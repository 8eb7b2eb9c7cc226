"""Zalo OA group events (GMF) as the core's Inbound: a group chat, not private, the group id found in
each place sources put it, the OA's own echoes ignored."""

from __future__ import annotations

import pytest

from handlers.zalo.events import parse_event
from testkit.fakes.zalo_api import OA_ID, group_text_event, user_event


@pytest.mark.parametrize("where", ["recipient.group_id", "message.conversation_id", "recipient.id"])
def test_group_text_becomes_a_group_inbound(where):
    parsed = parse_event(group_text_event("8400000000000000001", "7000000000000000045", "/tiepnhan XG-2026-000001",
                                          1764122400000, where=where), oa_id=OA_ID)
    inbound = parsed.inbound
    assert inbound is not None and not inbound.is_private
    assert inbound.chat_id == "group:7000000000000000045" and inbound.user_id == "8400000000000000001"
    assert inbound.text == "/tiepnhan XG-2026-000001" and inbound.external_id.startswith("msg:")


def test_quoted_message_and_configurable_fields():
    event = group_text_event("84001", "7001", "/tiepnhan", 1764122400000, quote="abc123")
    inbound = parse_event(event).inbound
    assert inbound is not None and inbound.message_ref == "abc123" and inbound.reply_to_bot
    event["message"].pop("quote_msg_id")
    event["message"]["cited"] = "zz9"
    assert parse_event(event, quote_fields=("message.cited",)).inbound.message_ref == "zz9"
    event["recipient"] = {"id": OA_ID}
    event["where_group"] = {"gid": "7002"}
    assert parse_event(event, group_fields=("where_group.gid",)).inbound.chat_id == "group:7002"


def test_group_events_without_a_group_or_from_the_oa_are_ignored():
    no_group = user_event("user_send_group_text", "84001", 1764122400000, message={"text": "chào"})
    assert parse_event(no_group, oa_id=OA_ID).inbound is None      # recipient.id is the OA itself
    echo = user_event("oa_send_group_text", "84001", 1764122400000, message={"text": "thẻ"})
    assert parse_event(echo).ignored == "echo"
    image = user_event("user_send_group_image", "84001", 1764122400000, message={
        "text": "", "attachments": [{"type": "image", "payload": {"url": "https://photo.zalo.test/a.jpg"}}]})
    image["recipient"] = {"id": OA_ID, "group_id": "7003"}
    parsed = parse_event(image).inbound
    assert parsed is not None and parsed.attachments[0].kind == "photo" and parsed.chat_id == "group:7003"
