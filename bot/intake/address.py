"""The sender's own address (địa chỉ người gửi), asked right after the name and phone.

Required for khiếu nại and tố cáo (Luật Khiếu nại art. 8, Luật Tố cáo art. 23: name and address),
offered (and skippable) for the other kinds. It is the sender's address, kept apart from the hamlet
where the matter happened (draft.hamlet) everywhere: the register, the leaders' reveal, the mediation
team's case. Sealed at rest like names and phones (storage.crypto.SealedText), erased by /xoadulieu
where the law allows (bot.intake.data_rights).

Self-contained: flow.py only sends the citizen here (`next_step`) and registers the step.
"""

from __future__ import annotations

from bot.conversation.engine import Choice, Flow, Step, Turn
from bot.core.domain import COMPLAINT_TYPES
from bot.language.normalize import is_meaningful, normalize_text

STEP = "contact_address"
MAX_CHARS = 200
MIN_CHARS = 6


def required(turn: Turn) -> bool:
    return turn.draft.type in COMPLAINT_TYPES


def next_step(turn: Turn) -> str:
    """After the contact: the address step for a sender who gave their name, else the summary."""
    return "summary" if turn.draft.contact_mode in ("", "anonymous") else STEP


def missing(turn: Turn) -> bool:
    """True when the draft may not be sent yet: an identified khiếu nại / tố cáo without an address."""
    draft = turn.draft
    return required(turn) and draft.contact_mode not in ("", "anonymous") and not draft.contact_address


def prompt(turn: Turn) -> None:
    draft = turn.draft
    choices = [Choice("keep", draft.contact_address[:60])] if draft.contact_address else []
    if not required(turn):
        choices.append(Choice("skip", turn.texts.label("address_skip")))
    turn.say("citizen/ask_address", required=required(turn), type_name=turn.settings.ticket_type(draft.type).name,
             choices=choices or None, remove_keyboard=not choices)


def choose(turn: Turn, value: str) -> None:
    draft = turn.draft
    if value == "skip" and not required(turn):
        draft.contact_address = ""
        turn.save_draft(draft)
    elif value != "keep" or not draft.contact_address:
        turn.goto(STEP)
        return
    _done(turn)


def take(turn: Turn, text: str) -> None:
    clean, _ = normalize_text(text, max_chars=MAX_CHARS)
    if len(clean) < MIN_CHARS or not is_meaningful(clean):
        turn.say("citizen/address_invalid", required=required(turn))
        return
    draft = turn.draft
    draft.contact_address = clean
    turn.save_draft(draft)
    _done(turn)


def _done(turn: Turn) -> None:
    turn.data.pop("editing", None)
    turn.goto("summary")


def register(flow: Flow) -> None:
    flow.step(STEP, Step(prompt=prompt, on_choice=choose, on_text=take))
