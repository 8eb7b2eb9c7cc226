"""The one office-recipient resolver: who hears about an office's tickets, on whichever channel.

An office is reached in its group chats (a Telegram group registered with /ganphong or set in
offices[].telegram_chat_id, a Zalo OA group linked with `danvan zalo group` or offices[].zalo_group_id);
without any group, its registered officials privately, on the channel each registered on; with no
official either, the leaders are told. Cards, reminders, weekly plans, report reminders, alerts,
escalations, digests and reception briefs all ask here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Channel
from storage.models import Official, Ticket
from storage.officials import active_leaders, heads_of_office, office_groups, officials_of_office

ROLE_HEAD = "head"
ROLE_LEADER = "leader"
CHANNELS = frozenset({"telegram", "zalo"})


@dataclass(frozen=True)
class Recipient:
    """A chat to write to."""

    channel: str
    chat_id: str


def parse_chat(value: str, *, default_channel: str = str(Channel.TELEGRAM)) -> Recipient | None:
    """A configured chat: "zalo:USER", "zalo:group:GROUP", "telegram:-100…", or a bare Telegram id."""
    value = (value or "").strip()
    if not value:
        return None
    channel, sep, rest = value.partition(":")
    if sep and channel in CHANNELS and rest:
        return Recipient(channel, rest)
    return Recipient(default_channel, value)


def official_chat(official: Official) -> Recipient:
    """An official's private chat (on Telegram and Zalo the private chat id is the user id)."""
    return Recipient(official.channel, official.user_id)


def office_group(session: Session, office_code: str) -> list[Recipient]:
    """The office's group chats on every channel (registered, linked or configured)."""
    return [Recipient(channel, chat_id) for channel, chat_id in office_groups(session, office_code)]


def office_officials(session: Session, office_code: str) -> list[Recipient]:
    """The office's registered officials and heads in private chat."""
    return _unique(official_chat(o) for o in officials_of_office(session, office_code))


def office_recipients(session: Session, settings: Settings, office_code: str) -> list[Recipient]:
    """Where an office hears about its tickets: its groups, else its officials, else the leaders."""
    return (office_group(session, office_code) or office_officials(session, office_code)
            or leaders(session, settings))


def ticket_handler(session: Session, ticket: Ticket, settings: Settings | None = None) -> list[Recipient]:
    """The assignee in private chat, or the office while nobody has taken the ticket."""
    if ticket.assignee_id is not None:
        official = session.get(Official, ticket.assignee_id)
        if official is not None and official.active:
            return [official_chat(official)]
    if settings is None:
        return office_group(session, ticket.office_code) or office_heads(session, ticket.office_code)
    return office_recipients(session, settings, ticket.office_code)


def office_heads(session: Session, office_code: str) -> list[Recipient]:
    """The office's heads in private chat; the office's groups, else its officials, when no head has registered."""
    heads = [official_chat(o) for o in sorted(heads_of_office(session, office_code), key=lambda o: o.id or 0)]
    return heads or office_group(session, office_code) or office_officials(session, office_code)


def leaders(session: Session, settings: Settings) -> list[Recipient]:
    """Registered leaders in private chat, or the configured leaders' chat (schedule.leaders_chat_id)."""
    found = [official_chat(o) for o in active_leaders(session)]
    if not found:
        configured = parse_chat(settings.schedule.leaders_chat_id)
        found = [configured] if configured else []
    return found


def unheard_offices(session: Session, settings: Settings) -> list[str]:
    """Codes of offices whose new petitions would reach nobody (no group, no official, no leader)."""
    return [o.code for o in settings.offices if not office_recipients(session, settings, o.code)]


def _unique(items) -> list[Recipient]:  # noqa: ANN001 - any iterable of Recipient
    seen: list[Recipient] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
