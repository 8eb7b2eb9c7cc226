"""Queries for officials, their invites, office group chats, cards, tokens and followers (add/flush only)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.engine import is_sqlite
from storage.models import (ActionToken, ChannelIdentity, Office, OfficeGroup, Official, OfficialInvite, Ticket,
                            TicketCard, TicketFollower)


def find_official(session: Session, *, channel: str, user_id: str) -> Official | None:
    """The official bound to this channel account (active or not)."""
    return session.exec(select(Official).where(Official.channel == channel, Official.user_id == user_id)).first()


def list_officials(session: Session) -> list[Official]:
    """Every official, oldest first."""
    return list(session.exec(select(Official).order_by(col(Official.id))))


def heads_of_office(session: Session, office_code: str) -> list[Official]:
    """Active heads of an office (to escalate a reopened ticket)."""
    return list(session.exec(select(Official).where(Official.office_code == office_code, Official.role == "head",
                                                    Official.active == True)))  # noqa: E712


def find_invite(session: Session, code_hash: str) -> OfficialInvite | None:
    """The invite with this code hash."""
    return session.exec(select(OfficialInvite).where(OfficialInvite.code_hash == code_hash)).first()


def office_of_chat(session: Session, *, channel: str, chat_id: str) -> Office | None:
    """The office whose group chat this is: from config (offices table) or registered with /ganphong."""
    if channel == "telegram":
        office = session.exec(select(Office).where(Office.telegram_chat_id == chat_id)).first()
        if office is not None:
            return office
    group = office_group_of_chat(session, channel=channel, chat_id=chat_id)
    return session.get(Office, group.office_code) if group else None


def office_group_of_chat(session: Session, *, channel: str, chat_id: str) -> OfficeGroup | None:
    """The registered or linked office group row of this chat, if any."""
    return session.exec(select(OfficeGroup).where(OfficeGroup.channel == channel,
                                                  OfficeGroup.chat_id == chat_id)).first()


def office_groups(session: Session, office_code: str) -> list[tuple[str, str]]:
    """(channel, chat id) of every group an office has: the newest registered or linked group per
    channel (Telegram /ganphong, Zalo link), plus offices[].telegram_chat_id when no Telegram group
    was registered."""
    found: dict[str, str] = {}
    for group in session.exec(select(OfficeGroup).where(OfficeGroup.office_code == office_code)
                              .order_by(col(OfficeGroup.id).desc())):
        found.setdefault(group.channel, group.chat_id)
    office = session.get(Office, office_code)
    if office is not None and office.telegram_chat_id:
        found.setdefault("telegram", office.telegram_chat_id)
    return sorted(found.items())


def link_office_group(session: Session, *, channel: str, chat_id: str, office_code: str, now: datetime,
                      registered_by: int | None = None) -> OfficeGroup:
    """Bind a group chat to an office (idempotent; a group moved to another office follows the newest link)."""
    group = office_group_of_chat(session, channel=channel, chat_id=chat_id)
    if group is None:
        group = OfficeGroup(channel=channel, chat_id=chat_id, office_code=office_code, registered_by=registered_by,
                            created_at=now)
        session.add(group)
    elif group.office_code != office_code:
        group.office_code, group.registered_by, group.created_at = office_code, registered_by, now
    session.flush()
    return group


def groups_on_channel(session: Session, channel: str) -> list[OfficeGroup]:
    """Every office group on one channel, oldest first."""
    return list(session.exec(select(OfficeGroup).where(OfficeGroup.channel == channel).order_by(col(OfficeGroup.id))))


def officials_of_office(session: Session, office_code: str) -> list[Official]:
    """Active officials and heads of an office, oldest first."""
    return list(session.exec(select(Official).where(Official.office_code == office_code,
                                                    col(Official.role).in_(("official", "head")),
                                                    col(Official.active).is_(True))
                             .order_by(col(Official.id))))


def active_officials_of_hamlet(session: Session, *, role: str, hamlet: str) -> list[Official]:
    """Active officials with this role for one hamlet (its mediation team leaders), oldest first."""
    return list(session.exec(select(Official).where(Official.role == role, Official.hamlet == hamlet,
                                                    col(Official.active).is_(True)).order_by(col(Official.id))))


def active_official_accounts(session: Session) -> list[tuple[str, str]]:
    """(channel, user id) of every active official."""
    return list(session.exec(select(Official.channel, Official.user_id).where(Official.active)).all())


def active_leaders(session: Session) -> list[Official]:
    """Active leaders, oldest first."""
    return list(session.exec(select(Official).where(Official.role == "leader", col(Official.active).is_(True))
                             .order_by(col(Official.id))))


def lock_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket, row-locked on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    stmt = select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    if not is_sqlite(session.get_bind()):
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def find_token(session: Session, token: str) -> ActionToken | None:
    """What a button's opaque id stands for."""
    return session.get(ActionToken, token)


def token_for(session: Session, *, ticket_id: int, action: str, chat_key: str) -> ActionToken | None:
    """The existing token for this (ticket, action, chat), if any."""
    return session.exec(select(ActionToken).where(ActionToken.ticket_id == ticket_id, ActionToken.action == action,
                                                  ActionToken.chat_key == chat_key)).first()


def tokens_in_chat(session: Session, *, ticket_id: int | None, chat_key: str) -> list[ActionToken]:
    """Every button token of a ticket bound to one chat."""
    return list(session.exec(select(ActionToken).where(ActionToken.ticket_id == ticket_id,
                                                       ActionToken.chat_key == chat_key)))


def cards_of_ticket(session: Session, ticket_id: int) -> list[TicketCard]:
    """Every card of a ticket, in every chat."""
    return list(session.exec(select(TicketCard).where(TicketCard.ticket_id == ticket_id)
                             .order_by(col(TicketCard.id))))


def card_in_chat(session: Session, *, ticket_id: int, channel: str, chat_id: str) -> TicketCard | None:
    """The card of a ticket in one chat."""
    return session.exec(select(TicketCard).where(TicketCard.ticket_id == ticket_id, TicketCard.channel == channel,
                                                 TicketCard.chat_id == chat_id)).first()


def card_by_message(session: Session, *, channel: str, chat_id: str, message_ref: str) -> TicketCard | None:
    """The card whose latest message in this chat has this id (a quoted card names its ticket)."""
    if not message_ref:
        return None
    return session.exec(select(TicketCard).where(TicketCard.channel == channel, TicketCard.chat_id == chat_id,
                                                 TicketCard.message_ref == message_ref)).first()


def identities_of_citizen(session: Session, citizen_id: int) -> list[ChannelIdentity]:
    """Every chat a citizen wrote from."""
    return list(session.exec(select(ChannelIdentity).where(ChannelIdentity.citizen_id == citizen_id)
                             .order_by(col(ChannelIdentity.id))))


def followers_of_ticket(session: Session, ticket_id: int) -> list[TicketFollower]:
    """Chats that follow a ticket by code and PIN."""
    return list(session.exec(select(TicketFollower).where(TicketFollower.ticket_id == ticket_id)
                             .order_by(col(TicketFollower.id))))


def add_follower(session: Session, *, ticket_id: int, channel: str, chat_id: str, user_id: str,
                 now: datetime) -> None:
    """Let a chat receive a ticket's updates (idempotent)."""
    exists = session.exec(select(TicketFollower).where(TicketFollower.ticket_id == ticket_id,
                                                       TicketFollower.channel == channel,
                                                       TicketFollower.chat_id == chat_id)).first()
    if exists is None:
        session.add(TicketFollower(ticket_id=ticket_id, channel=channel, chat_id=chat_id, user_id=user_id,
                                   created_at=now))
        session.flush()
