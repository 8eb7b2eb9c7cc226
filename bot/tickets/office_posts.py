"""Messages about a ticket to the officials' side: refreshed cards and posts in the holding office's group."""

from __future__ import annotations

from typing import Any

from bot.tickets.context import TicketStep
from bot.core.domain import Attachment, Channel, Outgoing, Reply
from bot.tickets import cards
from storage.models import Ticket
from storage.officials import office_group_chat


def after_change(ctx: TicketStep, ticket: Ticket) -> None:
    """Every card of the ticket shows the new state."""
    for message in cards.refresh_cards(ctx, ticket):
        ctx.notify(message)


def post_to_office(ctx: TicketStep, ticket: Ticket, template: str, *, attachments: tuple[Attachment, ...] = (),
                   attachments_channel: str = "", **context: Any) -> None:
    """A message in the group of the office that holds the ticket (when it has one)."""
    target = office_group_chat(ctx.session, ticket.office_code)
    if target is not None:
        files = attachments if target[0] == attachments_channel else ()
        ctx.notify(Outgoing(channel=Channel(target[0]), chat_id=target[1],
                            reply=Reply(text=ctx.texts.render(template, code=ticket.code, **context),
                                        attachments=files),
                            ticket_code=ticket.code))
