"""The intake's optional extras: photos, files and the location of the incident. Registered on the intake
flow by `register`."""

from __future__ import annotations

from bot.conversation.engine import Choice, Flow, Step, Turn
from bot.core.domain import ButtonKind, Channel
from bot.intake.steps import advance
from bot.language.normalize import is_meaningful, normalize_text
from bot.tickets.records import Draft


def prompt_extras(turn: Turn) -> None:
    choices = [Choice("done", turn.texts.label("extras_done"))]
    if turn.inbound.channel == Channel.TELEGRAM and turn.inbound.is_private:
        choices.insert(0, Choice("location", turn.texts.label("extras_location"), ButtonKind.REQUEST_LOCATION))
    draft = turn.draft
    turn.say("citizen/ask_extras", photos=len(draft.attachments), has_location=bool(draft.location),
             choices=choices)


def choose_extras(turn: Turn, value: str) -> None:
    if value == "location":
        # The label came back as text (a client without location sharing): explain once more.
        turn.say("citizen/location_how")
        turn.goto("extras")
        return
    advance(turn, "extras")


def add_attachments(turn: Turn, draft: Draft) -> int:
    """Copy the inbound attachments into the draft, within the configured count; returns how many."""
    room = turn.settings.intake.max_attachments - len(draft.attachments)
    added = 0
    for item in turn.inbound.attachments[:max(room, 0)]:
        draft.attachments.append({"kind": item.kind, "ref": item.ref, "mime": item.mime, "size": item.size})
        added += 1
    return added


def extras_media(turn: Turn) -> None:
    draft = turn.draft
    added = add_attachments(turn, draft)
    turn.save_draft(draft)
    if turn.inbound.text and is_meaningful(turn.inbound.text):
        clean, _ = normalize_text(turn.inbound.text, max_chars=1000)
        draft.description = f"{draft.description}\n{clean}"
        turn.save_draft(draft)
    turn.say("citizen/extras_received", photos=len(draft.attachments), full=added == 0)
    turn.goto("extras")


def extras_location(turn: Turn) -> None:
    draft = turn.draft
    loc = turn.inbound.location
    assert loc is not None
    draft.location = [loc.latitude, loc.longitude]
    turn.save_draft(draft)
    turn.say("citizen/location_received", remove_keyboard=True)
    turn.goto("extras")


def extras_text(turn: Turn, text: str) -> None:
    """More words at this step are added to the description rather than lost."""
    clean, _ = normalize_text(text, max_chars=turn.settings.intake.max_text_chars)
    if not is_meaningful(clean):
        turn.say("citizen/not_understood_choice")
        turn.goto("extras")
        return
    draft = turn.draft
    draft.description = f"{draft.description}\n{clean}"[: turn.settings.intake.max_text_chars]
    turn.save_draft(draft)
    turn.say("citizen/description_added")
    turn.goto("extras")


def register(flow: Flow) -> None:
    """Add the extras step to the intake flow."""
    flow.step("extras", Step(prompt=prompt_extras, on_choice=choose_extras, on_media=extras_media,
                             on_location=extras_location, on_text=extras_text))
