"""/nhapdon: an official records a petition that came on paper, by phone, at a reception session
or through the suggestion box: source → date received → type → content → category → hamlet →
contact → sender's address → confirm. The address is required for khiếu nại and tố cáo (name and
address by law, as in the citizen's own intake, bot/intake/address.py) and may be skipped for the
others. The received date drives the deadlines; the citizen gets a printable receipt
(code + PIN) and may follow the ticket later with /theodoi CODE PIN."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.tickets import cards
from bot.core.domain import COMPLAINT_TYPES, Button, TicketType
from bot.language.contacts import parse_contact
from bot.officials.turn import OfficeTurn
from bot.language.normalize import is_meaningful, normalize_text
from bot.tickets.records import Draft, create_ticket, local_date, record_event

SOURCES = ("direct", "letter", "phone", "box", "forwarded")
DATE_RE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2,4}))?\s*$")
PAYLOAD = "p:"
MAX_AGE = timedelta(days=366)
ADDRESS_MIN_CHARS, ADDRESS_MAX_CHARS = 6, 200     # as the citizen's own address step


def _buttons(turn: OfficeTurn, pairs: list[tuple[str, str]], columns: int = 1) -> tuple[tuple[Button, ...], ...]:
    flat = [Button(label, PAYLOAD + value) for value, label in pairs]
    return tuple(tuple(flat[i:i + columns]) for i in range(0, len(flat), columns))


def start(turn: OfficeTurn) -> None:
    """Begin a new paper petition."""
    turn.data["paper"] = {"step": "source", "draft": Draft(contact_mode="anonymous").to_json()}
    turn.data.pop("pending", None)
    prompt(turn)


def prompt(turn: OfficeTurn) -> None:
    """Ask for what the current step needs (buttons are also answerable by their number)."""
    state = turn.data["paper"]
    step, draft = state["step"], Draft.from_json(state.get("draft"))
    labels = turn.texts
    if step == "source":
        turn.say("office/paper_source", buttons=_buttons(turn, [(s, labels.label(f"source_{s}")) for s in SOURCES]))
    elif step == "date":
        turn.say("office/paper_date", buttons=_buttons(turn, [("today", labels.label("paper_today"))]))
    elif step == "type":
        turn.say("office/paper_type", buttons=_buttons(turn, [(t.code, t.name) for t in turn.settings.ticket_types],
                                                       columns=2))
    elif step == "description":
        turn.say("office/paper_description")
    elif step == "category":
        guess = turn.services.classifier.classify(draft.description).category
        pairs = [(guess, "✅ " + turn.settings.category(guess).name)]
        pairs += [(c.code, c.name) for c in turn.settings.categories if c.code != guess]
        turn.say("office/paper_category", buttons=_buttons(turn, pairs, columns=2))
    elif step == "hamlet":
        pairs = [(str(i), name) for i, name in enumerate(turn.settings.hamlets)] + [("none", labels.label("hamlet_unknown"))]
        turn.say("office/paper_hamlet", buttons=_buttons(turn, pairs, columns=2))
    elif step == "contact":
        pairs = [] if draft.type == TicketType.KHIEU_NAI else [("anonymous", labels.label("contact_anonymous"))]
        turn.say("office/paper_contact", buttons=_buttons(turn, pairs))
    elif step == "address":
        required = draft.type in COMPLAINT_TYPES
        pairs = [] if required else [("skip", labels.label("address_skip"))]
        turn.say("office/paper_address", required=required, type_name=turn.settings.ticket_type(draft.type).name,
                 buttons=_buttons(turn, pairs))
    elif step == "confirm":
        turn.say("office/paper_summary", draft=draft, type_name=turn.settings.ticket_type(draft.type).name,
                 category_name=turn.settings.category(draft.category or "khac").name,
                 source_name=labels.label(f"source_{state['source']}"),
                 received=date.fromisoformat(state["received"]),
                 buttons=_buttons(turn, [("submit", labels.label("submit")), ("cancel", labels.label("cancel"))]))


def handle(turn: OfficeTurn) -> None:
    """One answer of the official inside /nhapdon (button, its number, or typed text)."""
    state = turn.data["paper"]
    raw = turn.inbound.payload if turn.inbound.payload is not None else (turn.inbound.text or "").strip()
    value = raw[len(PAYLOAD):] if raw.startswith(PAYLOAD) else None
    if value is None and raw.isdigit() and turn.data.get("buttons"):
        index = int(raw) - 1
        if 0 <= index < len(turn.data["buttons"]) and turn.data["buttons"][index].startswith(PAYLOAD):
            value = turn.data["buttons"][index][len(PAYLOAD):]
    text = normalize_text(turn.inbound.text or "", max_chars=turn.settings.intake.max_text_chars)[0]
    draft = Draft.from_json(state.get("draft"))
    step = state["step"]
    if value == "cancel":
        turn.data.pop("paper", None)
        turn.say("office/cancelled")
        return
    nxt = step
    if step == "source" and value in SOURCES:
        state["source"], nxt = value, "date"
    elif step == "date":
        received = parse_date(turn, "today" if value == "today" else text)
        if received is None:
            turn.say("office/paper_date_invalid")
        else:
            state["received"], nxt = received.isoformat(), "type"
    elif step == "type" and value in {t.code for t in turn.settings.ticket_types}:
        draft.type, nxt = value, "description"
        if value == TicketType.KHIEU_NAI:
            draft.contact_mode = ""
    elif step == "description" and text and value is None:
        limits = turn.settings.intake
        if not is_meaningful(text) or len(text.split()) < limits.min_description_words:
            turn.say("office/paper_description_short", min_words=limits.min_description_words)
        else:
            draft.description, nxt = text, "category"
    elif step == "category" and value in {c.code for c in turn.settings.categories}:
        draft.category, nxt = value, "hamlet"
    elif step == "hamlet" and value is not None:
        draft.hamlet = turn.settings.hamlets[int(value)] if value.isdigit() and int(value) < len(turn.settings.hamlets) else ""
        nxt = "contact"
    elif step == "contact":
        if value == "anonymous" and draft.type != TicketType.KHIEU_NAI:
            draft.contact_mode, draft.contact_name, draft.contact_phone, nxt = "anonymous", "", "", "confirm"
        else:
            contact = parse_contact(text)
            if contact is not None and is_meaningful(contact.name):
                draft.contact_mode, draft.contact_name, draft.contact_phone, nxt = \
                    "manual", contact.name, contact.phone, "address"
            else:
                turn.say("office/paper_contact_invalid")
    elif step == "address":
        if value == "skip" and draft.type not in COMPLAINT_TYPES:
            draft.contact_address, nxt = "", "confirm"
        elif value is None and len(text) >= ADDRESS_MIN_CHARS and is_meaningful(text):
            draft.contact_address, nxt = text[:ADDRESS_MAX_CHARS], "confirm"
        else:
            turn.say("office/paper_address_invalid", required=draft.type in COMPLAINT_TYPES)
    elif step == "confirm" and value == "submit":
        submit(turn, state, draft)
        return
    else:
        turn.say("office/paper_not_understood")
    state["draft"], state["step"] = draft.to_json(), nxt
    turn.data["paper"] = state
    prompt(turn)


def parse_date(turn: OfficeTurn, text: str) -> date | None:
    """dd/mm/yyyy (or dd/mm this year), not in the future, not older than a year."""
    today = local_date(turn.settings, turn.now)
    if text.strip().lower() in turn.texts.label("today_words").split("|"):
        return today
    match = DATE_RE.match(text or "")
    if not match:
        return None
    year = int(match.group(3)) if match.group(3) else today.year
    year = year + 2000 if year < 100 else year
    try:
        value = date(year, int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None
    return value if today - MAX_AGE <= value <= today else None


def submit(turn: OfficeTurn, state: dict, draft: Draft) -> None:
    """Create the ticket with its source and received date; hand the official the receipt."""
    received = date.fromisoformat(state["received"])
    created = create_ticket(turn.session, settings=turn.settings, calendar=turn.services.calendar, draft=draft,
                            channel="paper", citizen_id=None, now=turn.now, source=state["source"],
                            received=received)
    ticket = created.ticket
    record_event(turn.session, ticket, actor=turn.actor, action="recorded", now=turn.now,
                 note=f"source={state['source']}")
    turn.data.pop("paper", None)
    turn.data.pop("buttons", None)
    office = turn.settings.office(ticket.office_code)
    turn.say("office/paper_receipt", code=ticket.code, pin=created.pin, office_name=office.name,
             type_name=turn.settings.ticket_type(ticket.type).name, received=ticket.received_date,
             answer_due=ticket.answer_due, accept_due=ticket.accept_due, resolve_due=ticket.resolve_due,
             commune=turn.settings.commune)
    card = cards.post_office_card(turn, ticket)
    if card is not None:
        turn.notify(card)
    turn.tickets_created.append(ticket.code)
