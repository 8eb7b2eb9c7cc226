"""The Zalo sender behind the real outbox, against the fake OA API: rendering (plain text, split at
2000, ≤ 5 buttons or a numbered list, info-request card, images) and channels.md's error table."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.main.composition import ZaloChannel, build_services, held_alert
from bot.config.settings import load_settings
from bot.core.domain import Attachment, Button, ButtonKind, Reply
from notifications.outbox.sender import OutboxSender
from storage.engine import write_session
from storage.models import OutboxMessage
from storage.outbox import enqueue_message
from testkit.config import write_config
from testkit.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET_KEY

USER = "8400000000000000001"


@pytest.fixture
async def parts(tmp_path, database_url, engine, clock, zalo):
    def mutate(raw):
        raw["zalo"].update(api_base_url=zalo.url, oauth_base_url=zalo.url, per_chat_interval=0)
        raw["storage"]["attachments_dir"] = str(tmp_path / "files")
    env = {"DATABASE_URL": database_url, "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET,
           "ZALO_OA_SECRET_KEY": OA_SECRET_KEY, "ZALO_REFRESH_TOKEN": zalo.issue_refresh_token()}
    settings = load_settings(write_config(tmp_path, mutate), environ=env)
    services = build_services(settings, clock=clock, engine=engine, migrate=False)
    channel = ZaloChannel(settings, services)
    channel.tokens.seed()
    yield channel
    await channel.client.close()


def outbox_sender(parts) -> OutboxSender:
    services = parts.services
    return OutboxSender(services.engine, services.clock, {"zalo": parts.sender}, on_held=held_alert(services))


def enqueue(parts, reply: Reply, *, chat_id: str = USER) -> int:
    with write_session(parts.services.engine) as session:
        row = enqueue_message(session, channel="zalo", chat_id=chat_id, payload=reply.to_json(),
                              now=parts.services.clock.now())
        session.flush()
        return int(row.id)


def row(parts, row_id: int) -> OutboxMessage:
    with Session(parts.services.engine) as session:
        return session.get(OutboxMessage, row_id)


def choices(n: int, kind: ButtonKind = ButtonKind.PAYLOAD) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button(f"Lựa chọn {i} & <b>", f"7:c{i}", kind),) for i in range(1, n + 1))


async def test_plain_text_split_and_buttons(parts, zalo):
    long_text = "<b>Hồ sơ</b> &amp; " + "\n".join(f"Dòng {i} " + "chữ " * 40 for i in range(25))
    await parts.sender.send(USER, Reply(text=long_text, buttons=choices(5)))
    sent = zalo.messages(USER)
    assert len(sent) == 3 and all(len(m.text) <= 2000 for m in sent)
    assert sent[0].text.startswith("Hồ sơ & Dòng 0")
    assert [m.buttons for m in sent[:2]] == [[], []]
    assert [(b["title"], b["payload"], b["type"]) for b in sent[2].buttons][0] == \
        ("Lựa chọn 1 & <b>", "7:c1", "oa.query.show")
    assert len(sent[2].buttons) == 5


async def test_more_than_five_choices_become_a_numbered_list(parts, zalo):
    buttons = choices(6) + ((Button("Chia sẻ", "7:share", ButtonKind.REQUEST_CONTACT),),)
    await parts.sender.send(USER, Reply(text="Chọn:", buttons=buttons))
    listing, card = zalo.messages(USER)
    assert listing.buttons == [] and "Xin gõ số thứ tự" in listing.text
    assert "1. Lựa chọn 1" in listing.text and "6. Lựa chọn 6" in listing.text and "7." not in listing.text
    assert card.template_type == "request_user_info"


async def test_images_are_uploaded_then_sent(parts, zalo, tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "map.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    (files / "huge.jpg").write_bytes(b"\xff\xd8" + b"0" * (1024 * 1024 + 1))
    reply = Reply(text="Ảnh", attachments=(Attachment(kind="photo", path="map.png", mime="image/png"),
                                           Attachment(kind="photo", path="huge.jpg", mime="image/jpeg"),
                                           Attachment(kind="photo", ref="https://cdn.test/a.jpg")))
    await parts.sender.send(USER, reply)
    text, uploaded, linked = zalo.messages(USER)
    assert zalo.state.uploads == [b"\x89PNG\r\n\x1a\n" + b"0" * 100]
    element = uploaded.attachment["payload"]["elements"][0]
    assert uploaded.template_type == "media" and element == {"media_type": "image", "attachment_id": "att-1"}
    assert linked.attachment["payload"]["elements"][0]["url"] == "https://cdn.test/a.jpg"


@pytest.mark.parametrize(("faults", "status", "error_part", "retry_in"), [
    ([-216], "sent", "", None),                      # token rejected: refresh, retry once, delivered
    ([-216, -216], "pending", "token rejected twice", None),
    ([-32], "pending", "rate limited", 60),
    ([-201], "dead", "bad parameter", None),
    ([-213], "held", "does not follow", None),
    ([-230], "held", "window closed", None),
    ([-232], "held", "window closed", None),
    ([-999], "pending", "-999", None),
])
async def test_error_codes(parts, zalo, faults, status, error_part, retry_in):
    await parts.tokens.access_token()
    row_id = enqueue(parts, Reply(text="Thông báo"))
    zalo.fail_next(*faults)
    await outbox_sender(parts).drain_once()
    result = row(parts, row_id)
    assert result.status == status and error_part in result.last_error
    if retry_in is not None:
        wait = (result.next_attempt_at - parts.services.clock.now()).total_seconds()
        assert retry_in <= wait <= retry_in + 1
    assert zalo.state.refresh_calls == (2 if faults[0] == -216 else 1)


async def test_held_messages_keep_their_order_and_wait(parts, zalo, clock):
    zalo.state.closed_window.add(USER)
    first = enqueue(parts, Reply(text="một"))
    second = enqueue(parts, Reply(text="hai"))
    sender = outbox_sender(parts)
    await sender.drain_once()
    assert [row(parts, i).status for i in (first, second)] == ["held", "held"]
    clock.advance(days=1)
    await sender.drain_once()
    assert zalo.messages(USER) == []
    assert row(parts, first).next_attempt_at < clock.now() - timedelta(hours=23)
    assert json.loads(row(parts, second).payload)["text"] == "hai"
