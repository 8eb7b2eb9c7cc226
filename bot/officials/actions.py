"""What officials do to a ticket: accept, transfer, request information, answer, resolve, extend,
refuse, note. Every press is re-checked by bot.core.policy.can against the person, their office and the
chat; every change is an audited TicketEvent; the citizen hears through the outbox.

Actions that need a text (reason, answer, question, note) leave a pending prompt in the
official's conversation row; their next message in that chat completes it."""

from __future__ import annotations

from types import MappingProxyType

from datetime import datetime, timedelta
from typing import Any

from bot.tickets.context import TicketScope
from bot.tickets import tokens as action_tokens
from bot.tickets import cards
from bot.intake import surveys
from bot.conversation.engine import load_data, store_data
from bot.tickets.citizen_notices import notify_citizen, recipients
from bot.core.deadlines import add_period, compute_deadlines
from bot.core.domain import Attachment, Button, TicketStatus as S
from bot.core.lifecycle import TRANSITIONS
from bot.officials import mediation
from bot.officials.corrections import correct_on_transfer
from bot.officials.turn import OfficeTurn
from bot.core.policy import can
from bot.core.render import labels
from bot.language.normalize import is_meaningful, normalize_text
from bot.tickets.office_posts import after_change
from bot.tickets.records import change_status, local_date, record_event, record_refusal
from storage.conversations import load_conversation
from storage.models import Office, Official, Ticket, TicketAttachment
from storage.officials import lock_ticket

DENIED = labels()["callback_denied"]
TEXT_ACTIONS = ("transfer_to", "request_info", "progress", "resolve", "extend", "refuse", "refer", "mediate", "note")
PENDING_TTL = timedelta(hours=2)
GROUP_FREE_TEXT_TTL = timedelta(minutes=10)   # in a group, later answers must be replies to the prompt
ACCEPTABLE = frozenset({S.RECEIVED, S.TRANSFERRED, S.REOPENED})
STATES_FOR: dict[str, set[str]] = MappingProxyType({
    "accept": set(ACCEPTABLE),
    "transfer": {S.RECEIVED, S.TRANSFERRED, S.REOPENED, S.ACCEPTED, S.IN_PROGRESS},
    "request_info": {S.RECEIVED, S.TRANSFERRED, S.REOPENED, S.ACCEPTED, S.IN_PROGRESS},
    "progress": {S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN, S.REOPENED},
    "resolve": {S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN},
    "extend": {S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN},
    "refuse": {S.RECEIVED, S.TRANSFERRED, S.REOPENED, S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN},
    "refer": {S.RECEIVED, S.TRANSFERRED, S.REOPENED, S.ACCEPTED, S.IN_PROGRESS, S.WAITING_CITIZEN},
    "mediate": {str(s) for s in mediation.MEDIATION_FROM},
    "note": {str(s) for s in S},
})


def policy_action(action: str) -> str:
    """'transfer_to:KT' is checked as 'transfer'."""
    base = action.split(":", 1)[0]
    return "transfer" if base == "transfer_to" else base


def deny(turn: OfficeTurn, ticket: Ticket | None, action: str, reason: str) -> None:
    """Refuse, say so, and keep an audit event of the attempt."""
    record_refusal(turn.session, actor=turn.actor, action=action, reason=reason, now=turn.now,
                   ticket_id=ticket.id if ticket else None, where=f"chat={turn.chat.key}")
    turn.callback_text = DENIED
    if turn.chat.is_private:
        turn.say("office/denied")


def press(turn: OfficeTurn, payload: str) -> None:
    """A button press: resolve the opaque token, re-check everything, then act."""
    # A new press supersedes any prompt still open in this chat: a later text must never complete an
    # older action on another ticket (e.g. after "no contact" or a refusal left no new prompt).
    turn.data.pop("pending", None)
    token = action_tokens.lookup(turn.session, payload)
    if token is None:
        deny(turn, None, "?", "unknown_token")
        return
    ticket = lock_ticket(turn.session, token.ticket_id)
    if token.chat_key != turn.chat.key:
        deny(turn, ticket, token.action, "token_other_chat")
        return
    run(turn, ticket, token.action)


def run(turn: OfficeTurn, ticket: Ticket | None, action: str) -> None:
    """Check the policy and the ticket's state, then start the action (commands and buttons alike)."""
    base = policy_action(action)
    decision = can(turn.official, base, ticket, turn.chat)
    if not decision:
        deny(turn, ticket, action, decision.reason)
        return
    assert ticket is not None
    if base in STATES_FOR and str(ticket.status) not in STATES_FOR[base]:
        wrong_state(turn, ticket, base)
        return
    if base == "accept":
        accept(turn, ticket)
    elif action == "transfer":
        offer_offices(turn, ticket)
    elif action.startswith("transfer_to:"):
        target = action.split(":", 1)[1]
        if target == ticket.office_code or turn.session.get(Office, target) is None:
            wrong_state(turn, ticket, base)
            return
        ask_text(turn, ticket, action)
    elif base in TEXT_ACTIONS:
        if base == "request_info" and not recipients(turn.session, ticket):
            turn.callback_text = turn.texts.render("office/no_contact_short")
            turn.say("office/no_contact", code=ticket.code)
            return
        if base == "mediate" and mediation.refuse_mediation(turn, ticket):
            return
        if base == "extend" and extension_target(turn, ticket) is None:
            turn.callback_text = turn.texts.render("office/extend_max_short")
            turn.say("office/extend_max", code=ticket.code, resolve_due=ticket.resolve_due)
            return
        ask_text(turn, ticket, action)
    else:
        deny(turn, ticket, action, "unknown_action")


def wrong_state(turn: OfficeTurn, ticket: Ticket, action: str) -> None:
    """The button is older than the ticket's state (someone acted first): tell who and what
    (a toast on the button; a message only in private chat, so a race does not flood the group)."""
    assignee = turn.session.get(Official, ticket.assignee_id) if ticket.assignee_id else None
    context = {"code": ticket.code, "action": action, "status_name": turn.texts.label(f"status_{ticket.status}"),
               "assignee": assignee.display_name if assignee else ""}
    turn.callback_text = turn.texts.render("office/already_done", **context)
    if turn.chat.is_private:
        turn.say("office/already_done", **context)


# --- accept -----------------------------------------------------------------------------------

def accept(turn: OfficeTurn, ticket: Ticket) -> None:
    """Thụ lý: the presser becomes the assignee; for khiếu nại / tố cáo the resolution clock starts now."""
    official = turn.official
    assert official is not None
    first_time = ticket.accepted_at is None
    change_status(turn.session, ticket, S.ACCEPTED, actor=turn.actor, action="accepted", now=turn.now,
                  note=f"assignee={official.id}")
    ticket.assignee_id = official.id
    if first_time:
        ticket.accepted_at = turn.now
        rules = turn.settings.ticket_type(ticket.type).type_rules(turn.settings.deadlines.rule_set)
        if rules.resolve_from == "acceptance":
            accepted = max(local_date(turn.settings, turn.now), ticket.received_date)
            due = compute_deadlines(rules, received=ticket.received_date, accepted=accepted,
                                    calendar=turn.services.calendar)
            ticket.resolve_due = due.resolve_due
    turn.session.flush()
    turn.callback_text = turn.texts.render("office/accepted_short", code=ticket.code)
    notify_citizen(turn, ticket, "citizen/notice_accepted", office_name=office_name(turn, ticket),
                   resolve_due=ticket.resolve_due, first_time=first_time)
    after_change(turn, ticket)
    if turn.chat.is_private:
        turn.say("office/accepted", code=ticket.code, resolve_due=ticket.resolve_due)


# --- transfer ---------------------------------------------------------------------------------

def offer_offices(turn: OfficeTurn, ticket: Ticket) -> None:
    """Show the other offices as buttons (each an opaque token for this chat)."""
    rows = []
    for office in turn.settings.offices:
        if office.code == ticket.office_code:
            continue
        payload = action_tokens.payload_for(turn.session, ticket_id=ticket.id, action=f"transfer_to:{office.code}",
                                            chat_key=turn.chat.key, now=turn.now)
        rows.append((Button(office.name, payload),))
    turn.say("office/choose_office", code=ticket.code, buttons=tuple(rows))


# --- prompts and their answers ----------------------------------------------------------------

def ask_text(turn: OfficeTurn, ticket: Ticket, action: str) -> None:
    """Ask the official to type the text this action needs (ForceReply), remembered per official."""
    base = policy_action(action)
    target = action.split(":", 1)[1] if ":" in action else ""
    turn.data["pending"] = {"action": action, "ticket_id": ticket.id, "chat_key": turn.chat.key,
                            "at": turn.now.isoformat(), "attachments": []}
    target_name = turn.settings.office(target).name if target else ""
    turn.say(f"office/prompt_{base}", code=ticket.code, target=target_name, hamlet=ticket.hamlet, force_reply=True,
             **mention(turn))


def mention(turn: OfficeTurn) -> dict[str, str]:
    """In a Telegram group the prompt names the official, so ForceReply(selective) targets only them."""
    if turn.chat.is_private or turn.chat.channel != "telegram" or turn.official is None:
        return {"mention_id": "", "who": ""}
    return {"mention_id": turn.official.user_id, "who": turn.official.display_name}


def pending_of(turn: OfficeTurn) -> dict[str, Any] | None:
    """The prompt this official still has to answer in this chat, if it is fresh."""
    pending = turn.data.get("pending")
    if not isinstance(pending, dict) or pending.get("chat_key") != turn.chat.key:
        return None
    try:
        asked = datetime.fromisoformat(pending["at"])
    except (KeyError, ValueError):
        return None
    if turn.now - asked > PENDING_TTL:
        turn.data.pop("pending", None)
        return None
    if not turn.chat.is_private and not turn.inbound.reply_to_bot and turn.now - asked > GROUP_FREE_TEXT_TTL:
        return None                           # ordinary talk in the group, not the answer to the prompt
    return pending


def complete(turn: OfficeTurn, pending: dict[str, Any]) -> None:
    """The official's text (or photos) answering a prompt: re-check, then carry out the action."""
    ticket = lock_ticket(turn.session, int(pending["ticket_id"]))
    action = str(pending["action"])
    base = policy_action(action)
    decision = can(turn.official, base, ticket, turn.chat)
    if not decision:
        turn.data.pop("pending", None)
        deny(turn, ticket, action, decision.reason)
        return
    assert ticket is not None
    if base in STATES_FOR and str(ticket.status) not in STATES_FOR[base]:
        turn.data.pop("pending", None)
        wrong_state(turn, ticket, base)
        return
    inbound = turn.inbound
    for item in inbound.attachments:
        pending.setdefault("attachments", []).append(
            {"kind": item.kind, "ref": item.ref, "mime": item.mime, "size": item.size})
    text, _ = normalize_text(inbound.text or "", max_chars=turn.settings.intake.max_text_chars)
    if not text or not is_meaningful(text):
        turn.data["pending"] = pending
        turn.say("office/need_text", code=ticket.code, photos=len(pending.get("attachments", [])),
                 force_reply=True, **mention(turn))
        return
    turn.data.pop("pending", None)
    for item in pending.get("attachments", []):
        turn.session.add(TicketAttachment(ticket_id=ticket.id, kind=item.get("kind", "photo"),
                                          ref=item.get("ref", ""), mime=item.get("mime", ""),
                                          size=int(item.get("size") or 0), created_at=turn.now))
    photos = len(pending.get("attachments", []))
    turn.files = [Attachment(kind=a.get("kind", "photo"), ref=a.get("ref", "")) for a in
                  pending.get("attachments", [])]
    handler = COMPLETERS[base]
    handler(turn, ticket, text, action=action, photos=photos)


def finish_transfer(turn: OfficeTurn, ticket: Ticket, reason: str, *, action: str, photos: int) -> None:
    """Hand the ticket to another office: its group gets the card, the old card goes quiet."""
    target = action.split(":", 1)[1]
    previous, old_category = ticket.office_code, ticket.category
    # The category follows the office (and the correction is kept to retrain the classifier).
    corrected = correct_on_transfer(turn.session, turn.settings, turn.services.classifier, ticket, office=target,
                                    now=turn.now)
    note = f"from={previous} to={target} reason={reason}"
    if corrected:
        note = f"from={previous} to={target} category={old_category}>{corrected} reason={reason}"
    if str(ticket.status) != S.TRANSFERRED:
        change_status(turn.session, ticket, S.TRANSFERRED, actor=turn.actor, action="transferred", now=turn.now,
                      note=note)
    else:
        record_event(turn.session, ticket, actor=turn.actor, action="transferred", now=turn.now, note=note)
    ticket.office_code = target
    ticket.assignee_id = None
    ticket.updated_at = turn.now
    turn.session.flush()
    notify_citizen(turn, ticket, "citizen/notice_transferred", office_name=office_name(turn, ticket))
    after_change(turn, ticket)
    card = cards.post_office_card(turn, ticket)
    if card is not None:
        turn.notify(card)
    turn.say("office/done_transfer", code=ticket.code, office_name=office_name(turn, ticket))


def finish_request_info(turn: OfficeTurn, ticket: Ticket, question: str, *, action: str, photos: int) -> None:
    """Ask the citizen; their next message is relayed back to the office."""
    came_from = str(ticket.status)
    change_status(turn.session, ticket, S.WAITING_CITIZEN, actor=turn.actor, action="info_requested", now=turn.now,
                  note=question)
    for channel, _chat, user_id in recipients(turn.session, ticket):
        conversation = load_conversation(turn.session, channel=channel, user_id=user_id, chat_id=_chat, now=turn.now)
        data = load_data(conversation)
        data["info_request"] = {"ticket_id": ticket.id, "back_to": came_from, "at": turn.now.isoformat()}
        store_data(conversation, data, turn.now)
    notify_citizen(turn, ticket, "citizen/notice_info_requested", question=question)
    after_change(turn, ticket)
    turn.say("office/done_request_info", code=ticket.code)


def finish_progress(turn: OfficeTurn, ticket: Ticket, text: str, *, action: str, photos: int) -> None:
    """A progress update for the citizen; an accepted ticket becomes 'in progress'."""
    if str(ticket.status) in (S.ACCEPTED, S.REOPENED) and S.IN_PROGRESS in TRANSITIONS[S(ticket.status)]:
        change_status(turn.session, ticket, S.IN_PROGRESS, actor=turn.actor, action="progress", now=turn.now,
                      note=text)
    else:
        record_event(turn.session, ticket, actor=turn.actor, action="progress", now=turn.now, note=text)
    told = notify_citizen(turn, ticket, "citizen/notice_progress", text=text, photos=photos, **files_of(turn))
    after_change(turn, ticket)
    turn.say("office/done_progress", code=ticket.code, told=told)


def finish_resolve(turn: OfficeTurn, ticket: Ticket, text: str, *, action: str, photos: int) -> None:
    """The final answer: resolved, the citizen gets it and the satisfaction question."""
    change_status(turn.session, ticket, S.RESOLVED, actor=turn.actor, action="resolved", now=turn.now, note=text)
    ticket.resolved_at = turn.now
    told = notify_citizen(turn, ticket, "citizen/notice_resolved", text=text, photos=photos, **files_of(turn))
    if told:
        surveys.start_survey(turn, ticket)
    after_change(turn, ticket)
    turn.say("office/done_resolve", code=ticket.code, told=told)


def extension_target(turn: OfficeTurn, ticket: Ticket):
    """The new resolution date one extension gives, or None when the legal maximum is reached."""
    rules = turn.settings.ticket_type(ticket.type).type_rules(turn.settings.deadlines.rule_set)
    calendar = turn.services.calendar
    if rules.resolve_from == "acceptance" and ticket.accepted_at is not None:
        start = max(local_date(turn.settings, ticket.accepted_at), ticket.received_date)
    elif rules.resolve_from == "acceptance":
        start = ticket.accept_due or ticket.received_date
    else:
        start = ticket.received_date
    limit = add_period(start, rules.resolve_max or rules.resolve, calendar=calendar)
    if rules.resolve_max is None:
        limit = add_period(limit, rules.resolve, calendar=calendar)     # no legal cap: one more period at most
    proposed = min(add_period(ticket.resolve_due, rules.resolve, calendar=calendar), limit)
    return proposed if proposed > ticket.resolve_due else None


def finish_extend(turn: OfficeTurn, ticket: Ticket, reason: str, *, action: str, photos: int) -> None:
    """Gia hạn within the legal maximum, with a reason; the citizen is told the new date."""
    target = extension_target(turn, ticket)
    if target is None:
        turn.say("office/extend_max", code=ticket.code, resolve_due=ticket.resolve_due)
        return
    old = ticket.resolve_due
    ticket.resolve_due = target
    ticket.updated_at = turn.now
    record_event(turn.session, ticket, actor=turn.actor, action="extended", now=turn.now,
                 note=f"{old.isoformat()}->{target.isoformat()} reason={reason}")
    notify_citizen(turn, ticket, "citizen/notice_extended", reason=reason, resolve_due=target)
    after_change(turn, ticket)
    turn.say("office/done_extend", code=ticket.code, resolve_due=target)


def finish_refuse(turn: OfficeTurn, ticket: Ticket, guidance: str, *, action: str, photos: int) -> None:
    """Không thuộc thẩm quyền: closed here with guidance on where to go."""
    change_status(turn.session, ticket, S.REFUSED, actor=turn.actor, action="refused", now=turn.now, note=guidance)
    ticket.resolved_at = turn.now
    notify_citizen(turn, ticket, "citizen/notice_refused", guidance=guidance)
    after_change(turn, ticket)
    turn.say("office/done_refuse", code=ticket.code)


def finish_note(turn: OfficeTurn, ticket: Ticket, text: str, *, action: str, photos: int) -> None:
    """Ghi chú nội bộ: kept in the history, shown to the office, never sent to the citizen."""
    record_event(turn.session, ticket, actor=turn.actor, action="note", now=turn.now, note=text)
    who = turn.official.display_name if turn.official else ""
    turn.say("office/note_posted", code=ticket.code, text=text, who=who, photos=photos)


COMPLETERS = MappingProxyType({
    "transfer": finish_transfer, "request_info": finish_request_info, "progress": finish_progress,
    "resolve": finish_resolve, "extend": finish_extend, "refuse": finish_refuse, "note": finish_note,
    "refer": mediation.finish_refer, "mediate": mediation.finish_mediate,
})


# --- shared -----------------------------------------------------------------------------------

def files_of(turn: OfficeTurn) -> dict[str, Any]:
    """The photos the official attached, to relay on their own channel (file ids are per channel)."""
    return {"attachments": tuple(turn.files), "attachments_channel": str(turn.inbound.channel)}


def office_name(ctx: TicketScope, ticket: Ticket) -> str:
    office = ctx.session.get(Office, ticket.office_code)
    return office.name if office else ticket.office_code
