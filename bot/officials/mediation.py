"""Grassroots mediation (hòa giải ở cơ sở, Luật Hòa giải ở cơ sở 2013) and referrals outside the UBND.

An official of the ticket's office (or a leader), or the hamlet's own team leader (an official
with role `mediator` and that hamlet), refers a dispute between citizens to the hamlet's mediation
team: the ticket goes to MEDIATION, the team leaders get the case with the parties' names in
private chat (nobody else sees them there), the citizen is told. The team leader assigns
mediators and records the outcome: "thành" resolves the ticket with the agreement as the answer;
"không thành" returns it to its office (IN_PROGRESS) and tells the citizen the next step.
Everything is an audited TicketEvent: mediation_started, mediators_assigned, mediation_success,
mediation_failed; reports, register and digest count those.

Chat commands go through bot.officials (channel-agnostic): `/hoagiai MÃ chuyen|phancong|thanh|khongthanh …`.
"""

from __future__ import annotations

from datetime import date
from types import MappingProxyType

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.deadlines import Period, add_period
from bot.core.workdays import WorkingCalendar
from bot.core.domain import COMPLAINT_TYPES, Channel, Outgoing, Reply, TicketStatus as S
from bot.core.policy import can
from bot.officials.turn import OfficeTurn
from bot.tickets import cards
from bot.tickets.citizen_notices import notify_citizen
from bot.tickets.records import change_status, local_date, record_event, record_refusal
from bot.tickets.recipients import office_recipients, official_chat
from storage.events import latest_event
from storage.models import Office, Official, Ticket
from storage.officials import active_officials_of_hamlet
from storage.tickets import find_ticket

ROLE_MEDIATOR = "mediator"
SUBCOMMANDS = MappingProxyType({"chuyen": "mediate", "phancong": "mediation_assign", "thanh": "mediation_outcome",
                                "khongthanh": "mediation_outcome"})
MEDIATION_FROM = frozenset({S.RECEIVED, S.TRANSFERRED, S.REOPENED, S.ACCEPTED, S.IN_PROGRESS})


def team_leaders(session: Session, hamlet: str) -> list[Official]:
    """The hamlet's registered mediation team leaders (officials with role mediator for it)."""
    if not hamlet:
        return []
    return active_officials_of_hamlet(session, role=ROLE_MEDIATOR, hamlet=hamlet)


def mediation_limits(settings: Settings, calendar: WorkingCalendar, started: date) -> tuple[date, date]:
    """(assign mediators by, start mediating by), counted from the referral day (config `mediation`)."""
    cfg = settings.mediation
    unit = "working" if cfg.working_days else "calendar"
    return (add_period(started, Period(cfg.assign_days, unit), calendar=calendar),
            add_period(started, Period(cfg.start_days, unit), calendar=calendar))


def mediation_dues(turn: OfficeTurn, started: date) -> tuple[date, date]:
    return mediation_limits(turn.settings, turn.services.calendar, started)


def started_on(session: Session, turn: OfficeTurn, ticket: Ticket) -> date:
    """The day of the ticket's latest referral to mediation."""
    event = latest_event(session, ticket.id, "mediation_started")
    return local_date(turn.settings, event.at) if event is not None else local_date(turn.settings, turn.now)


def refuse_mediation(turn: OfficeTurn, ticket: Ticket) -> bool:
    """Say why this ticket cannot go to mediation (khiếu nại/tố cáo, no team); True when refused."""
    if ticket.type in COMPLAINT_TYPES:
        turn.say("office/mediation_not_allowed", code=ticket.code, type_name=turn.settings.ticket_type(ticket.type).name)
        return True
    if not team_leaders(turn.session, ticket.hamlet):
        turn.say("office/mediation_no_team", code=ticket.code, hamlet=ticket.hamlet)
        return True
    return False


def start_mediation(turn: OfficeTurn, ticket: Ticket, note: str) -> None:
    """Refer the ticket to its hamlet's mediation team (the caller checked policy and state)."""
    if refuse_mediation(turn, ticket):
        return
    change_status(turn.session, ticket, S.MEDIATION, actor=turn.actor, action="mediation_started", now=turn.now,
                  note=note)
    assign_due, start_due = mediation_dues(turn, local_date(turn.settings, turn.now))
    case = turn.texts.render(
        "office/mediation_case", code=ticket.code, hamlet=ticket.hamlet,
        category_name=turn.settings.category(ticket.category).name, description=ticket.description, note=note,
        party_name="" if ticket.anonymous else ticket.contact_name,
        party_phone="" if ticket.anonymous else ticket.contact_phone,
        party_address="" if ticket.anonymous else ticket.contact_address,
        assign_due=assign_due, start_due=start_due)
    for leader in team_leaders(turn.session, ticket.hamlet):       # private chats only: the parties' names
        chat = official_chat(leader)
        turn.notify(Outgoing(channel=Channel(chat.channel), chat_id=chat.chat_id, reply=Reply(text=case),
                             ticket_code=ticket.code))
    notify_citizen(turn, ticket, "citizen/notice_mediation", hamlet=ticket.hamlet)
    _refresh(turn, ticket)
    turn.say("office/done_mediate", code=ticket.code, hamlet=ticket.hamlet, assign_due=assign_due)


def assign_mediators(turn: OfficeTurn, ticket: Ticket, names: str) -> None:
    record_event(turn.session, ticket, actor=turn.actor, action="mediators_assigned", now=turn.now, note=names)
    _, start_due = mediation_dues(turn, started_on(turn.session, turn, ticket))
    turn.say("office/mediation_assigned", code=ticket.code, names=names, start_due=start_due)


def record_outcome(turn: OfficeTurn, ticket: Ticket, *, success: bool, note: str) -> None:
    """Hòa giải thành: resolved with the agreement as the answer. Không thành: back to the office."""
    day = local_date(turn.settings, turn.now)
    if success:
        change_status(turn.session, ticket, S.RESOLVED, actor=turn.actor, action="mediation_success", now=turn.now,
                      note=note)
        ticket.resolved_at = turn.now
        notify_citizen(turn, ticket, "citizen/notice_mediation_success", text=note, day=day)
    else:
        change_status(turn.session, ticket, S.IN_PROGRESS, actor=turn.actor, action="mediation_failed", now=turn.now,
                      note=note)
        office = turn.session.get(Office, ticket.office_code)
        notify_citizen(turn, ticket, "citizen/notice_mediation_failed", day=day,
                       office_name=office.name if office else ticket.office_code)
        _post_to_office(turn, ticket, "office/mediation_returned", hamlet=ticket.hamlet, day=day, note=note)
    _refresh(turn, ticket)
    turn.say("office/mediation_recorded", code=ticket.code, success=success, day=day)


# --- the card's text actions (bot.officials.actions.COMPLETERS) ----------------------------------

def finish_mediate(turn: OfficeTurn, ticket: Ticket, note: str, *, action: str, photos: int) -> None:
    start_mediation(turn, ticket, note)


def finish_refer(turn: OfficeTurn, ticket: Ticket, text: str, *, action: str, photos: int) -> None:
    """Chuyển đơn outside the UBND (not its competence): closed here, counted for this office."""
    change_status(turn.session, ticket, S.REFERRED, actor=turn.actor, action="referred", now=turn.now, note=text)
    ticket.resolved_at = turn.now
    notify_citizen(turn, ticket, "citizen/notice_referred", text=text)
    _refresh(turn, ticket)
    turn.say("office/done_refer", code=ticket.code)


def command(turn: OfficeTurn, argument: str, code: str | None, rest: str) -> None:
    """/hoagiai MÃ chuyen|phancong|thanh|khongthanh TEXT."""
    words = rest.split(None, 1)
    sub = words[0].lower() if words else ""
    text = words[1].strip() if len(words) > 1 else ""
    if code is None or sub not in SUBCOMMANDS or not text:
        turn.say("office/mediation_usage")
        return
    ticket = find_ticket(turn.session, code)
    action = SUBCOMMANDS[sub]
    decision = can(turn.official, action, ticket, turn.chat)
    if not decision:
        if ticket is None:
            turn.say("office/not_found", code=code)
            return
        record_refusal(turn.session, actor=turn.actor, action=action, reason=decision.reason, now=turn.now,
                       ticket_id=ticket.id, where=f"chat={turn.chat.key}")
        turn.say("office/denied")
        return
    assert ticket is not None
    wanted = MEDIATION_FROM if action == "mediate" else frozenset({S.MEDIATION})
    if str(ticket.status) not in wanted:
        turn.say("office/already_done", code=ticket.code, action=action, assignee="",
                 status_name=turn.texts.label(f"status_{ticket.status}"))
        return
    if action == "mediate":
        start_mediation(turn, ticket, text)
    elif action == "mediation_assign":
        assign_mediators(turn, ticket, text)
    else:
        record_outcome(turn, ticket, success=sub == "thanh", note=text)


def _refresh(turn: OfficeTurn, ticket: Ticket) -> None:
    for message in cards.refresh_cards(turn, ticket):
        turn.notify(message)


def _post_to_office(turn: OfficeTurn, ticket: Ticket, template: str, **context: object) -> None:
    """To wherever the office hears about its tickets (the one resolver: its groups on every channel,
    else its officials, else the leaders)."""
    text = turn.texts.render(template, code=ticket.code, **context)
    for target in office_recipients(turn.session, turn.settings, ticket.office_code):
        turn.notify(Outgoing(channel=Channel(target.channel), chat_id=target.chat_id, ticket_code=ticket.code,
                             reply=Reply(text=text)))
