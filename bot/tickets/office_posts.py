"""Messages about a ticket to the officials' side: refreshed cards and posts in the holding office's group."""

from __future__ import annotations

from typing import Any

from bot.tickets.context import TicketStep
from bot.core.domain import Attachment, Channel, Outgoing, Reply
from bot.tickets import cards
from bot.tickets.recipients import office_recipients
from storage.models import Ticket


def after_change(ctx: TicketStep, ticket: Ticket) -> None:
    """Every card of the ticket shows the new state."""
    for message in cards.refresh_cards(ctx, ticket):
        ctx.notify(message)


def post_to_office(ctx: TicketStep, ticket: Ticket, template: str, *, attachments: tuple[Attachment, ...] = (),
                   attachments_channel: str = "", **context: Any) -> None:
    """A message to the office that holds the ticket: its groups, else its officials, else the leaders
    (bot.tickets.recipients, the same resolver as the cards)."""
    for target in office_recipients(ctx.session, ctx.settings, ticket.office_code):
        files = attachments if target.channel == attachments_channel else ()
        ctx.notify(Outgoing(channel=Channel(target.channel), chat_id=target.chat_id,
                            reply=Reply(text=ctx.texts.render(template, code=ticket.code, **context),
                                        attachments=files),
                            ticket_code=ticket.code))
