"""The order of the intake steps and the rule for skipping those that do not apply (shared by the step modules)."""

from __future__ import annotations

from types import MappingProxyType

from bot.conversation.engine import Turn
from bot.core.domain import TicketType

NO_CONSENT_TYPES = (TicketType.PHAN_ANH, TicketType.GOP_Y)
STEP_AFTER = MappingProxyType({
    "type": "description", "description": "category", "category": "hamlet_confirm", "hamlet": "extras",
    "extras": "cosigners", "cosigners": "contact", "contact": "summary",
})


def consented(turn: Turn) -> bool:
    """True when the citizen agreed to the personal-data notice."""
    return bool(turn.citizen.consent)


def advance(turn: Turn, done: str) -> None:
    """Go to the step after `done`, skipping steps that do not apply; back to the summary when editing."""
    if turn.data.get("editing"):
        turn.data.pop("editing", None)
        turn.goto("summary")
        return
    step = STEP_AFTER[done]
    draft = turn.draft
    while True:
        if step == "description" and draft.description:
            step = STEP_AFTER[step]
        elif step == "cosigners" and draft.type == TicketType.GOP_Y:
            step = STEP_AFTER[step]
        elif step == "contact" and not consented(turn):
            step = STEP_AFTER[step]
        else:
            break
    turn.goto(step)
