"""Which inbound events belong to the officials' workflow, and running them in the service's
transaction: office group chats, registered officials' private chats, and /dangky."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.officials import commands as officials
from bot.officials import group_commands
from bot.tickets.tokens import PREFIX, lookup, parse_payload
from bot.intake.surveys import CITIZEN_ACTIONS
from bot.officials.actions import DENIED
from bot.tickets.records import record_refusal
from bot.conversation.engine import load_data, store_data
from bot.core.domain import Inbound
from bot.officials.turn import OfficeTurn
from bot.core.policy import ChatContext
from bot.core.render import html_to_plain
from storage.conversations import load_conversation
from storage.models import Conversation
from storage.officials import find_official, office_of_chat
from storage.outbox import enqueue_message, release_held
from storage.tickets import touch_identity


def _command(text: str) -> str:
    if not text.startswith("/"):
        return ""
    return text[1:].split(" ", 1)[0].split("@", 1)[0].lower()


def wants(session: Session, inbound: Inbound) -> bool:
    """Groups always; private chats of officials (revoked ones only for office buttons and commands)."""
    if not inbound.is_private:
        return True
    if _command(inbound.text) == "dangky":
        return True
    official = find_official(session, channel=str(inbound.channel), user_id=inbound.user_id)
    session.info["danvan_official"] = official        # handle() reuses it within this transaction
    if official is None:
        return _office_token(session, inbound)   # a citizen pressing an office button: refused and audited
    return official.active or officials.is_office_input(inbound.text, inbound.payload)


def _office_token(session: Session, inbound: Inbound) -> bool:
    """A payload that is an opaque token but not one of the citizen's own (survey) buttons."""
    raw = inbound.payload if inbound.payload is not None else inbound.text
    if parse_payload(raw) is None:
        # A pressed button in the office-token namespace that is malformed is a forgery, not a citizen's
        # answer: refuse and audit it (typed text that merely starts with "x:" stays with the citizen).
        return inbound.payload is not None and inbound.payload.strip().startswith(PREFIX)
    token = lookup(session, raw)
    return token is None or not token.action.startswith(CITIZEN_ACTIONS)


def handle(services: Any, session: Session, inbound: Inbound, now: datetime, result: Any) -> None:
    """Run one officials' event; replies and notifications become outbox rows in this transaction."""
    channel = str(inbound.channel)
    if "danvan_official" in session.info:
        official = session.info.pop("danvan_official")
    else:
        official = find_official(session, channel=channel, user_id=inbound.user_id)
    office_code = None
    if not inbound.is_private:
        office = office_of_chat(session, channel=channel, chat_id=inbound.chat_id)
        if office is None and _command(inbound.text) != "ganphong":
            result.leave_chat = True          # the bot works only in registered office groups
            if inbound.payload is not None:   # a button pressed there can only be forged: audit the refusal
                actor = f"official:{official.id}" if official is not None else f"{channel}:unknown"
                record_refusal(session, actor=actor, action="?", reason="unregistered_group", now=now,
                               where=f"chat={channel}:{inbound.chat_id}")
                result.callback_text = DENIED
            return
        office_code = office.code if office else None
        if official is None and inbound.payload is None and not group_commands.is_group_command(inbound.text) \
                and _command(inbound.text) not in ("huongdan", "help", "dangky"):
            return                            # citizens' or guests' talk in a group is not for the bot
    if official is not None:
        conversation = load_conversation(session, channel=channel, user_id=inbound.user_id, chat_id=inbound.chat_id,
                                         now=now)
    else:
        conversation = Conversation(channel=channel, user_id=inbound.user_id, chat_id=inbound.chat_id,
                                    updated_at=now)  # not stored: strangers leave no state behind
    turn = OfficeTurn(session=session, settings=services.settings, texts=services.texts, now=now, inbound=inbound,
                      conversation=conversation, official=official,
                      chat=ChatContext(channel=channel, chat_id=inbound.chat_id, is_private=inbound.is_private,
                                       office_code=office_code),
                      services=services, data=load_data(conversation))
    if inbound.is_private and official is not None:
        # Messages Zalo refused while the official was silent for 7 days go out now that they wrote.
        touch_identity(session, channel=channel, user_id=inbound.user_id, now=now)
        if release_held(session, channel=channel, chat_id=inbound.chat_id, now=now):
            result.chats.add((channel, inbound.chat_id))
    if not group_commands.handle(turn):
        officials.handle_turn(turn)
    if turn.official is not None:
        if official is None:                  # just registered: keep their state from now on
            conversation = load_conversation(session, channel=channel, user_id=inbound.user_id,
                                             chat_id=inbound.chat_id, now=now)
            conversation.flow = "office"
        store_data(conversation, turn.data, now)
        if inbound.is_private:
            conversation.chat_id = inbound.chat_id
    for reply in turn.replies:
        enqueue_message(session, channel=channel, chat_id=inbound.chat_id, payload=reply.to_json(), now=now)
        result.chats.add((channel, inbound.chat_id))
    for message in turn.outgoing:
        enqueue_message(session, channel=str(message.channel), chat_id=message.chat_id,
                        payload={**message.reply.to_json(), **message.extra}, now=now,
                        ticket_code=message.ticket_code)
        result.chats.add((str(message.channel), message.chat_id))
    result.callback_text = html_to_plain(turn.callback_text)[:190]
    result.ticket_codes = list(turn.tickets_created)
