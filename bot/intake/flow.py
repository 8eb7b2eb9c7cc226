"""The intake flow: type → description → category → hamlet → extras → co-signers → contact →
summary → confirm. Drawn in flow.mmd beside this file.

Each step prompts with a template and reacts to the person's answer; the draft lives in the
conversation row. Editing from the summary returns to the summary after the edited step.
"""

from __future__ import annotations


import re
from datetime import timedelta

from rapidfuzz import fuzz, process

from bot.tickets.cards import post_office_card
from bot.conversation.engine import Choice, Flow, Step, Turn
from bot.intake import address as sender_address
from bot.intake import contact, extras
from bot.intake.extras import add_attachments
from bot.intake.steps import NO_CONSENT_TYPES, STEP_AFTER, advance, consented  # noqa: F401 - used by the step modules through flow
from bot.intake.contact import set_contact  # noqa: F401 - the other intake steps set the contact here
from bot.core.throttles import DoorThrottle
from bot.core.domain import TicketType
from bot.core.render import shorten
from bot.language.normalize import fold, is_meaningful, normalize_text
from bot.tickets.records import Draft, create_ticket
from storage.models import Office

flow = Flow()

def start_intake(turn: Turn, *, description: str = "") -> None:
    """Begin a new draft (optionally with text the person already wrote)."""
    draft = Draft(description=description)
    if not consented(turn):
        draft.contact_mode = "anonymous"
    turn.save_draft(draft)
    turn.goto("type")


# --- type -------------------------------------------------------------------------------------

def prompt_type(turn: Turn) -> None:
    codes = [t.code for t in turn.settings.ticket_types]
    if not consented(turn):
        codes = [c for c in codes if c in NO_CONSENT_TYPES]
    types = [turn.settings.ticket_type(c) for c in codes]
    turn.say("citizen/ask_type", types=types, consented=consented(turn),
             has_description=bool(turn.draft.description),
             choices=[Choice(t.code, t.name) for t in types] + [Choice("cancel", turn.texts.label("cancel"))],
             columns=2)


def choose_type(turn: Turn, value: str) -> None:
    draft = turn.draft
    draft.type = value
    if value == TicketType.KHIEU_NAI and draft.contact_mode == "anonymous":
        draft.contact_mode = ""
    turn.save_draft(draft)
    advance(turn, "type")


flow.step("type", Step(prompt=prompt_type, on_choice=choose_type))


# --- description ------------------------------------------------------------------------------

def prompt_description(turn: Turn) -> None:
    turn.say("citizen/ask_description", type_name=turn.settings.ticket_type(turn.draft.type).name,
             choices=[Choice("cancel", turn.texts.label("cancel"))])


def take_description(turn: Turn, text: str) -> None:
    limits = turn.settings.intake
    clean, trimmed = normalize_text(text, max_chars=limits.max_text_chars)
    if not is_meaningful(clean):
        turn.say("citizen/empty_input")
        turn.goto("description")
        return
    draft = turn.draft
    combined = f"{draft.description}\n{clean}".strip() if turn.data.get("description_pending") else clean
    if len(combined) < limits.min_description_chars or len(combined.split()) < limits.min_description_words:
        draft.description = combined
        turn.data["description_pending"] = True
        turn.save_draft(draft)
        turn.say("citizen/description_too_short", min_words=limits.min_description_words)
        return
    turn.data.pop("description_pending", None)
    draft.description = combined
    turn.save_draft(draft)
    if trimmed:
        turn.say("citizen/description_trimmed", max_chars=limits.max_text_chars)
    advance(turn, "description")


def take_description_media(turn: Turn) -> None:
    draft = turn.draft
    add_attachments(turn, draft)
    turn.save_draft(draft)
    caption = turn.inbound.text
    if caption and is_meaningful(caption):
        take_description(turn, caption)
        return
    turn.say("citizen/need_text_for_media", count=len(draft.attachments))


def take_description_location(turn: Turn) -> None:
    draft = turn.draft
    loc = turn.inbound.location
    assert loc is not None
    draft.location = [loc.latitude, loc.longitude]
    turn.save_draft(draft)
    turn.say("citizen/location_received_need_text")


flow.step("description", Step(prompt=prompt_description, on_text=take_description,
                              on_media=take_description_media, on_location=take_description_location))


# --- category ---------------------------------------------------------------------------------

def prompt_category(turn: Turn) -> None:
    draft = turn.draft
    if not draft.suggestions:
        result = turn.services.classifier.classify(draft.description)
        codes = [code for code, _ in result.candidates if code != "khac"][:3] or ["khac"]
        draft.suggestions = codes
        turn.save_draft(draft)
    names = [turn.settings.category(c).name for c in draft.suggestions]
    choices = [Choice(c, n) for c, n in zip(draft.suggestions, names)]
    choices.append(Choice("more", turn.texts.label("category_more")))
    turn.say("citizen/ask_category", choices=choices)


def choose_category(turn: Turn, value: str) -> None:
    if value == "more":
        turn.goto("category_all")
        return
    set_category(turn, value)


def set_category(turn: Turn, code: str) -> None:
    draft = turn.draft
    draft.category = code
    turn.save_draft(draft)
    advance(turn, "category")


def type_category(turn: Turn, text: str) -> None:
    """A typed category name is matched accent-insensitively against the list."""
    code = match_name(text, {c.code: c.name for c in turn.settings.categories})
    if code:
        set_category(turn, code)
    else:
        turn.say("citizen/not_understood_choice")
        turn.goto(turn.step)


def prompt_category_all(turn: Turn) -> None:
    choices = [Choice(c.code, c.name) for c in turn.settings.categories]
    turn.say("citizen/ask_category_all", choices=choices, columns=2)


flow.step("category", Step(prompt=prompt_category, on_choice=choose_category, on_text=type_category))
flow.step("category_all", Step(prompt=prompt_category_all, on_choice=set_category, on_text=type_category))


def match_name(text: str, names: dict[str, str], *, cutoff: int = 80) -> str | None:
    """The key whose name best matches `text`, accent- and case-insensitive, or None."""
    query = fold(text)
    if not query:
        return None
    folded = {key: fold(name) for key, name in names.items()}
    for key, name in folded.items():
        if query == name:
            return key
    best = process.extractOne(query, folded, scorer=fuzz.WRatio, score_cutoff=cutoff)
    return best[2] if best else None


# --- hamlet -----------------------------------------------------------------------------------

def prompt_hamlet(turn: Turn) -> None:
    hamlets = turn.settings.hamlets
    choices = [Choice(f"h{i}", name) for i, name in enumerate(hamlets)]
    choices.append(Choice("unknown", turn.texts.label("hamlet_unknown")))
    turn.say("citizen/ask_hamlet", choices=choices, columns=2)


def choose_hamlet(turn: Turn, value: str) -> None:
    draft = turn.draft
    if value == "unknown":
        draft.hamlet = ""
    else:
        index = int(value[1:])
        draft.hamlet = turn.settings.hamlets[index]
    turn.save_draft(draft)
    advance(turn, "hamlet")


def type_hamlet(turn: Turn, text: str) -> None:
    names = {f"h{i}": _hamlet_core(name) for i, name in enumerate(turn.settings.hamlets)}
    key = match_name(_hamlet_core(text), names, cutoff=75)
    if key:
        choose_hamlet(turn, key)
    else:
        turn.say("citizen/hamlet_not_found", text=text[:60])
        turn.goto("hamlet")


def _hamlet_core(name: str) -> str:
    """'Thôn Mẫu 1 (mẫu)' → 'mau 1': drop the word thôn/bản/xóm and bracketed notes."""
    core = re.sub(r"\(.*?\)", " ", fold(name))
    core = re.sub(r"^\s*(thon|ban|xom|lang|to)\s+", "", core)
    return " ".join(core.split())


flow.step("hamlet", Step(prompt=prompt_hamlet, on_choice=choose_hamlet, on_text=type_hamlet))



extras.register(flow)


# --- co-signers (đơn đông người) ---------------------------------------------------------------

def prompt_cosigners(turn: Turn) -> None:
    turn.say("citizen/ask_cosigners", choices=[Choice("one", turn.texts.label("cosigners_one")),
                                               Choice("many", turn.texts.label("cosigners_many"))])


def choose_cosigners(turn: Turn, value: str) -> None:
    if value == "many":
        turn.goto("cosigners_count")
        return
    draft = turn.draft
    draft.cosigners = 1
    turn.save_draft(draft)
    advance(turn, "cosigners")


def prompt_cosigners_count(turn: Turn) -> None:
    turn.say("citizen/ask_cosigners_count")


def take_cosigners_count(turn: Turn, text: str) -> None:
    digits = re.findall(r"\d+", text)
    count = int(digits[0]) if digits else 0
    if not 2 <= count <= 10000:
        turn.say("citizen/cosigners_invalid")
        return
    draft = turn.draft
    draft.cosigners = count
    turn.save_draft(draft)
    advance(turn, "cosigners")


flow.step("cosigners", Step(prompt=prompt_cosigners, on_choice=choose_cosigners))
flow.step("cosigners_count", Step(prompt=prompt_cosigners_count, on_text=take_cosigners_count))


contact.register(flow)
sender_address.register(flow)


# --- summary and submission -------------------------------------------------------------------

EDITABLE = ("type", "description", "category", "hamlet", "extras", "contact")


def prompt_summary(turn: Turn) -> None:
    draft = turn.draft
    settings = turn.settings
    choices = [Choice("submit", turn.texts.label("submit"))]
    for field_name in EDITABLE:
        if field_name == "contact" and not consented(turn):
            continue
        choices.append(Choice(f"edit_{field_name}", turn.texts.label(f"edit_{field_name}")))
    choices.append(Choice("cancel", turn.texts.label("cancel")))
    turn.say("citizen/summary", draft=draft, type_name=settings.ticket_type(draft.type).name,
             category_name=settings.category(draft.category or "khac").name,
             description=shorten(draft.description, 600), consented=consented(turn), choices=choices,
             columns=2, remove_keyboard=True)


def choose_summary(turn: Turn, value: str) -> None:
    if value == "submit":
        submit(turn)
    elif value.startswith("edit_") and value[5:] in EDITABLE:
        field_name = value[5:]
        turn.data["editing"] = True
        if field_name == "description":
            draft = turn.draft
            draft.description, draft.suggestions = "", []
            turn.save_draft(draft)
        if field_name == "category":
            turn.goto("category")
        else:
            turn.goto(field_name)


def submit(turn: Turn) -> None:
    """Create the ticket, tell the citizen its code and PIN, and send the office its card."""
    draft = turn.draft
    if draft.type == TicketType.KHIEU_NAI and draft.contact_mode == "anonymous":
        turn.goto("complaint_anonymous")
        return
    if sender_address.missing(turn):
        turn.goto(sender_address.STEP)
        return
    day_ago = (turn.now - timedelta(days=1)).timestamp()
    recent = [t for t in turn.data.get("submitted_at", []) if t > day_ago]
    if len(recent) >= turn.settings.intake.max_tickets_per_day:
        turn.say("citizen/too_many_tickets", limit=turn.settings.intake.max_tickets_per_day)
        turn.goto("menu")                      # the draft is kept: it can be sent tomorrow
        return
    address = turn.inbound.client_address       # the web: petitions per address, whatever the cookie
    if address and not DoorThrottle(turn.settings.doors).take(turn.session, "petition", address, now=turn.now):
        turn.say("citizen/too_many_tickets_address")
        turn.goto("menu")                      # the draft is kept
        return
    turn.data["submitted_at"] = recent + [turn.now.timestamp()]
    created = create_ticket(turn.session, settings=turn.settings, calendar=turn.services.calendar, draft=draft,
                            channel=str(turn.inbound.channel),
                            citizen_id=turn.citizen.id if consented(turn) else None, now=turn.now)
    ticket = created.ticket
    office = turn.session.get(Office, ticket.office_code)
    office_name = office.name if office else ticket.office_code
    type_spec = turn.settings.ticket_type(ticket.type)
    turn.data.pop("draft", None)
    turn.say("citizen/submitted", code=ticket.code, pin=created.pin, office_name=office_name,
             answer_due=ticket.answer_due, resolve_due=ticket.resolve_due, accept_due=ticket.accept_due,
             type_name=type_spec.name, ticket_type=ticket.type, anonymous=ticket.anonymous,
             consented=consented(turn))
    card = post_office_card(turn, ticket)     # the actionable card, edited in place after each action
    if card is not None:
        turn.notify(card)
    turn.tickets_created.append(ticket.code)
    turn.goto("menu")


flow.step("summary", Step(prompt=prompt_summary, on_choice=choose_summary))
