"""Channel-agnostic message and ticket types shared by every adapter and the core.

An adapter turns its channel's event into one :class:`Inbound`; the core answers with
:class:`Reply` objects that each sender renders for its channel. Nothing here knows Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.config.settings import COMPLAINT_TYPE_CODES


class Channel(StrEnum):
    TELEGRAM = "telegram"
    ZALO = "zalo"
    CONSOLE = "console"
    WEB = "web"


ZALO_GROUP_PREFIX = "group:"     # a Zalo chat id naming an OA group (GMF), not a user: "group:<group_id>"


def is_zalo_group(channel: str, chat_id: str) -> bool:
    """Whether (channel, chat id) is a Zalo group chat (group messages: no buttons, no 7-day window)."""
    return str(channel) == "zalo" and chat_id.startswith(ZALO_GROUP_PREFIX)


class TicketType(StrEnum):
    PHAN_ANH = "phan_anh"
    KIEN_NGHI = "kien_nghi"
    GOP_Y = "gop_y"
    KHIEU_NAI = "khieu_nai"
    TO_CAO = "to_cao"


class TicketStatus(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    WAITING_CITIZEN = "waiting_citizen"
    RESOLVED = "resolved"
    CLOSED = "closed"
    TRANSFERRED = "transferred"
    REFUSED = "refused"
    REOPENED = "reopened"
    REFERRED = "referred"            # sent to a body outside the UBND (not within competence)
    MEDIATION = "mediation"          # with the hamlet's mediation team (hòa giải ở cơ sở)


# khiếu nại and tố cáo: identity required, answered on legal deadlines, archived by law, never public.
COMPLAINT_TYPES = frozenset(TicketType(code) for code in COMPLAINT_TYPE_CODES)
PETITION_TYPES = frozenset({TicketType.PHAN_ANH, TicketType.KIEN_NGHI, TicketType.GOP_Y})

# The national method: a 5-point scale, satisfied = an answer of 4 or 5.
SATISFIED_FROM = 4


def is_satisfied(rating: int | None) -> bool:
    """True for a satisfaction answer of 4 (hài lòng) or 5 (rất hài lòng)."""
    return rating is not None and rating >= SATISFIED_FROM


class ButtonKind(StrEnum):
    PAYLOAD = "payload"                   # an ordinary choice; the payload comes back
    REQUEST_CONTACT = "request_contact"   # Telegram: share own phone number
    REQUEST_LOCATION = "request_location"  # Telegram: share current location


@dataclass(frozen=True)
class Button:
    label: str
    payload: str = ""
    kind: ButtonKind = ButtonKind.PAYLOAD


@dataclass(frozen=True)
class Attachment:
    """A file the user sent or we send; `ref` is the channel's id or a URL, `path` a stored copy."""

    kind: str                 # photo | voice | audio | video | document | sticker
    ref: str = ""
    mime: str = ""
    size: int = 0
    name: str = ""
    path: str = ""


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Contact:
    phone: str
    name: str = ""
    owner_id: str = ""        # the channel user id the contact belongs to, when known


@dataclass(frozen=True)
class Inbound:
    """One event from a person, whatever the channel."""

    channel: Channel
    user_id: str
    chat_id: str
    external_id: str = ""              # update_id / msg_id: the dedupe key
    text: str = ""
    payload: str | None = None         # a pressed button's payload
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    contact: Contact | None = None
    is_private: bool = True
    callback_ref: str = ""             # Telegram callback query id, to stop the spinner
    message_ref: str = ""              # the message a button belonged to
    reply_to_bot: bool = False         # the message answers one of the bot's own (ForceReply prompts)
    client_address: str = ""           # the web client's address (per-address limits); "" elsewhere


@dataclass(frozen=True)
class Reply:
    """One outbound message: text (already-escaped HTML subset) + buttons + attachments."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    remove_keyboard: bool = False
    force_reply: bool = False           # ask the client to answer this message (officials' prompts)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[{"label": b.label, "payload": b.payload, "kind": str(b.kind)} for b in row]
                        for row in self.buttons],
            "attachments": [a.__dict__ for a in self.attachments],
            "remove_keyboard": self.remove_keyboard,
            "force_reply": self.force_reply,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Reply":
        return cls(
            text=data.get("text", ""),
            buttons=tuple(tuple(Button(b["label"], b.get("payload", ""), ButtonKind(b.get("kind", "payload")))
                                for b in row) for row in data.get("buttons", [])),
            attachments=tuple(Attachment(**a) for a in data.get("attachments", [])),
            remove_keyboard=bool(data.get("remove_keyboard", False)),
            force_reply=bool(data.get("force_reply", False)),
        )


@dataclass
class Outgoing:
    """A reply addressed to a chat on a channel; what the core hands to the outbox."""

    channel: Channel
    chat_id: str
    reply: Reply
    ticket_code: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
