"""Translate Zalo OA webhook events into the core's Inbound type. Pure functions, no I/O, no rules.

Zalo's ids and timestamps are strings (ids exceed 2^53) and stay strings here. File, sticker and
submit-info shapes vary between sources (channels.md, "verify"), so every field is read defensively.
"""

from __future__ import annotations

from types import MappingProxyType

from dataclasses import dataclass, replace
from typing import Any

from bot.core.domain import ZALO_GROUP_PREFIX, Attachment, Channel, Contact, Inbound, Location

USER_MESSAGE_EVENTS = frozenset({
    "user_send_text", "user_send_image", "user_send_file", "user_send_location", "user_send_sticker",
    "user_send_audio", "user_send_video", "user_send_link", "user_send_gif", "user_send_business_card",
})
USER_EVENTS = USER_MESSAGE_EVENTS | {"follow", "unfollow", "user_submit_info"}
GROUP_EVENT_PREFIX = "user_send_group_"          # user_send_group_text, _image, _file, ... (GMF)
# Where a group event names its group: sources disagree (channels.md), so each is tried in order.
GROUP_ID_FIELDS = ("recipient.group_id", "message.conversation_id", "group_id", "recipient.id")
# Where a group message names the OA message it quotes (unconfirmed; configurable like the group id).
QUOTE_FIELDS = ("message.quote_msg_id", "message.quote_message_id", "message.reply_to_msg_id", "message.quote.msg_id")
RECEIPT_EVENTS = frozenset({"user_received_message", "user_seen_message"})
ATTACHMENT_KINDS = MappingProxyType({"image": "photo", "gif": "photo", "audio": "audio", "voice": "voice", "video": "video",
                    "file": "document", "sticker": "sticker"})


@dataclass(frozen=True)
class ParsedEvent:
    """What one webhook event means: an Inbound for the core, or a reason it needs none."""

    event_name: str
    inbound: Inbound | None = None
    ignored: str = ""          # echo | receipt | unfollow | unknown | empty


def _text(value: Any) -> str:
    """A field as a string ('' for None or containers); numbers keep their digits."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)


def is_ignorable(event_name: str) -> bool:
    """The OA's own echoes and delivery/seen receipts: never user interaction, never stored."""
    return event_name.startswith("oa_send_") or event_name in RECEIPT_EVENTS


def sender_id(event: dict[str, Any]) -> str:
    """The user the event is about: sender.id, or follower.id for follow/unfollow."""
    for key in ("sender", "follower"):
        node = event.get(key)
        if isinstance(node, dict) and _text(node.get("id")):
            return _text(node.get("id"))
    return _text(event.get("user_id_by_app"))


def dedupe_key(event: dict[str, Any]) -> str:
    """message.msg_id when there is one, else event name + user + timestamp (channels.md)."""
    message = event.get("message")
    if isinstance(message, dict) and _text(message.get("msg_id")):
        return f"msg:{_text(message.get('msg_id'))}"[:160]
    return f"{_text(event.get('event_name'))}:{sender_id(event)}:{_text(event.get('timestamp'))}"[:160]


def _attachments(message: dict[str, Any]) -> list[dict[str, Any]]:
    items = message.get("attachments")
    return [a for a in items if isinstance(a, dict)] if isinstance(items, list) else []


def _payload(item: dict[str, Any]) -> dict[str, Any]:
    payload = item.get("payload")
    return payload if isinstance(payload, dict) else {}


def _to_attachment(item: dict[str, Any], event_kind: str) -> Attachment | None:
    payload = _payload(item)
    kind = ATTACHMENT_KINDS.get(_text(item.get("type")) or event_kind, "document")
    ref = _text(payload.get("url")) or _text(payload.get("href")) or _text(payload.get("id")) \
        or _text(payload.get("thumbnail"))
    if not ref:
        return None
    size = payload.get("size")
    try:
        size_int = int(size) if size not in (None, "") else 0
    except (TypeError, ValueError):
        size_int = 0
    mime = "image/jpeg" if kind == "photo" else _text(payload.get("type")) if "/" in _text(payload.get("type")) else ""
    return Attachment(kind=kind, ref=ref, mime=mime, size=size_int, name=_text(payload.get("name"))[:200])


def _location(message: dict[str, Any]) -> Location | None:
    for item in _attachments(message):
        coordinates = _payload(item).get("coordinates")
        if not isinstance(coordinates, dict):
            coordinates = _payload(item)
        try:
            latitude = float(_text(coordinates.get("latitude")))
            longitude = float(_text(coordinates.get("longitude")))
        except ValueError:
            continue
        if -90 <= latitude <= 90 and -180 <= longitude <= 180:
            return Location(latitude=latitude, longitude=longitude)
    return None


def _submitted_info(event: dict[str, Any]) -> dict[str, str]:
    """user_submit_info's fields, flat or nested under info.full_address (both shapes seen)."""
    info = event.get("info")
    if not isinstance(info, dict):
        message = event.get("message")
        info = message.get("info") if isinstance(message, dict) else None
    if not isinstance(info, dict):
        return {}
    fields = {key: _text(value) for key, value in info.items() if not isinstance(value, (dict, list))}
    nested = info.get("full_address")
    if isinstance(nested, dict):
        for key, value in nested.items():
            fields.setdefault(key, _text(value))
    return fields


def group_id(event: dict[str, Any], fields: tuple[str, ...] = GROUP_ID_FIELDS, *, oa_id: str = "") -> str:
    """The group a group event came from: the first non-empty dotted field (never the OA's own id)."""
    for path in fields:
        node: Any = event
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        value = _text(node)
        if value and value != oa_id:
            return value
    return ""


def parse_event(event: dict[str, Any], *, group_fields: tuple[str, ...] = GROUP_ID_FIELDS,
                oa_id: str = "", quote_fields: tuple[str, ...] = QUOTE_FIELDS) -> ParsedEvent:
    """The Inbound a Zalo event stands for (external_id = its dedupe key), or why there is none.

    A group event (user_send_group_*) becomes the same Inbound as its private twin, in the chat
    "group:<group_id>" and not private."""
    name = _text(event.get("event_name"))
    if name.startswith(GROUP_EVENT_PREFIX):
        group = group_id(event, group_fields, oa_id=oa_id)
        if not group:
            return ParsedEvent(name, ignored="empty")
        private = parse_event({**event, "event_name": "user_send_" + name.removeprefix(GROUP_EVENT_PREFIX)})
        if private.inbound is None:
            return ParsedEvent(name, ignored=private.ignored)
        quoted = group_id(event, quote_fields)
        return ParsedEvent(name, replace(private.inbound, chat_id=ZALO_GROUP_PREFIX + group, is_private=False,
                                         reply_to_bot=bool(quoted), message_ref=quoted))
    if is_ignorable(name):
        return ParsedEvent(name, ignored="echo" if name.startswith("oa_send_") else "receipt")
    if name not in USER_EVENTS:
        return ParsedEvent(name, ignored="unknown")
    user = sender_id(event)
    if not user:
        return ParsedEvent(name, ignored="empty")
    base = {"channel": Channel.ZALO, "user_id": user, "chat_id": user, "external_id": dedupe_key(event)}
    if name == "unfollow":
        return ParsedEvent(name, ignored="unfollow")
    if name == "follow":
        # A new follower gets the welcome and consent notice, like /start on Telegram.
        return ParsedEvent(name, Inbound(text="/start", **base))
    if name == "user_submit_info":
        info = _submitted_info(event)
        phone = info.get("phone", "")
        if not phone:
            return ParsedEvent(name, ignored="empty")
        return ParsedEvent(name, Inbound(contact=Contact(phone=phone, name=info.get("name", ""), owner_id=user),
                                         **base))
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    text = _text(message.get("text"))
    if name == "user_send_location":
        location = _location(message)
        if location is None and not text:
            return ParsedEvent(name, ignored="empty")
        return ParsedEvent(name, Inbound(text=text, location=location, **base))
    if name == "user_send_link":
        urls = [_text(_payload(a).get("url")) for a in _attachments(message)]
        text = "\n".join(part for part in [text, *urls] if part)
        return ParsedEvent(name, Inbound(text=text, **base)) if text else ParsedEvent(name, ignored="empty")
    if name == "user_send_business_card":
        payload = next((_payload(a) for a in _attachments(message)), {})
        phone = _text(payload.get("phone"))
        if phone:
            # Someone's card: owner unknown, so the core treats it as not the sender's own number.
            return ParsedEvent(name, Inbound(text=text, contact=Contact(phone=phone, name=_text(payload.get("title"))),
                                             **base))
        return ParsedEvent(name, Inbound(text=text, **base)) if text else ParsedEvent(name, ignored="empty")
    attachments: list[Attachment] = []
    if name != "user_send_text":
        event_kind = name.removeprefix("user_send_")
        attachments = [a for a in (_to_attachment(item, event_kind) for item in _attachments(message)) if a]
    if not text and not attachments:
        return ParsedEvent(name, ignored="empty")
    return ParsedEvent(name, Inbound(text=text, attachments=tuple(attachments), **base))

