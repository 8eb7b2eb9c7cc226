"""Telling a citizen that a file they sent was not kept (wrong type, too large); the petition stands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.tickets.citizen_notices import recipients
from bot.core.domain import Reply
from bot.core.render import Texts
from storage.engine import write_session
from storage.outbox import enqueue_message
from storage.tickets import find_ticket


def notify_attachment_refused(engine: Engine, texts: Texts, *, ticket_code: str, reason: str, now: datetime) -> int:
    """Queue one message per chat of the ticket's author; returns how many chats were told."""
    with write_session(engine) as session:
        ticket = find_ticket(session, ticket_code)
        if ticket is None:
            return 0
        text = texts.render("citizen/attachment_refused", code=ticket.code, reason=reason)
        targets = recipients(session, ticket)
        for channel, chat_id, _user in targets:
            enqueue_message(session, channel=channel, chat_id=chat_id, payload=Reply(text=text).to_json(), now=now,
                            ticket_code=ticket.code)
        return len(targets)
