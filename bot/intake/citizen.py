"""The citizen's conversation: consent, menu, help, status lookup, commands, and the dispatch of
every inbound event to the current step (intake steps live in bot/intake/flow.py).
"""

from __future__ import annotations

from types import MappingProxyType

import re

from bot.intake import data_rights
from bot.intake import flow as intake
from bot.intake import complaint_choice  # noqa: F401 - registers the complaint_anonymous step
from bot.intake import hamlets  # noqa: F401 - registers the hamlet_confirm step
from bot.intake import subscriptions as notices
from bot.intake import relay
from bot.intake import surveys
from bot.conversation.engine import Choice, Flow, Step, Turn, resolve_choice
from bot.language.normalize import fold, is_meaningful, normalize_text
from bot.core.attempts import AttemptLimiter
from bot.core.codes import contains_code, find_code
from bot.core.pins import check_pin
from bot.intake.lookup import ticket_view
from storage.models import Ticket
from storage.officials import add_follower
from storage.tickets import citizen_owns_ticket, find_ticket, tickets_of_citizen

flow = Flow()
PIN_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
CANCEL_WORDS = frozenset({"huy", "huy bo", "thoi", "dung lai", "thoat", "cancel"})
MENU_WORDS = frozenset({"menu", "bat dau", "trang chinh", "start", "xin chao", "chao", "hello", "hi", "alo"})


# --- consent ----------------------------------------------------------------------------------

def prompt_consent(turn: Turn) -> None:
    turn.say("citizen/welcome", commune=turn.settings.commune,
             choices=[Choice("yes", turn.texts.label("consent_yes")), Choice("no", turn.texts.label("consent_no"))])


def choose_consent(turn: Turn, value: str) -> None:
    citizen = turn.citizen
    citizen.consent = value == "yes"
    citizen.consent_at = turn.now
    citizen.updated_at = turn.now
    turn.data["consent_decided"] = True
    turn.say("citizen/consent_yes" if citizen.consent else "citizen/consent_no")
    pending = turn.data.pop("pending_text", "")
    if pending:
        intake.start_intake(turn, description=pending)
    else:
        turn.goto("menu")


flow.step("consent", Step(prompt=prompt_consent, on_choice=choose_consent))


# --- menu -------------------------------------------------------------------------------------

def menu_choices(turn: Turn) -> list[Choice]:
    return [Choice("submit", turn.texts.label("menu_submit")), Choice("lookup", turn.texts.label("menu_lookup")),
            Choice("help", turn.texts.label("menu_help"))]


def prompt_menu(turn: Turn) -> None:
    turn.say("citizen/menu", choices=menu_choices(turn))


def choose_menu(turn: Turn, value: str) -> None:
    if value == "submit":
        intake.start_intake(turn)
    elif value == "lookup":
        turn.goto("lookup")
    else:
        turn.say("citizen/help", commune=turn.settings.commune)
        turn.goto("menu")


def menu_text(turn: Turn, text: str) -> None:
    """Free text at the menu: a real description starts an intake with it; anything else gets help."""
    clean, _ = normalize_text(text, max_chars=turn.settings.intake.max_text_chars)
    folded = fold(clean)
    if folded in MENU_WORDS:
        turn.say("citizen/greeting_again")
        turn.goto("menu")
        return
    if looks_like_lookup(clean):
        lookup_text(turn, clean)
        return
    limits = turn.settings.intake
    if is_meaningful(clean) and len(clean.split()) >= limits.min_description_words \
            and len(clean) >= limits.min_description_chars:
        # Nothing is filed yet: offer to start a petition with this text, and say so honestly.
        turn.data["offered_text"] = clean
        turn.goto("menu_offer")
        return
    turn.say("citizen/not_understood")
    turn.goto("menu")


flow.step("menu", Step(prompt=prompt_menu, on_choice=choose_menu, on_text=menu_text))


def prompt_menu_offer(turn: Turn) -> None:
    turn.say("citizen/offer_petition", text=intake.shorten(turn.data.get("offered_text", ""), 300),
             choices=[Choice("yes", turn.texts.label("offer_petition_yes")),
                      Choice("no", turn.texts.label("offer_petition_no"))])


def choose_menu_offer(turn: Turn, value: str) -> None:
    text = turn.data.pop("offered_text", "")
    if value == "yes" and text:
        intake.start_intake(turn, description=text)
    else:
        turn.goto("menu")


def menu_offer_text(turn: Turn, text: str) -> None:
    """More words instead of an answer: the newer text is the one offered."""
    turn.data.pop("offered_text", None)
    menu_text(turn, text)


flow.step("menu_offer", Step(prompt=prompt_menu_offer, on_choice=choose_menu_offer, on_text=menu_offer_text))


# --- lookup -----------------------------------------------------------------------------------

def looks_like_lookup(text: str) -> bool:
    """A ticket code (with or without PIN) typed on its own."""
    return contains_code(text) and len(text.split()) <= 4


def prompt_lookup(turn: Turn) -> None:
    own = tickets_of_citizen(turn.session, turn.citizen.id) if turn.citizen.id else []
    turn.say("citizen/lookup_ask", tickets=[status_view(turn, t) for t in own],
             choices=[Choice("menu", turn.texts.label("back_menu"))])


def lookup_text(turn: Turn, text: str) -> None:
    """Find a ticket by code (own tickets) or code + PIN (anyone), with a cap on PIN guesses."""
    found = find_code(text)
    if found is None:
        turn.say("citizen/lookup_format")
        turn.goto("lookup")
        return
    code, rest = found
    pin_match = PIN_RE.search(rest)
    ticket = find_ticket(turn.session, code)
    if ticket is not None and turn.citizen.id and citizen_owns_ticket(turn.session, turn.citizen.id, ticket):
        show_ticket(turn, ticket)
        return
    if pin_match is None:
        turn.say("citizen/lookup_need_pin", code=code)
        turn.goto("lookup")
        return
    verdict = pin_verdict(turn, code, pin_match.group(1), ticket)
    if verdict != "ok":
        turn.goto("menu" if verdict == "locked" else "lookup")
        return
    show_ticket(turn, ticket)


def pin_client(turn: Turn) -> str:
    """Who is guessing: the web client's address, or else the chat."""
    inbound = turn.inbound
    return inbound.client_address or f"{inbound.channel}:{inbound.user_id}"


def pin_verdict(turn: Turn, code: str, pin: str, ticket: Ticket | None, *, holder: bool = False) -> str:
    """ok | locked | wrong: a PIN checked through the one attempt limiter (per code on every channel,
    and per client); anything but ok has been told to the person."""
    limiter = AttemptLimiter.from_settings(turn.settings.doors)
    keys = {"scope": "pin", "subject": code, "client": pin_client(turn), "now": turn.now, "holder": holder}
    if limiter.check(turn.session, **keys).locked:
        turn.say("citizen/lookup_locked")
        return "locked"
    if ticket is None or not check_pin(code, pin, ticket.pin_hash):
        limiter.failed(turn.session, **keys)
        turn.say("citizen/lookup_not_found")
        return "wrong"
    limiter.succeeded(turn.session, **keys)
    return "ok"


def status_view(turn: Turn, ticket: Ticket) -> dict[str, object]:
    """What a citizen may see of a ticket (bot.intake.lookup.ticket_view: the same on every channel)."""
    return ticket_view(turn.session, turn.settings, turn.texts, ticket)


def show_ticket(turn: Turn, ticket: Ticket) -> None:
    turn.say("citizen/lookup_result", t=status_view(turn, ticket))
    turn.goto("menu")


def choose_lookup(turn: Turn, value: str) -> None:
    turn.goto("menu")


flow.step("lookup", Step(prompt=prompt_lookup, on_choice=choose_lookup, on_text=lookup_text))


# --- announcements opt-in (bot/notices.py) -----------------------------------------------------

flow.step("notices_offer", Step(prompt=notices.prompt_notices_offer, on_choice=notices.choose_notices_offer,
                                on_text=menu_text))


# --- dispatch ---------------------------------------------------------------------------------

STEPS = MappingProxyType({**flow.steps, **intake.flow.steps, **data_rights.flow.steps})


def handle_command(turn: Turn, command: str, argument: str) -> bool:
    """Global commands work at any step; returns False for an unknown command."""
    if command in ("start", "batdau", "menu"):
        turn.data.pop("draft", None)
        turn.data.pop("editing", None)
        if not turn.data.get("consent_decided") or not turn.citizen.consent:
            turn.goto("consent")        # undecided, or declined earlier: offer the choice again
        else:
            turn.say("citizen/greeting_again")
            turn.goto("menu")
    elif command == "huy":
        had_draft = "draft" in turn.data
        turn.data.pop("draft", None)
        turn.data.pop("editing", None)
        turn.say("citizen/cancelled" if had_draft else "citizen/nothing_to_cancel")
        turn.goto("menu" if turn.data.get("consent_decided") else "consent")
    elif command == "tracuu":
        if argument:
            lookup_text(turn, argument)
        else:
            turn.goto("lookup")
    elif command in data_rights.COMMANDS:
        data_rights.handle_command(turn, command)
    elif command in ("dangkytin", "huytin"):
        notices.notices_command(turn, subscribe=command == "dangkytin")
        turn.goto(turn.step if turn.step in STEPS else "menu")
    elif command in ("huongdan", "help"):
        turn.say("citizen/help", commune=turn.settings.commune)
        turn.goto(turn.step if turn.step in STEPS else "menu")
    elif command == "theodoi":
        follow_ticket(turn, argument)
        turn.goto(turn.step if turn.step in STEPS and "draft" in turn.data else "menu")
    else:
        return False
    return True


def follow_ticket(turn: Turn, argument: str) -> None:
    """/theodoi CODE PIN: this chat receives the ticket's updates from now on (PIN guesses are capped)."""
    found = find_code(argument)
    pin_match = PIN_RE.search(found[1]) if found else None
    if found is None or pin_match is None:
        turn.say("citizen/follow_format")
        return
    code = found[0]
    ticket = find_ticket(turn.session, code)
    holder = bool(ticket is not None and turn.citizen.id
                  and citizen_owns_ticket(turn.session, turn.citizen.id, ticket))
    if pin_verdict(turn, code, pin_match.group(1), ticket, holder=holder) != "ok":
        return
    add_follower(turn.session, ticket_id=ticket.id, channel=str(turn.inbound.channel), chat_id=turn.inbound.chat_id,
                 user_id=turn.inbound.user_id, now=turn.now)
    turn.say("citizen/follow_ok", t=status_view(turn, ticket))


def handle_turn(turn: Turn) -> None:
    """Route one inbound event to the current step and show the next prompt."""
    inbound = turn.inbound
    text = inbound.text or ""
    step_name = turn.step if turn.step in STEPS else ""
    if text.startswith("/") and inbound.payload is None:
        command, _, argument = text[1:].partition(" ")
        command = command.split("@", 1)[0].lower()
        if not handle_command(turn, command, argument.strip()):
            turn.say("citizen/unknown_command")
            turn.goto(step_name or "menu")
        return finish(turn)
    # Officials' workflow reaching the citizen: survey buttons, the answer to an information request.
    survey_press = inbound.payload if inbound.payload is not None else (
        text if text.startswith("x:") else surveys.number_to_payload(turn))
    if survey_press is not None and surveys.handle_citizen_token(turn, survey_press):
        return finish(turn)
    if relay.take_info_answer(turn) or surveys.take_comment(turn):
        return finish(turn)
    if not step_name or (not turn.data.get("consent_decided") and step_name != "consent"):
        # First contact: whatever they sent, show the notice; keep a real description for later.
        clean = normalize_text(text, max_chars=turn.settings.intake.max_text_chars)[0] if text else ""
        if clean and len(clean.split()) >= turn.settings.intake.min_description_words:
            turn.data["pending_text"] = clean
        turn.goto("consent")
        return finish(turn)
    folded = fold(text) if text and inbound.payload is None else ""
    if folded in CANCEL_WORDS and step_name not in ("consent", "menu"):
        handle_command(turn, "huy", "")
        return finish(turn)
    step = STEPS[step_name]
    kind, value = resolve_choice(turn, text=text if inbound.payload is None else None, payload=inbound.payload)
    if kind == "stale":
        turn.say("citizen/stale_button")
        turn.goto(step_name)
    elif kind == "range":
        turn.say("citizen/choose_number", n=int(value or 0))
        turn.goto(step_name)
    elif kind == "choice" and value == "cancel":
        handle_command(turn, "huy", "")
    elif kind == "choice" and step.on_choice:
        step.on_choice(turn, value)
    elif inbound.contact and step.on_contact:
        step.on_contact(turn)
    elif inbound.location and step.on_location:
        step.on_location(turn)
    elif inbound.attachments and step.on_media:
        step.on_media(turn)
    elif text and step.on_text:
        step.on_text(turn, text)
    elif text and not is_meaningful(text):
        turn.say("citizen/empty_input")
        turn.goto(step_name)
    else:
        turn.say("citizen/not_understood_choice" if step.on_choice else "citizen/not_understood")
        turn.goto(step_name)
    finish(turn)


def finish(turn: Turn) -> None:
    """Enter the next step and show its prompt (a step may chain to another one)."""
    seen = 0
    if turn.next_step == "menu" and notices.should_offer(turn):
        turn.next_step = "notices_offer"
    while turn.next_step is not None and seen < 5:
        step_name, turn.next_step = turn.next_step, None
        turn.conversation.step = step_name
        STEPS[step_name].prompt(turn)
        seen += 1
