"""Typed ticket commands that carry the code, for chats without buttons (a Zalo OA group) and
usable in every chat: `/tiepnhan XG-2026-000123`, `/traloi XG-… nội dung`, `/chuyen XG-… KT lý do`…

Words are matched without diacritics, so `/tiếpnhận` and `/tiep_nhan` work like `/tiepnhan`.
Each command goes through bot.core.policy.can (the same decision as a button press) and then
through bot.officials.actions' completion, so the effects, audit events and citizen notices are
exactly those of the buttons. Anyone who may not act gets a polite refusal and an audit row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from bot.officials import actions as ticket_actions
from bot.officials.commands import CODE_RE, parse_code
from bot.officials.turn import OfficeTurn
from bot.core.policy import can
from bot.language.normalize import fold
from bot.tickets.citizen_notices import recipients
from bot.tickets.records import record_refusal
from storage.models import Office, Official, Ticket
from storage.officials import card_by_message, lock_ticket
from storage.tickets import find_ticket

# command word (folded, no spaces or underscores) -> action of bot.officials.actions
COMMANDS: Mapping[str, str] = MappingProxyType({
    "tiepnhan": "accept", "thuly": "accept",
    "chuyen": "transfer", "chuyendonvi": "transfer",
    "bosung": "request_info", "yeucaubosung": "request_info",
    "traloi": "progress", "tiendo": "progress",
    "ketqua": "resolve",
    "giahan": "extend",
    "tuchoi": "refuse", "khongthuocthamquyen": "refuse",
    "ghichu": "note",
})
USAGE: Mapping[str, str] = MappingProxyType({
    "accept": "tiepnhan", "transfer": "chuyen", "request_info": "bosung", "progress": "traloi",
    "resolve": "ketqua", "extend": "giahan", "refuse": "tuchoi", "note": "ghichu"})


def _key(word: str) -> str:
    return fold(word).replace("_", "").replace("-", "").replace(" ", "")


def parse(text: str) -> tuple[str, str] | None:
    """(action, the rest of the text) for a typed ticket command, else None.

    A two-word spelling ("/trả lời XG-…") is accepted too."""
    if not (text or "").startswith("/"):
        return None
    words = text[1:].split(None, 2)
    if not words:
        return None
    first = words[0].split("@", 1)[0]
    if _key(first) in COMMANDS:
        return COMMANDS[_key(first)], text[1:].split(None, 1)[1] if len(words) > 1 else ""
    if len(words) > 1 and _key(first + words[1]) in COMMANDS:
        return COMMANDS[_key(first + words[1])], words[2] if len(words) > 2 else ""
    return None


def is_group_command(text: str) -> bool:
    return parse(text) is not None


def handle(turn: OfficeTurn) -> bool:
    """Run a typed ticket command; False when the event is not one (the caller handles it)."""
    if turn.inbound.payload is not None:
        return False
    if not turn.chat.is_private and _key((turn.inbound.text or "")[1:].split(" ", 1)[0].split("@", 1)[0]) == "dangky" \
            and (turn.inbound.text or "").startswith("/"):
        turn.say("office/register_in_private")     # never a registration code in a group; say where instead
        return True
    parsed = parse(turn.inbound.text)
    if parsed is None:
        return False
    action, rest = parsed
    turn.data.pop("pending", None)          # a new command supersedes any open prompt
    code = parse_code(rest) or _quoted_code(turn)
    if code is None:
        turn.say("office/group_usage", command=USAGE[action], action=action)
        return True
    text = CODE_RE.sub("", rest, count=1).strip()
    found = find_ticket(turn.session, code)
    ticket = lock_ticket(turn.session, found.id) if found is not None else None
    if action == "transfer":
        target, _, text = text.partition(" ")
        action = f"transfer_to:{target.strip().upper()}"
    decision = can(turn.official, ticket_actions.policy_action(action), ticket, turn.chat)
    if not decision:
        record_refusal(turn.session, actor=turn.actor, action=action, reason=decision.reason, now=turn.now,
                       ticket_id=ticket.id if ticket else None, where=f"chat={turn.chat.key} via=command")
        turn.say("office/group_denied", code=code, not_official=turn.official is None,
                 reason=decision.reason, found=ticket is not None)
        return True
    assert ticket is not None
    base = ticket_actions.policy_action(action)
    if str(ticket.status) not in ticket_actions.STATES_FOR.get(base, set()):
        assignee = _assignee(turn, ticket)
        turn.say("office/already_done", code=ticket.code, action=base, assignee=assignee,
                 status_name=turn.texts.label(f"status_{ticket.status}"))
        return True
    if base == "accept":
        ticket_actions.accept(turn, ticket)
        if not turn.chat.is_private:
            turn.say("office/group_accepted", code=ticket.code, resolve_due=ticket.resolve_due,
                     who=turn.official.display_name if turn.official else "")
        return True
    if base == "transfer":
        target = action.split(":", 1)[1]
        if not target or target == ticket.office_code or turn.session.get(Office, target) is None:
            turn.say("office/group_usage", command=USAGE["transfer"], action="transfer",
                     codes=[o.code for o in turn.settings.offices if o.code != ticket.office_code])
            return True
    if base == "request_info" and not recipients(turn.session, ticket):
        turn.say("office/no_contact", code=ticket.code)
        return True
    if not text:
        turn.say("office/group_usage", command=USAGE[base], action=base)
        return True
    turn.inbound = replace(turn.inbound, text=text)
    ticket_actions.complete(turn, {"action": action, "ticket_id": ticket.id, "chat_key": turn.chat.key,
                                   "at": _iso(turn.now), "attachments": []})
    return True


def _quoted_code(turn: OfficeTurn) -> str | None:
    """The code of the card a group message quotes (Zalo: "reply" to the card's latest message)."""
    if not turn.inbound.reply_to_bot:
        return None
    card = card_by_message(turn.session, channel=turn.chat.channel, chat_id=turn.chat.chat_id,
                           message_ref=turn.inbound.message_ref)
    ticket = turn.session.get(Ticket, card.ticket_id) if card is not None else None
    return ticket.code if ticket is not None else None


def _assignee(turn: OfficeTurn, ticket: Ticket) -> str:
    official = turn.session.get(Official, ticket.assignee_id) if ticket.assignee_id else None
    return official.display_name if official else ""


def _iso(now: datetime) -> str:
    return now.isoformat()
