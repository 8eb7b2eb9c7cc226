"""Messages to the person behind a ticket, on every chat they used or that follows the ticket.

For a tố cáo the link to the author lives only in ReporterIdentity; it is read here to deliver,
and never copied anywhere an office can see it."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.tickets.context import TicketStep
from bot.core.domain import Attachment, Button, Channel, Outgoing, Reply
from storage.models import Ticket
from storage.officials import followers_of_ticket, identities_of_citizen
from storage.tickets import reporter_identity


def citizen_of_ticket(session: Session, ticket: Ticket) -> int | None:
    """The citizen who filed the ticket (through the identity table for a tố cáo)."""
    if ticket.citizen_id is not None:
        return ticket.citizen_id
    row = reporter_identity(session, ticket.id)
    return row.citizen_id if row is not None else None


def recipients(session: Session, ticket: Ticket) -> list[tuple[str, str, str]]:
    """(channel, chat id, user id) of every chat that should hear about this ticket."""
    seen: set[tuple[str, str]] = set()
    found: list[tuple[str, str, str]] = []
    citizen_id = citizen_of_ticket(session, ticket)
    if citizen_id is not None:
        for identity in identities_of_citizen(session, citizen_id):
            if (identity.channel, identity.chat_id) not in seen:
                seen.add((identity.channel, identity.chat_id))
                found.append((identity.channel, identity.chat_id, identity.user_id))
    for follower in followers_of_ticket(session, ticket.id):
        if (follower.channel, follower.chat_id) not in seen:
            seen.add((follower.channel, follower.chat_id))
            found.append((follower.channel, follower.chat_id, follower.user_id))
    return found


def notify_citizen(ctx: TicketStep, ticket: Ticket, template: str, *, buttons_for: Any = None,
                   attachments: tuple[Attachment, ...] = (), attachments_channel: str = "", **context: Any) -> int:
    """Queue one message per recipient chat; `buttons_for(channel, chat_id)` adds per-chat buttons;
    attachments go only to chats on the channel whose file ids they are.
    Returns how many chats will be told (0: the citizen left no electronic contact)."""
    text = ctx.texts.render(template, code=ticket.code, **context)
    targets = recipients(ctx.session, ticket)
    for channel, chat_id, _user in targets:
        buttons: tuple[tuple[Button, ...], ...] = buttons_for(channel, chat_id) if buttons_for else ()
        files = attachments if channel == attachments_channel else ()
        ctx.notify(Outgoing(channel=Channel(channel), chat_id=chat_id,
                            reply=Reply(text=text, buttons=buttons, attachments=files), ticket_code=ticket.code))
    return len(targets)
