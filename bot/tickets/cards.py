"""The ticket card: one message per chat, rendered from the ticket's current state with its
action buttons (opaque tokens bound to that chat), sent once and then edited in place.

The outbox row of a first send carries {"card_id"}; the sender records the message id it got
back. An edit row carries {"edit_card"}; the sender edits that message, or sends a new one when
the first send never got an id (so a card is never lost)."""

from __future__ import annotations

from types import MappingProxyType

from typing import Any

from sqlmodel import Session

from bot.tickets.context import TicketScope, TicketStep
from bot.tickets.recipients import office_recipients
from bot.tickets.tokens import PREFIX, add_token
from bot.core.domain import Button, Channel, Outgoing, Reply, TicketStatus as S, TicketType, is_zalo_group
from bot.core.render import shorten  # noqa: F401 - cards.shorten is used by commands
from storage.attachments import count_attachments
from storage.conversations import set_conversation_value
from storage.events import count_events
from storage.models import Office, Official, Ticket, TicketCard
from storage.officials import card_in_chat, cards_of_ticket, find_official, office_of_chat, tokens_in_chat

SUMMARY_CHARS = 1500
# Before acceptance a card keeps to five buttons (Zalo shows at most five as buttons); referral outside
# and mediation are offered once the office has taken the ticket up (/hoagiai works at any time).
BUTTONS_BY_STATUS: dict[str, tuple[tuple[str, ...], ...]] = MappingProxyType({
    S.RECEIVED: (("accept", "transfer"), ("request_info", "refuse"), ("note",)),
    S.TRANSFERRED: (("accept", "transfer"), ("request_info", "refuse"), ("note",)),
    S.REOPENED: (("accept", "transfer"), ("request_info", "refuse"), ("note",)),
    S.ACCEPTED: (("progress", "resolve"), ("request_info", "transfer"), ("extend", "refuse"), ("refer", "mediate"),
                 ("note",)),
    S.IN_PROGRESS: (("progress", "resolve"), ("request_info", "transfer"), ("extend", "refuse"),
                    ("refer", "mediate"), ("note",)),
    S.WAITING_CITIZEN: (("progress", "resolve"), ("extend", "note")),
    S.RESOLVED: (("note",),),
    S.CLOSED: (("note",),),
    S.REFUSED: (("note",),),
    S.REFERRED: (("note",),),
    S.MEDIATION: (("note",),),
})


def card_view(ctx: TicketScope, ticket: Ticket) -> dict[str, Any]:
    """What an office may see of a ticket: never a tố cáo author, never a channel account."""
    session: Session = ctx.session
    office = session.get(Office, ticket.office_code)
    assignee = session.get(Official, ticket.assignee_id) if ticket.assignee_id else None
    attachments = count_attachments(session, ticket.id)
    extensions = count_events(session, ticket.id, "extended")
    is_denunciation = ticket.type == TicketType.TO_CAO
    # While a dispute is with the hamlet's mediation team, only the team and the justice official's
    # office see the parties' names (domain §6).
    in_mediation = ticket.status == S.MEDIATION and ticket.office_code != ctx.settings.mediation.justice_office
    hidden = is_denunciation or ticket.anonymous or in_mediation
    return {
        "code": ticket.code, "status": str(ticket.status), "status_name": ctx.texts.label(f"status_{ticket.status}"),
        "type_name": ctx.settings.ticket_type(ticket.type).name,
        "category_name": ctx.settings.category(ticket.category).name,
        "office_name": office.name if office else ticket.office_code, "hamlet": ticket.hamlet,
        "cosigners": ticket.cosigners, "received": ticket.received_date, "source": ticket.source,
        "channel": ticket.channel, "answer_due": ticket.answer_due, "accept_due": ticket.accept_due,
        "resolve_due": ticket.resolve_due, "accepted": ticket.accepted_at is not None,
        "assignee": assignee.display_name if assignee else "", "attachments": int(attachments or 0),
        "extensions": int(extensions or 0), "latitude": ticket.latitude, "longitude": ticket.longitude,
        "is_denunciation": is_denunciation,
        "contact_name": "" if hidden else ticket.contact_name,
        "contact_phone": "" if hidden else ticket.contact_phone,
        "summary": shorten(ticket.description, SUMMARY_CHARS),
        "web_url": ticket_link(ctx, ticket),
    }


def card_buttons(ctx: TicketScope, ticket: Ticket, *, chat_key: str) -> tuple[tuple[Button, ...], ...]:
    """The actions that make sense in the ticket's state, as opaque per-chat tokens.

    One query reads the chat's existing tokens; missing ones are added without a lookup each.
    """
    known = {t.action: PREFIX + t.token for t in tokens_in_chat(ctx.session, ticket_id=ticket.id, chat_key=chat_key)}

    def payload(action: str) -> str:
        if action not in known:
            known[action] = add_token(ctx.session, ticket_id=ticket.id, action=action, chat_key=chat_key, now=ctx.now)
        return known[action]

    return tuple(tuple(Button(ctx.texts.label(f"act_{action}"), payload(action)) for action in row)
                 for row in BUTTONS_BY_STATUS.get(str(ticket.status), ()))


def ticket_link(ctx: TicketScope, ticket: Ticket) -> str:
    """The ticket's page in the web back office, when web.public_url is configured."""
    base = ctx.settings.web.public_url.rstrip("/")
    return f"{base}/can-bo/phieu/{ticket.code}" if base else ""


def render_card(ctx: TicketScope, ticket: Ticket, *, channel: str, chat_id: str, live: bool = True) -> Reply:
    """The card as it should look now; a card left behind by a transfer keeps no buttons.

    A Zalo group has no buttons: its card is text that names the typed commands (each a new message)."""
    if is_zalo_group(channel, chat_id):
        return Reply(text=ctx.texts.render("office/group_card", t=card_view(ctx, ticket), live=live,
                                           link=ticket_link(ctx, ticket)))
    text = ctx.texts.render("office/card", t=card_view(ctx, ticket), live=live)
    buttons = card_buttons(ctx, ticket, chat_key=f"{channel}:{chat_id}") if live else ()
    return Reply(text=text, buttons=buttons)


def show_card(ctx: TicketScope, ticket: Ticket, *, channel: str, chat_id: str) -> Outgoing:
    """Send (or re-send) the card in a chat and remember it there, so later changes edit it."""
    card = card_in_chat(ctx.session, ticket_id=ticket.id, channel=channel, chat_id=chat_id)
    if card is None:
        card = TicketCard(ticket_id=ticket.id, channel=channel, chat_id=chat_id, created_at=ctx.now,
                          updated_at=ctx.now)
        ctx.session.add(card)
    card.active, card.message_ref, card.updated_at = True, "", ctx.now
    ctx.session.flush()
    reply = render_card(ctx, ticket, channel=channel, chat_id=chat_id)
    remember_numbered(ctx, channel=channel, chat_id=chat_id, reply=reply)
    return Outgoing(channel=Channel(channel), chat_id=chat_id, reply=reply, ticket_code=ticket.code,
                    extra={"card_id": card.id})


def remember_numbered(ctx: TicketScope, *, channel: str, chat_id: str, reply: Reply) -> None:
    """A Zalo private chat shows more than five actions as a numbered list: remember the card's
    payloads in the official's conversation, so a typed digit presses the same (opaque) button."""
    payloads = [b.payload for row in reply.buttons for b in row]
    if channel != str(Channel.ZALO) or is_zalo_group(channel, chat_id) or not payloads:
        return
    chat, own = getattr(ctx, "chat", None), getattr(ctx, "data", None)
    if chat is not None and getattr(ctx, "official", None) is not None and chat.key == f"{channel}:{chat_id}" \
            and isinstance(own, dict):
        own["buttons"] = payloads             # the official's own turn: its data is stored at the end
        return
    if find_official(ctx.session, channel=channel, user_id=chat_id) is None:
        return
    set_conversation_value(ctx.session, channel=channel, user_id=chat_id, key="buttons", value=payloads, now=ctx.now)


def office_cards(ctx: TicketScope, ticket: Ticket) -> list[Outgoing]:
    """The card for everyone the owning office is reached by (bot.tickets.recipients): its groups on
    every channel, else its officials privately, else the leaders."""
    return [show_card(ctx, ticket, channel=r.channel, chat_id=r.chat_id)
            for r in office_recipients(ctx.session, ctx.settings, ticket.office_code)]


def post_office_card(ctx: TicketStep, ticket: Ticket) -> Outgoing | None:
    """The office's cards: every one but the first is queued through ctx.notify, the first is returned
    for the caller to queue (None when nobody at all can be reached)."""
    found = office_cards(ctx, ticket)
    for extra in found[1:]:
        ctx.notify(extra)
    return found[0] if found else None


def refresh_cards(ctx: TicketScope, ticket: Ticket) -> list[Outgoing]:
    """Edit every live card of the ticket; cards in chats of an office that lost it go quiet."""
    messages = []
    for card in cards_of_ticket(ctx.session, ticket.id):
        if not card.active:
            continue
        office = office_of_chat(ctx.session, channel=card.channel, chat_id=card.chat_id)
        live = office is None or office.code == ticket.office_code
        if not live:
            card.active = False
        card.updated_at = ctx.now
        reply = render_card(ctx, ticket, channel=card.channel, chat_id=card.chat_id, live=live)
        remember_numbered(ctx, channel=card.channel, chat_id=card.chat_id, reply=reply)
        messages.append(Outgoing(channel=Channel(card.channel), chat_id=card.chat_id, reply=reply,
                                 ticket_code=ticket.code, extra={"edit_card": card.id}))
    return messages
