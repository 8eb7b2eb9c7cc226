"""A chat card's action taken from the browser: the same bot.officials.actions functions, the same
policy check and the same audit events, as if the official had pressed the button and typed the text
in a private chat. Replies meant for that chat come back as the page's messages; everything else
(citizen notices, card edits in office groups) goes to the outbox in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from bot.backoffice.desk import WEB_CHANNEL, Desk
from bot.core.domain import Channel, Inbound
from bot.core.render import html_to_plain
from bot.language.normalize import normalize_text
from bot.officials import actions
from bot.officials.commands import reveal_identity
from bot.officials.turn import OfficeTurn
from bot.tickets.citizen_notices import recipients
from storage.events import count_events_except
from storage.models import Conversation, Ticket
from storage.outbox import enqueue_message

ACTIONS = ("accept", "transfer", "request_info", "progress", "resolve", "extend", "refuse", "note")
# What the citizen receives for each action that carries the official's text (the preview).
CITIZEN_TEMPLATES = MappingProxyType({
    "progress": ("citizen/notice_progress", "text"), "resolve": ("citizen/notice_resolved", "text"),
    "request_info": ("citizen/notice_info_requested", "question"), "refuse": ("citizen/notice_refused", "guidance"),
    "extend": ("citizen/notice_extended", "reason")})


@dataclass
class Outcome:
    """What the page tells the official after an action."""

    ok: bool
    messages: list[str] = field(default_factory=list)
    outbox_rows: int = 0


def _turn(desk: Desk, text: str = "") -> OfficeTurn:
    chat = desk.chat
    inbound = Inbound(channel=Channel.WEB, user_id=chat.chat_id, chat_id=chat.chat_id, text=text, is_private=True)
    conversation = Conversation(channel=WEB_CHANNEL, user_id=chat.chat_id, chat_id=chat.chat_id, updated_at=desk.now)
    return OfficeTurn(session=desk.session, settings=desk.settings, texts=desk.texts, now=desk.now, inbound=inbound,
                      conversation=conversation, official=desk.official, chat=chat, services=desk.services)


def _flush(desk: Desk, turn: OfficeTurn) -> int:
    """The turn's messages to other chats become outbox rows (this transaction)."""
    for message in turn.outgoing:
        enqueue_message(desk.session, channel=str(message.channel), chat_id=message.chat_id,
                        payload={**message.reply.to_json(), **message.extra}, now=desk.now,
                        ticket_code=message.ticket_code)
    return len(turn.outgoing)


def _changes(desk: Desk, ticket: Ticket) -> int:
    """How many audited changes (not refusals) the ticket has: an action succeeded when this grew."""
    desk.session.flush()
    return count_events_except(desk.session, ticket.id, "denied")


def perform(desk: Desk, ticket: Ticket, action: str, *, text: str = "", target: str = "") -> Outcome:
    """Run one action. `text` answers the prompt the chat would have shown; `target` is the office of a transfer."""
    if action not in ACTIONS:
        return Outcome(False, [desk.texts.render("office/denied")])
    full = f"transfer_to:{target}" if action == "transfer" else action
    before = _changes(desk, ticket)
    turn = _turn(desk)
    actions.run(turn, ticket, full)
    pending = turn.data.get("pending")
    if action != "accept" and isinstance(pending, dict):
        turn.replies.clear()                      # the chat's prompt: the page already had the text box
        turn.inbound = replace(turn.inbound, text=text)
        actions.complete(turn, pending)
    ok = _changes(desk, ticket) > before
    messages = [html_to_plain(r.text) for r in turn.replies] or ([html_to_plain(turn.callback_text)]
                                                                 if turn.callback_text else [])
    return Outcome(ok, messages, _flush(desk, turn))


def preview(desk: Desk, ticket: Ticket, action: str, text: str) -> dict[str, Any] | None:
    """Exactly the message each of the citizen's chats will get (None for actions the citizen never sees)."""
    spec = CITIZEN_TEMPLATES.get(action)
    if spec is None:
        return None
    clean, _ = normalize_text(text or "", max_chars=desk.settings.intake.max_text_chars)
    template, key = spec
    context: dict[str, Any] = {key: clean}
    if action in ("progress", "resolve"):
        context["photos"] = 0
    if action == "extend":
        context["resolve_due"] = actions.extension_target(desk, ticket)
    body = desk.texts.render(template, code=ticket.code, **context)
    extra = desk.texts.render("citizen/survey_ask", code=ticket.code, reminder=False) if action == "resolve" else ""
    return {"html": body, "plain": html_to_plain(body), "survey": html_to_plain(extra), "text": clean,
            "chats": len(recipients(desk.session, ticket))}


def reveal(desk: Desk, ticket: Ticket, reason: str) -> Outcome:
    """The leaders' audited reveal of a tố cáo's author (bot.officials.commands.reveal_identity)."""
    turn = _turn(desk)
    reveal_identity(turn, f"{ticket.code} {' '.join(reason.split())}")
    return Outcome(turn.callback_text != actions.DENIED, [html_to_plain(r.text) for r in turn.replies])
