"""An official answers a card in a private chat (console, Zalo, Telegram) by the number or the
label of a button, exactly as citizens choose (bot.conversation.engine.match_typed_choice). The
buttons are those of the newest message written to that chat, a card delivered by notification
included."""

from __future__ import annotations

from bot.conversation.engine import match_typed_choice
from bot.officials.turn import OfficeTurn
from storage.outbox import last_buttons_to


def last_buttons(turn: OfficeTurn) -> list[tuple[str, str]]:
    """The buttons of the newest message in this chat (a card delivered by notification counts)."""
    return last_buttons_to(turn.session, channel=str(turn.inbound.channel), chat_id=turn.inbound.chat_id)


def typed_button(turn: OfficeTurn, text: str) -> str | None:
    """The payload of the button an official designated by number or label, exactly as citizens
    choose; '' for a number outside the list; None when the text is not a choice."""
    raw = text.strip()
    if not raw or len(raw) > 60:
        return None
    buttons = last_buttons(turn)
    if not buttons:
        return None
    value = match_typed_choice(raw, [(payload, label) for payload, label in buttons], turn.texts)
    if value is None and raw.isdecimal() and len(raw) <= 2:
        return ""
    return value
