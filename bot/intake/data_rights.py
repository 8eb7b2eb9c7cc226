"""Personal-data rights (Luật Bảo vệ dữ liệu cá nhân 91/2025, NĐ 356/2025): see what is held
(/dulieu), ask for deletion (/xoadulieu), and the retention purge the scheduler runs daily.

Khiếu nại and tố cáo case files are archived by law: deletion of their content is refused with
that reason, but the person's contact details on other petitions are erased.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.conversation.engine import Choice, Flow, Step, Turn
from bot.core.domain import COMPLAINT_TYPES
from bot.core.lifecycle import OPEN_STATUSES
from bot.language.phones import mask_phones
from bot.tickets.records import local_date, record_event
from storage.data_rights import (erase_idle_citizens, identities_as_reporter, stale_tickets_with_contact,
                                 tickets_filed_by)
from storage.models import Citizen, DataRequest, Ticket
from storage.officials import identities_of_citizen
from storage.outbox import chat_rows, erase_payload, rows_of_tickets
from storage.tickets import tickets_of_citizen

flow = Flow()
ARCHIVED_TYPES = COMPLAINT_TYPES      # case files archived by law
COMMANDS = ("dulieu", "xoadulieu")


def show_data(turn: Turn) -> None:
    """/dulieu: everything danvan holds about this person, in their own chat."""
    citizen = turn.citizen
    identities = identities_of_citizen(turn.session, citizen.id)
    tickets = tickets_of_citizen(turn.session, citizen.id, limit=50) if citizen.id else []
    turn.say("citizen/data_view", citizen=citizen, channels=sorted({i.channel for i in identities}),
             tickets=[{"code": t.code, "type_name": turn.settings.ticket_type(t.type).name,
                       "received": t.received_date, "contact_name": t.contact_name,
                       "contact_phone": t.contact_phone, "contact_address": t.contact_address} for t in tickets],
             retention_days=turn.settings.privacy.retention_days)
    turn.goto("menu")


def prompt_delete(turn: Turn) -> None:
    turn.say("citizen/data_delete_confirm", choices=[Choice("confirm", turn.texts.label("data_delete_confirm")),
                                                     Choice("menu", turn.texts.label("back_menu"))])


def choose_delete(turn: Turn, value: str) -> None:
    if value != "confirm":
        turn.goto("menu")
        return
    outcome = erase_citizen(turn.session, turn.citizen, now=turn.now, actor=f"citizen:{turn.inbound.channel}")
    # The conversation's transcript (the web chat serves it again) and what was queued for this chat.
    for row in chat_rows(turn.session, channel=str(turn.inbound.channel), chat_id=turn.inbound.chat_id):
        erase_payload(row)
    due = turn.services.calendar.add_working_days(local_date(turn.settings, turn.now), 2)
    turn.session.add(DataRequest(citizen_id=turn.citizen.id, kind="deletion", requested_at=turn.now, due_date=due,
                                 executed_at=turn.now, status="done" if not outcome.kept else "partial",
                                 note=f"erased={outcome.erased} kept={','.join(outcome.kept)}"))
    turn.data.clear()
    turn.data["consent_decided"] = True
    turn.say("citizen/data_deleted", kept=outcome.kept, erased=outcome.erased)
    turn.goto("menu")


flow.step("data_delete", Step(prompt=prompt_delete, on_choice=choose_delete))


def handle_command(turn: Turn, command: str) -> None:
    """Route /dulieu and /xoadulieu."""
    if command == "dulieu":
        show_data(turn)
    else:
        turn.goto("data_delete")


class ErasureOutcome:
    def __init__(self) -> None:
        self.erased = 0
        self.kept: list[str] = []


def erase_citizen(session: Session, citizen: Citizen, *, now: datetime, actor: str) -> ErasureOutcome:
    """Erase a person's contact details everywhere the law allows; withdraw consent."""
    outcome = ErasureOutcome()
    for ticket in tickets_filed_by(session, citizen.id):
        if ticket.type in ARCHIVED_TYPES:
            outcome.kept.append(ticket.code)
            continue
        scrub_outbox(session, ticket.code, (ticket.contact_name, citizen.name, ticket.contact_address))
        if ticket.contact_name or ticket.contact_phone or ticket.contact_address:
            ticket.contact_name, ticket.contact_phone, ticket.contact_address = "", "", ""
            ticket.anonymous = True
            record_event(session, ticket, actor=actor, action="personal_data_erased", now=now)
            outcome.erased += 1
    for identity in identities_as_reporter(session, citizen.id):
        ticket = session.get(Ticket, identity.ticket_id)
        if ticket is not None:
            outcome.kept.append(ticket.code)
    citizen.name, citizen.phone = "", ""
    citizen.consent = False
    citizen.consent_at = now
    citizen.updated_at = now
    return outcome


def scrub_outbox(session: Session, code: str, names: tuple[str, ...]) -> None:
    """Office cards and notices about `code` keep their purpose but lose the person's name and phone."""
    for row in rows_of_tickets(session, [code]):
        payload = json.loads(row.payload)
        text = mask_phones(str(payload.get("text", "")))
        for name in (n for n in names if n and len(n.strip()) > 1):
            text = text.replace(name.strip(), "***")
        if text != payload.get("text", ""):
            row.payload = json.dumps({**payload, "text": text}, ensure_ascii=False)


def purge_expired_personal_data(session: Session, *, now: datetime, retention_days: int) -> int:
    """Daily: erase contact details of finished, non-archived petitions older than the retention period."""
    cutoff = now - timedelta(days=retention_days)
    open_statuses = [str(s) for s in OPEN_STATUSES]
    stale = stale_tickets_with_contact(session, archived_types=[str(t) for t in ARCHIVED_TYPES],
                                       open_statuses=open_statuses, changed_before=cutoff)
    for ticket in stale:
        ticket.contact_name, ticket.contact_phone, ticket.contact_address = "", "", ""
        record_event(session, ticket, actor="system:retention", action="personal_data_erased", now=now)
    erase_idle_citizens(session, changed_before=cutoff, open_statuses=open_statuses, now=now)
    return len(stale)
