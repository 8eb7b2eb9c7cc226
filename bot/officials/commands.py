"""The officials' side of the conversation: registration, office groups, commands (/viec, /donvi,
/xem, /tim, /huongdan, /danhtinh, /nhapdon) and the dispatch of button presses and prompt
answers to bot.officials.actions. Works the same in private chat and in an office's group."""

from __future__ import annotations

from datetime import datetime

from bot.intake.surveys import satisfaction_stats

from bot.officials import announcements
from bot.tickets import cards
from bot.officials import paper_intake
from bot.officials import web_session
from bot.officials import actions as ticket_actions
from bot.tickets.tokens import PREFIX, parse_payload
from bot.core.attempts import AttemptLimiter
from bot.core.codes import CODE_RE, parse_code
from bot.core.domain import TicketStatus, TicketType, is_satisfied
from bot.officials.invites import redeem_invite
from bot.core.lifecycle import OPEN_STATUSES
from bot.officials import mediation
from bot.officials.turn import OfficeTurn
from bot.officials.typed_choice import last_buttons, typed_button
from bot.core.policy import can, visible_to
from bot.language.normalize import fold
from bot.tickets.records import record_event, record_refusal
from storage.events import ticket_history
from storage.models import Official, OfficeGroup, Ticket, TicketEvent
from storage.officials import office_group_of_chat
from storage.due_tickets import overdue_per_office
from storage.reports import counts_by_status_and_type
from storage.surveys import surveys_of_office
from storage.tickets import (find_ticket, newest_tickets, open_tickets_of_assignee, reporter_identity,
                             tickets_by_deadline)

LIST_LIMIT = 30
SEARCH_SCAN = 2000
OFFICE_COMMANDS = frozenset({"thongke", "viec", "donvi", "xem", "tim", "huongdan", "help", "start", "danhtinh", "nhapdon",
                             "huy", "ganphong", "dangky", "dangnhap", "hoagiai"})


def is_office_input(text: str, payload: str | None) -> bool:
    """Whether a revoked official's event belongs here (so it is refused) rather than to the citizen flow."""
    if payload is not None:
        return payload.strip().startswith(PREFIX)     # an office button, well-formed or forged: refused
    if (text or "").startswith(PREFIX):
        return parse_payload(text) is not None
    command = (text or "")[1:].split(" ", 1)[0].split("@", 1)[0].lower() if (text or "").startswith("/") else ""
    return command in OFFICE_COMMANDS - {"start", "help", "huy", "huongdan"}


# --- registration -----------------------------------------------------------------------------

def register(turn: OfficeTurn, argument: str) -> None:
    """/dangky CODE [Họ tên]: bind this account to the invite's office and role (private chat only)."""
    if not turn.chat.is_private:
        return
    code, _, name = argument.strip().partition(" ")
    # one-time codes go through the one attempt limiter too (per code and per account)
    limiter = AttemptLimiter.from_settings(turn.settings.doors)
    keys = {"scope": "invite", "subject": "".join(code.split()).upper(), "now": turn.now,
            "client": f"{turn.inbound.channel}:{turn.inbound.user_id}"}
    if limiter.check(turn.session, **keys).locked:
        turn.say("office/register_failed", reason="locked")
        return
    official, reason = redeem_invite(turn.session, code=code, channel=str(turn.inbound.channel),
                                     user_id=turn.inbound.user_id, now=turn.now, name=" ".join(name.split())[:80])
    if official is None:
        if reason == "unknown":
            limiter.failed(turn.session, **keys)
        turn.say("office/register_failed", reason=reason)
        return
    limiter.succeeded(turn.session, **keys)
    turn.official = official
    office = turn.settings.office(official.office_code) if official.office_code else None
    turn.say("office/registered", name=official.display_name, role=turn.texts.label(f"role_{official.role}"),
             office_name=office.name if office else "")


def register_group(turn: OfficeTurn, argument: str) -> bool:
    """/ganphong OFFICE in a group, by an admin: this group becomes the office's group."""
    office_code = argument.strip().upper()
    decision = can(turn.official, "register_group", None, turn.chat)
    if not decision:
        record_refusal(turn.session, actor=turn.actor, action="register_group", reason=decision.reason,
                       now=turn.now, where=f"chat={turn.chat.key}")
        return False
    if office_code not in {o.code for o in turn.settings.offices}:
        turn.say("office/group_unknown_office", codes=[o.code for o in turn.settings.offices])
        return True
    existing = office_group_of_chat(turn.session, channel=turn.chat.channel, chat_id=turn.chat.chat_id)
    if existing is None:
        existing = OfficeGroup(channel=turn.chat.channel, chat_id=turn.chat.chat_id, office_code=office_code,
                               registered_by=turn.official.id if turn.official else None, created_at=turn.now)
        turn.session.add(existing)
    existing.office_code = office_code
    turn.session.add(TicketEvent(ticket_id=None, at=turn.now, actor=turn.actor, action="group_registered",
                                 note=f"office={office_code} chat={turn.chat.key}"))
    turn.say("office/group_registered", office_name=turn.settings.office(office_code).name)
    return True


# --- dispatch ---------------------------------------------------------------------------------

def handle_turn(turn: OfficeTurn) -> None:
    """Route one event of an official (or of anyone pressing a card button in an office group)."""
    inbound = turn.inbound
    text = inbound.text or ""
    if leader_announcement(turn):
        return
    if inbound.payload is not None and inbound.payload.startswith(paper_intake.PAYLOAD) and turn.data.get("paper"):
        paper_intake.handle(turn)
    elif inbound.payload is not None:
        ticket_actions.press(turn, inbound.payload)
    elif text.startswith("/"):
        command, _, argument = text[1:].partition(" ")
        handle_command(turn, command.split("@", 1)[0].lower(), argument.strip())
    elif parse_payload(text):
        ticket_actions.press(turn, text)               # a payload typed or arriving as text (Zalo, console)
    elif turn.data.get("paper") and turn.chat.is_private:
        paper_intake.handle(turn)
    elif (pending := ticket_actions.pending_of(turn)) is not None:
        ticket_actions.complete(turn, pending)
    elif turn.chat.is_private and (pressed := typed_button(turn, text)) is not None:
        if pressed:
            ticket_actions.press(turn, pressed)
        else:
            turn.say("office/choose_number", n=len(last_buttons(turn)))
    elif turn.chat.is_private:
        code = parse_code(text)
        if code:
            show(turn, code)
        else:
            turn.say("office/not_understood")
    # Ordinary talk in an office group is the officials' own conversation: the bot stays silent.
    remember_buttons(turn)


def leader_announcement(turn: OfficeTurn) -> bool:
    """A leader's /thongbao (text, optional photo) and its preview buttons, in private chat only."""
    official = turn.official
    if official is None or official.role != "leader" or not turn.chat.is_private or not official.active:
        return False
    inbound = turn.inbound
    photo = next((a.ref for a in inbound.attachments if a.kind == "photo"), "")
    replies = announcements.handle_leader_input(turn.session, turn.settings, turn.texts, author=turn.actor,
                                                now=turn.now, text=inbound.text or "", payload=inbound.payload,
                                                photo_ref=photo)
    if replies is None:
        return False
    turn.replies.extend(replies)
    return True


def remember_buttons(turn: OfficeTurn) -> None:
    """In a private chat a person may answer with the number or label of a button (console, Zalo)."""
    if not turn.chat.is_private:
        return
    for reply in reversed(turn.replies):
        if reply.buttons:
            turn.data["buttons"] = [b.payload for row in reply.buttons for b in row]
            return


def handle_command(turn: OfficeTurn, command: str, argument: str) -> None:
    """Officials' commands; each goes through the policy."""
    if turn.official is not None and not turn.official.active and command not in ("huongdan", "help", "start"):
        ticket_actions.deny(turn, None, command, "revoked")
        return
    if command == "dangky":
        register(turn, argument)
    elif command == "ganphong":
        if not register_group(turn, argument):
            ticket_actions.deny(turn, None, "register_group", "role")
    elif command in ("huongdan", "help", "start"):
        turn.say("office/help", role=turn.official.role if turn.official else "",
                 name=turn.official.display_name if turn.official else "")
    elif command == "huy":
        had = turn.data.pop("pending", None) is not None or turn.data.pop("paper", None) is not None
        turn.say("office/cancelled" if had else "office/nothing_to_cancel")
    elif command == "viec":
        list_mine(turn)
    elif command == "donvi":
        list_office(turn, argument)
    elif command == "xem":
        code = parse_code(argument)
        if code is None:
            turn.say("office/need_code", command="xem")
        else:
            show(turn, code)
    elif command == "tim":
        search(turn, argument)
    elif command == "thongke":
        statistics(turn)
    elif command == "danhtinh":
        reveal_identity(turn, argument)
    elif command == "hoagiai":
        code = parse_code(argument)
        mediation.command(turn, argument, code, CODE_RE.sub("", argument, count=1).strip())
    elif command == "dangnhap":
        login_link(turn)
    elif command == "nhapdon":
        if not can(turn.official, "record_paper", None, turn.chat):
            ticket_actions.deny(turn, None, "record_paper", "role_or_chat")
        else:
            paper_intake.start(turn)
    elif turn.chat.is_private:
        turn.say("office/unknown_command")


def login_link(turn: OfficeTurn) -> None:
    """/dangnhap: a one-time back-office link, always to the official's own private chat."""
    if turn.official is None or not turn.official.active:
        ticket_actions.deny(turn, None, "web_link", "not_official")
        return
    turn.notify(web_session.link_message(turn.session, turn.settings, turn.texts, turn.official, turn.now))
    if not turn.chat.is_private:
        turn.say("office/login_link_sent", who=turn.official.display_name)


# --- lists, card, history, search -------------------------------------------------------------

def ticket_line(turn: OfficeTurn, ticket: Ticket) -> dict[str, object]:
    """One line of a list: code, type, status, due date, short content (never an identity)."""
    return {"code": ticket.code, "type_name": turn.settings.ticket_type(ticket.type).name,
            "status_name": turn.texts.label(f"status_{ticket.status}"), "resolve_due": ticket.resolve_due,
            "office": ticket.office_code, "summary": cards.shorten(ticket.description, 90),
            "overdue": ticket.resolve_due < turn.now.astimezone(turn.settings.commune.tz).date()}


def list_mine(turn: OfficeTurn) -> None:
    """/viec: my open tickets by due date."""
    if not can(turn.official, "list_own", None, turn.chat):
        ticket_actions.deny(turn, None, "list_own", "role")
        return
    assert turn.official is not None
    rows = open_tickets_of_assignee(turn.session, turn.official.id, statuses=[str(s) for s in OPEN_STATUSES],
                                    limit=LIST_LIMIT)
    tickets = [t for t in rows if visible_to(turn.official, t)]
    turn.say("office/list", title="mine", tickets=[ticket_line(turn, t) for t in tickets], office_name="")


def list_office(turn: OfficeTurn, argument: str) -> None:
    """/donvi: the open tickets of my office (a leader may name any office, or see all)."""
    decision = can(turn.official, "list_office", None, turn.chat)
    if not decision:
        ticket_actions.deny(turn, None, "list_office", decision.reason)
        return
    assert turn.official is not None
    wanted = argument.strip().upper()
    if turn.official.role == "leader":
        office_code = wanted or turn.chat.office_code
    else:
        office_code = turn.official.office_code
    rows = tickets_by_deadline(turn.session, statuses=[str(s) for s in OPEN_STATUSES], office_code=office_code,
                               limit=LIST_LIMIT)
    tickets = [t for t in rows if visible_to(turn.official, t)]
    name = turn.settings.office(office_code).name if office_code in {o.code for o in turn.settings.offices} else ""
    turn.say("office/list", title="office", tickets=[ticket_line(turn, t) for t in tickets], office_name=name)


def show(turn: OfficeTurn, code: str) -> None:
    """/xem CODE: the live card in this chat plus the full history."""
    ticket = find_ticket(turn.session, code)
    decision = can(turn.official, "view", ticket, turn.chat)
    if not decision:
        if ticket is None:
            turn.say("office/not_found", code=code)
            return
        ticket_actions.deny(turn, ticket, "view", decision.reason)
        return
    assert ticket is not None
    turn.notify(cards.show_card(turn, ticket, channel=turn.chat.channel, chat_id=turn.chat.chat_id))
    events = ticket_history(turn.session, ticket.id, hide_action="denied")
    turn.say("office/history", code=ticket.code, events=[event_line(turn, e) for e in events])


def event_line(turn: OfficeTurn, event: TicketEvent) -> dict[str, object]:
    """A history line with the actor's office-facing name (citizens are 'Người gửi')."""
    actor = event.actor
    if actor.startswith("official:"):
        person = turn.session.get(Official, int(actor.split(":", 1)[1]))
        who = person.display_name if person else turn.texts.label("actor_official")
    elif actor.startswith("citizen:"):
        who = turn.texts.label("actor_citizen")
    else:
        who = turn.texts.label("actor_system")
    note = event.note
    if event.action in ("identity_revealed",):
        note = note.split("reason=", 1)[-1]
    local: datetime = event.at.astimezone(turn.settings.commune.tz)
    return {"at": local.strftime("%d/%m/%Y %H:%M"), "who": who, "action": event.action,
            "action_name": turn.texts.label(f"event_{event.action}") if event.action in EVENT_LABELS else event.action,
            "note": cards.shorten(note, 500) if event.action not in ("created",) else ""}


EVENT_LABELS = frozenset({"created", "accepted", "transferred", "info_requested", "citizen_answered", "progress",
                          "resolved", "extended", "refused", "note", "survey", "closed", "auto_closed", "reopened",
                          "identity_revealed", "referred", "mediation_started", "mediators_assigned",
                          "mediation_success", "mediation_failed"})


def search(turn: OfficeTurn, query: str) -> None:
    """/tim TEXT: code, content or hamlet, among the tickets this person may see (never identities)."""
    needle = fold(query).strip()
    decision = can(turn.official, "search", None, turn.chat)
    if not decision:
        ticket_actions.deny(turn, None, "search", decision.reason)
        return
    assert turn.official is not None
    if len(needle) < 2:
        turn.say("office/need_query")
        return
    office_code = None if turn.official.role == "leader" else (turn.official.office_code or "")
    found = []
    for ticket in newest_tickets(turn.session, office_code=office_code, limit=SEARCH_SCAN):
        if not visible_to(turn.official, ticket):
            continue
        haystack = fold(f"{ticket.code} {ticket.hamlet} {ticket.description}")
        if needle in haystack:
            found.append(ticket)
            if len(found) >= LIST_LIMIT:
                break
    turn.say("office/search", query=query, tickets=[ticket_line(turn, t) for t in found])


def reveal_identity(turn: OfficeTurn, argument: str) -> None:
    """/danhtinh CODE LÝ DO: a leader, in private chat, with a stated reason, sees a tố cáo's author."""
    code = parse_code(argument)
    ticket = find_ticket(turn.session, code) if code else None
    decision = can(turn.official, "reveal_identity", ticket, turn.chat)
    if not decision:
        ticket_actions.deny(turn, ticket, "reveal_identity", decision.reason)
        return
    assert ticket is not None
    reason = CODE_RE.sub("", argument, count=1).strip()
    if len(reason.split()) < 2:
        turn.say("office/reveal_need_reason", code=ticket.code)
        return
    identity = reporter_identity(turn.session, ticket.id)
    if ticket.type != TicketType.TO_CAO or identity is None:
        turn.say("office/reveal_none", code=ticket.code)
        return
    record_event(turn.session, ticket, actor=turn.actor, action="identity_revealed", now=turn.now,
                 note=f"reason={reason}")
    turn.say("office/reveal", code=ticket.code, name=identity.name, phone=identity.phone, address=identity.address)



def statistics(turn: OfficeTurn) -> None:
    """/thongke: counts by status and type plus satisfaction; numbers only, never a case (inspectors too)."""
    decision = can(turn.official, "stats", None, turn.chat)
    if not decision:
        ticket_actions.deny(turn, None, "stats", decision.reason)
        return
    assert turn.official is not None
    office_code = None if turn.official.role in ("leader", "inspector") else turn.official.office_code
    by_status: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for status, kind, count in counts_by_status_and_type(turn.session, office_code):
        by_status[status] = by_status.get(status, 0) + count
        by_type[kind] = by_type.get(kind, 0) + count
    today = turn.now.astimezone(turn.settings.commune.tz).date()
    # The digest's and escalation's definition: the earliest running deadline (answer, accept or
    # resolve) has passed, not only the resolution deadline.
    late = overdue_per_office(turn.session, today, open_statuses=[str(s) for s in OPEN_STATUSES],
                              received=str(TicketStatus.RECEIVED))
    overdue = sum(count for office, count, _ in late if not office_code or office == office_code)
    if office_code:
        surveys = surveys_of_office(turn.session, office_code)
        answered = [s for s in surveys if s.rating is not None]
        satisfied = sum(1 for s in answered if is_satisfied(s.rating))
        stats = {"asked": len(surveys), "answered": len(answered),
                 "satisfaction": satisfied / len(answered) if answered else 0.0,
                 "response_rate": len(answered) / len(surveys) if surveys else 0.0}
    else:
        stats = satisfaction_stats(turn.session)
    turn.say("office/statistics", office_name=turn.settings.office(office_code).name if office_code else "",
             statuses=[(turn.texts.label(f"status_{k}"), v) for k, v in sorted(by_status.items())],
             types=[(turn.settings.ticket_type(k).name, v) for k, v in sorted(by_type.items())],
             total=sum(by_status.values()), overdue=int(overdue or 0), survey=stats)
