"""The intake's contact steps: a shared phone (checked to be the sender's own), a name typed with it, or
anonymity (refused for khiếu nại, explained for tố cáo); then the sender's address (bot.intake.address).
Registered on the intake flow by `register`."""

from __future__ import annotations

from bot.conversation.engine import Choice, Flow, Step, Turn
from bot.core.domain import ButtonKind, Channel, TicketType
from bot.intake import address as sender_address
from bot.language.contacts import normalize_phone, parse_contact
from bot.language.normalize import is_meaningful, normalize_text


def prompt_contact(turn: Turn) -> None:
    choices = [Choice("manual", turn.texts.label("contact_manual")),
               Choice("anonymous", turn.texts.label("contact_anonymous"))]
    if turn.inbound.channel == Channel.TELEGRAM and turn.inbound.is_private:
        choices.insert(0, Choice("share", turn.texts.label("contact_share"), ButtonKind.REQUEST_CONTACT))
    elif turn.inbound.channel == Channel.ZALO:
        # Last, so the numbers of the other choices stay the same; Zalo shows it as its info-request card.
        choices.append(Choice("share", turn.texts.label("contact_share_zalo"), ButtonKind.REQUEST_CONTACT))
    turn.say("citizen/ask_contact", type_code=turn.draft.type, choices=choices)


def choose_contact(turn: Turn, value: str) -> None:
    draft = turn.draft
    if value == "share":
        turn.say("citizen/contact_how_zalo" if turn.inbound.channel == Channel.ZALO else "citizen/contact_how")
        turn.goto("contact")
    elif value == "manual":
        turn.goto("contact_manual")
    elif draft.type == TicketType.KHIEU_NAI:
        turn.goto("complaint_anonymous")
    elif draft.type == TicketType.TO_CAO:
        turn.goto("anonymous_denunciation")
    else:
        set_contact(turn, mode="anonymous", name="", phone="")


def set_contact(turn: Turn, *, mode: str, name: str, phone: str) -> None:
    draft = turn.draft
    draft.contact_mode, draft.contact_name, draft.contact_phone = mode, name, phone
    if mode == "anonymous":
        draft.contact_address = ""
    turn.save_draft(draft)
    if turn.data.get("editing") and sender_address.next_step(turn) == "summary":
        turn.data.pop("editing", None)
    turn.goto(sender_address.next_step(turn))


def take_shared_contact(turn: Turn) -> None:
    contact = turn.inbound.contact
    assert contact is not None
    if contact.owner_id and contact.owner_id != turn.inbound.user_id or not contact.owner_id:
        turn.say("citizen/contact_not_own", remove_keyboard=True)
        turn.goto("contact")
        return
    phone = normalize_phone(contact.phone)
    if not phone:
        turn.say("citizen/contact_manual_invalid", remove_keyboard=True)
        turn.goto("contact_manual")
        return
    turn.data["pending_phone"] = phone
    turn.data["pending_name"] = normalize_text(contact.name, max_chars=80)[0]
    turn.say("citizen/contact_received", phone=phone, remove_keyboard=True)
    turn.goto("contact_name")


def prompt_contact_name(turn: Turn) -> None:
    name = turn.data.get("pending_name", "")
    choices = [Choice("keep", name)] if name and is_meaningful(name) else []
    turn.say("citizen/ask_contact_name", name=name, choices=choices or None)


def choose_contact_name(turn: Turn, value: str) -> None:
    set_contact(turn, mode="phone", name=turn.data.pop("pending_name", ""), phone=turn.data.pop("pending_phone", ""))


def take_contact_name(turn: Turn, text: str) -> None:
    name, _ = normalize_text(text, max_chars=80)
    if not is_meaningful(name) or any(ch.isdigit() for ch in name):
        turn.say("citizen/contact_name_invalid")
        return
    turn.data.pop("pending_name", None)
    set_contact(turn, mode="phone", name=name, phone=turn.data.pop("pending_phone", ""))


def prompt_contact_manual(turn: Turn) -> None:
    turn.say("citizen/ask_contact_manual", remove_keyboard=True,
             choices=[Choice("back", turn.texts.label("back"))])


def choose_contact_manual(turn: Turn, value: str) -> None:
    turn.goto("contact")


def take_contact_manual(turn: Turn, text: str) -> None:
    clean, _ = normalize_text(text, max_chars=200)
    contact = parse_contact(clean)
    if contact is None or not is_meaningful(contact.name):
        turn.say("citizen/contact_manual_invalid")
        return
    set_contact(turn, mode="manual", name=contact.name, phone=contact.phone)


def prompt_anonymous_denunciation(turn: Turn) -> None:
    turn.say("citizen/anonymous_denunciation_info",
             choices=[Choice("identify", turn.texts.label("anonymous_identify")),
                      Choice("anonymous", turn.texts.label("anonymous_confirm"))])


def choose_anonymous_denunciation(turn: Turn, value: str) -> None:
    if value == "identify":
        turn.goto("contact")
    else:
        set_contact(turn, mode="anonymous", name="", phone="")


def register(flow: Flow) -> None:
    """Add the contact steps to the intake flow."""
    flow.step("contact", Step(prompt=prompt_contact, on_choice=choose_contact, on_contact=take_shared_contact,
                              on_text=take_contact_manual))
    flow.step("contact_name", Step(prompt=prompt_contact_name, on_choice=choose_contact_name, on_text=take_contact_name))
    flow.step("contact_manual", Step(prompt=prompt_contact_manual, on_choice=choose_contact_manual,
                                     on_text=take_contact_manual, on_contact=take_shared_contact))
    flow.step("anonymous_denunciation", Step(prompt=prompt_anonymous_denunciation,
                                             on_choice=choose_anonymous_denunciation))
