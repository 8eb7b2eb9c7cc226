"""The permission matrix: every action × every role × own/other office × right/wrong chat, plus
forged and replayed payloads. Nothing unauthorised changes a ticket, and every refusal is audited."""

from __future__ import annotations

from testkit.office_tickets import add_ticket  # noqa: F401

import itertools
from datetime import datetime, timezone

from sqlmodel import Session, col, select

from bot.tickets.tokens import payload_for
from bot.service.transactions import Service
from storage.engine import write_session
from storage.models import Official, Ticket, TicketEvent
from testkit.office_driver import OfficeChat

KT_GROUP, CA_GROUP = "-1002", "-1005"
ACTIONS = ("accept", "transfer_to:VP", "request_info", "progress", "resolve", "extend", "refuse", "note")
ROLES = ("official", "head", "leader", "admin", "inspector", "revoked", "stranger")
OFFICES = ("own", "other")
CHATS = ("office_group", "wrong_group", "private")
OFFICELESS = frozenset({"leader", "admin", "inspector", "stranger"})     # own/other office means nothing
TEXT = "Nội dung trả lời đủ dài để hoàn tất thao tác này"




def make_ticket(services, *, accepted: bool) -> Ticket:
    with write_session(services.engine) as session:
        return add_ticket(session, services, accepted=accepted)


def snapshot(engine, ticket_id: int) -> tuple:
    """What an action could change, and how many refusals were audited for the ticket."""
    with Session(engine) as session:
        t = session.get(Ticket, ticket_id)
        events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)).all()
        changes = sum(1 for e in events if e.action != "denied")
        return (t.status, t.office_code, t.assignee_id, t.resolve_due, changes), len(events) - changes


def denied_events(engine, ticket_id: int | None) -> list[TicketEvent]:
    with Session(engine) as session:
        stmt = select(TicketEvent).where(TicketEvent.action == "denied")
        stmt = stmt.where(TicketEvent.ticket_id == ticket_id) if ticket_id else stmt.where(
            col(TicketEvent.ticket_id).is_(None))
        return list(session.exec(stmt))


def seed_person(engine, role: str, office: str, index: int) -> str:
    user_id = str(7000 + index)
    if role == "stranger":
        return user_id
    with Session(engine) as session:
        session.add(Official(channel="telegram", user_id=user_id, created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
                             role="official" if role == "revoked" else role,
                             office_code=None if role in ("leader", "admin", "inspector") else
                             ("KT" if office == "own" else "CA"),
                             display_name=f"{role}-{office}", active=role != "revoked"))
        session.commit()
    return user_id


def expected_allowed(role: str, office: str, chat: str, action: str) -> bool:
    if role not in ("official", "head", "leader"):
        return False
    if chat == "wrong_group":
        return False
    if role != "leader" and office != "own":
        return False
    if action == "extend" and role == "official":
        return False
    return True


def test_permission_matrix(service: Service, services):
    engine = services.engine
    cases = [c for c in itertools.product(ROLES, OFFICES, CHATS, ACTIONS) if c[0] not in OFFICELESS or c[1] == "own"]
    allowed_count = refused_count = 0
    people = {(role, office): seed_person(engine, role, office, i)
              for i, (role, office) in enumerate(sorted({(c[0], c[1]) for c in cases}))}
    prepared = []
    with write_session(engine) as session:          # one transaction for all the fixtures keeps this fast
        for role, office, chat, action in cases:
            user_id = people[(role, office)]
            ticket = add_ticket(session, services, accepted=action != "accept")
            if chat == "private":
                chat_id, chat_key = user_id, f"telegram:{user_id}"
            else:
                chat_id, chat_key = (KT_GROUP if chat == "office_group" else CA_GROUP), f"telegram:{KT_GROUP}"
            payload = payload_for(session, ticket_id=ticket.id, action=action, chat_key=chat_key,
                                  now=services.clock.now())
            prepared.append((role, office, chat, action, user_id, ticket, chat_id, payload))
    toasts = []
    for role, office, chat, action, user_id, ticket, chat_id, payload in prepared:
        person = OfficeChat(service, user_id=user_id, chat_id=chat_id)
        toasts.append(person.send(payload=payload).callback_text)
        if action != "accept" and (expected_allowed(role, office, chat, action) or chat == "office_group"):
            person.send(TEXT)                      # the text that would complete a prompted action
    with Session(engine) as session:               # one read at the end keeps this fast on PostgreSQL
        tickets = {t.id: t for t in session.exec(select(Ticket))}
        events: dict[int, list[TicketEvent]] = {}
        for event in session.exec(select(TicketEvent)):
            events.setdefault(event.ticket_id, []).append(event)
    for (role, office, chat, action, user_id, ticket, chat_id, payload), toast in zip(prepared, toasts):
        t, history = tickets[ticket.id], events.get(ticket.id, [])
        refusals = sum(1 for e in history if e.action == "denied")
        after = (t.status, t.office_code, t.assignee_id, t.resolve_due, len(history) - refusals)
        initial = ("accepted" if action != "accept" else "received", "KT", None, ticket.resolve_due, 1)
        label = f"{role}/{office}/{chat}/{action}"
        if expected_allowed(role, office, chat, action):
            allowed_count += 1
            assert after != initial and refusals == 0, label
        else:
            refused_count += 1
            assert after == initial, label
            assert toast == "Không có quyền" and refusals == 1, label
    # official: own office × 2 chats × 7 actions (no extend); head: 2 × 8; leader: 2 × 8.
    assert allowed_count == 14 + 16 + 16 and refused_count == len(cases) - allowed_count == 194


FORGED = ("x:AAAAAAAAAAAA", "x:", "1:accept", "accept", "x:" + "A" * 70, "x:../../etc",
          "x:AAAAAAAA'; DROP TABLE tickets;--")


def test_forged_payloads_change_nothing_and_are_audited(service: Service, services):
    ticket = make_ticket(services, accepted=False)
    with Session(services.engine) as session:
        session.add(Official(channel="telegram", user_id="8001", created_at=services.clock.now(), role="leader",
                             display_name="Lãnh đạo"))
        session.commit()
    before, _ = snapshot(services.engine, ticket.id)
    for payload in FORGED:
        result = OfficeChat(service, user_id="8001", chat_id=KT_GROUP).send(payload=payload)
        assert result.callback_text == "Không có quyền", payload
    assert snapshot(services.engine, ticket.id)[0] == before
    assert len(denied_events(services.engine, None)) == len(FORGED)


def test_replayed_payloads(service: Service, services):
    ticket = make_ticket(services, accepted=False)
    with Session(services.engine) as session:
        for user_id, office in (("8101", "KT"), ("8102", "KT"), ("8103", "CA")):
            session.add(Official(channel="telegram", user_id=user_id, created_at=services.clock.now(),
                                 role="official", office_code=office, display_name=f"Cán bộ {user_id}"))
        session.commit()
    with write_session(services.engine) as session:
        accept = payload_for(session, ticket_id=ticket.id, action="accept", chat_key=f"telegram:{KT_GROUP}",
                             now=services.clock.now())
    first = OfficeChat(service, user_id="8101", chat_id=KT_GROUP)
    first.send(payload=accept)
    after_first, _ = snapshot(services.engine, ticket.id)
    assert after_first[0] == "accepted"
    again = OfficeChat(service, user_id="8102", chat_id=KT_GROUP).send(payload=accept)
    assert "Cán bộ 8101" in again.callback_text                    # told who won
    other = OfficeChat(service, user_id="8103", chat_id=CA_GROUP).send(payload=accept)
    assert other.callback_text == "Không có quyền"
    assert snapshot(services.engine, ticket.id)[0] == after_first
    # The very same update delivered twice is handled once.
    from bot.core.domain import Channel, Inbound

    inbound = Inbound(channel=Channel.TELEGRAM, user_id="8101", chat_id=KT_GROUP, external_id="dup-1",
                      payload=accept, is_private=False)
    assert service.handle_inbound(inbound).duplicate is False
    assert service.handle_inbound(inbound).duplicate is True


def test_revocation_takes_effect_on_the_next_action(service: Service, services):
    ticket = make_ticket(services, accepted=True)
    with Session(services.engine) as session:
        session.add(Official(channel="telegram", user_id="8201", created_at=services.clock.now(),
                             role="official", office_code="KT", display_name="Sắp nghỉ"))
        session.commit()
    with write_session(services.engine) as session:
        note = payload_for(session, ticket_id=ticket.id, action="resolve", chat_key=f"telegram:{KT_GROUP}",
                           now=services.clock.now())
    me = OfficeChat(service, user_id="8201", chat_id=KT_GROUP)
    me.send(payload=note)                                # prompt shown while still active
    from bot.officials.invites import revoke_official

    with write_session(services.engine) as session:
        official = session.exec(select(Official).where(Official.user_id == "8201")).one()
        revoke_official(session, official.id)
    before, _ = snapshot(services.engine, ticket.id)
    me.send(TEXT)
    assert snapshot(services.engine, ticket.id)[0] == before
    assert len(denied_events(services.engine, ticket.id)) == 1
