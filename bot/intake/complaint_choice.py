"""An anonymous khiếu nại cannot be filed (Luật Khiếu nại 2011 requires the complainant's name and
address): the person is offered, in one tap, to send the same text as a phản ánh or kiến nghị,
which may be anonymous, keeping everything typed (description, category, hamlet, photos), or
to leave their name and keep it a khiếu nại. The template explains the difference."""

from __future__ import annotations

from bot.conversation.engine import Choice, Step, Turn
from bot.core.domain import TicketType
from bot.intake.flow import flow, set_contact


def prompt_complaint_anonymous(turn: Turn) -> None:
    """An anonymous khiếu nại cannot be filed: offer the same text as a phản ánh or kiến nghị in one tap."""
    turn.say("citizen/anonymous_complaint_refused", remove_keyboard=True,
             choices=[Choice(TicketType.PHAN_ANH, turn.texts.label("complaint_as_phan_anh")),
                      Choice(TicketType.KIEN_NGHI, turn.texts.label("complaint_as_kien_nghi")),
                      Choice("identify", turn.texts.label("complaint_give_name"))])


def choose_complaint_anonymous(turn: Turn, value: str) -> None:
    if value == "identify":
        turn.goto("contact_manual")
        return
    draft = turn.draft
    draft.type = value              # description, category, hamlet and photos stay as typed
    turn.save_draft(draft)
    set_contact(turn, mode="anonymous", name="", phone="")


flow.step("complaint_anonymous", Step(prompt=prompt_complaint_anonymous, on_choice=choose_complaint_anonymous))
