"""Who receives scheduled messages: assignees, office groups, office heads and leaders."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.config.settings import Settings
from bot.core.domain import Channel
from storage.models import Office, Official, Ticket

ROLE_HEAD = "head"
ROLE_LEADER = "leader"


@dataclass(frozen=True)
class Recipient:
    """A chat to write to."""

    channel: str
    chat_id: str


def official_chat(official: Official) -> Recipient:
    """An official's private chat (on Telegram the private chat id is the user id)."""
    return Recipient(official.channel, official.user_id)


def office_group(session: Session, office_code: str) -> list[Recipient]:
    """The office's group chat, when configured."""
    office = session.get(Office, office_code)
    if office is None or not office.telegram_chat_id:
        return []
    return [Recipient(str(Channel.TELEGRAM), office.telegram_chat_id)]


def ticket_handler(session: Session, ticket: Ticket) -> list[Recipient]:
    """The assignee in private chat, or the office group while nobody has taken the ticket (its
    heads when the office has no group yet)."""
    if ticket.assignee_id is not None:
        official = session.get(Official, ticket.assignee_id)
        if official is not None and official.active:
            return [official_chat(official)]
    return office_group(session, ticket.office_code) or office_heads(session, ticket.office_code)


def office_heads(session: Session, office_code: str) -> list[Recipient]:
    """The office's heads in private chat; the office group when no head has registered."""
    heads = session.exec(select(Official).where(Official.role == ROLE_HEAD, Official.office_code == office_code,
                                                col(Official.active).is_(True))
                         .order_by(col(Official.id))).all()
    return [official_chat(o) for o in heads] or office_group(session, office_code)


def leaders(session: Session, settings: Settings) -> list[Recipient]:
    """Registered leaders in private chat, or the configured leaders' group."""
    rows = session.exec(select(Official).where(Official.role == ROLE_LEADER, col(Official.active).is_(True))
                        .order_by(col(Official.id))).all()
    found = [official_chat(o) for o in rows]
    if not found and settings.schedule.leaders_chat_id:
        found = [Recipient(str(Channel.TELEGRAM), settings.schedule.leaders_chat_id)]
    return found
