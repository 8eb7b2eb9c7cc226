"""Issue 7 row 9: forged and misdirected button payloads, generated in bulk.

A seeded generator draws (actor, chat, ticket, action, token kind) combinations — citizens, officials
and heads of every office, leaders, admins, inspectors, revoked officials, strangers; private chats,
every office group, unregistered groups; tickets of every office, type (tố cáo included) and status;
every official action plus the citizens' survey buttons; genuine tokens, tokens issued for another
chat, ticket or person, replayed and stale tokens, made-up tokens and random bytes — and pushes each
through the real entry point (Service.handle_inbound with a button-press Inbound, then the text a
prompted action waits for). The expected outcome comes from an oracle written here from the
permission table of the product brief, not from bot/policy.py. After every case the ticket row and
the new audit events are compared with what the oracle allows:

* refused → the ticket is unchanged, no change event, exactly one "denied" audit event;
* allowed but stale (the ticket is no longer in a state for that button) → nothing changes;
* allowed → the change is made by that person, and nothing is denied.

The database is reused across all cases (tickets move through their lifecycle as allowed presses
land, which is what makes replayed and stale tokens meaningful). DANVAN_STRESS_PAYLOADS sets the
number of cases (default 3,000). Measured on the 2-core machine (26/11/2026), after the fixes:
100,000 cases on SQLite: 0 failures, 82,252 refusals each audited once, 398 s (+113 s setup);
25,000 cases on PostgreSQL: 0 failures, 20,613 refusals audited, 292 s (+27 s setup).
"""

from __future__ import annotations

import pytest

import base64
import collections
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text as sql
from sqlmodel import Session

from bot.tickets.tokens import payload_for
from bot.main.composition import build_services
from bot.config.settings import load_settings
from bot.core.domain import Channel, Inbound
from bot.service.transactions import Service
from bot.tickets.records import Draft, create_ticket
from storage.engine import write_session
from storage.models import Official
from storage.tickets import ensure_citizen
from testkit.config import write_config

CASES = int(os.environ.get("DANVAN_STRESS_PAYLOADS", "3000"))
SEED = int(os.environ.get("DANVAN_STRESS_SEED", "20261126"))
OFFICE_GROUPS = {"VP": "-1001", "KT": "-1002", "VHXH": "-1003", "HCC": "-1004", "CA": "-1005", "QS": "-1006"}
UNKNOWN_GROUPS = ("-1009001", "-1009002")
OFFICES = tuple(OFFICE_GROUPS)
STATUSES = ("received", "accepted", "in_progress", "waiting_citizen", "resolved", "closed", "transferred",
            "refused", "reopened")
TYPES = ("phan_anh", "kien_nghi", "gop_y", "khieu_nai", "to_cao")
OFFICIAL_ACTIONS = ("accept", "transfer", "request_info", "progress", "resolve", "extend", "refuse", "note") + \
    tuple(f"transfer_to:{code}" for code in OFFICES) + ("delete", "reveal_identity", "view")
CITIZEN_ACTIONS = ("reopen", "rate:4", "rate:1", "skip_comment")
TEXT = "Nội dung trả lời đủ dài để hoàn tất thao tác này"
DENIED = "Không có quyền"

# The permission table of the brief (domain.md §2–3, design.md decision 5, README "Officials"), restated:
# only case officials act on tickets; officials and heads on their own office's tickets, leaders on all;
# from their private chat or from the group of the office that holds the ticket, and only with a
# button issued for that very chat; extending a deadline is for heads and leaders.
CASE_ROLES = {"official", "head", "leader"}
EXTEND_ROLES = {"head", "leader"}
KNOWN_ACTIONS = {"accept", "transfer", "request_info", "progress", "resolve", "extend", "refuse", "note"}
# Which statuses each action still applies to (the lifecycle of domain.md: a closed or refused case is
# not worked on; a case waiting for the citizen cannot be accepted again, ...).
OPEN_WORK = {"received", "transferred", "reopened", "accepted", "in_progress", "waiting_citizen"}
VALID_IN = {
    "accept": {"received", "transferred", "reopened"},
    "transfer": {"received", "transferred", "reopened", "accepted", "in_progress"},
    "request_info": {"received", "transferred", "reopened", "accepted", "in_progress"},
    "progress": {"accepted", "in_progress", "waiting_citizen", "reopened"},
    "resolve": {"accepted", "in_progress", "waiting_citizen"},
    "extend": {"accepted", "in_progress", "waiting_citizen"},
    "refuse": {"received", "transferred", "reopened", "accepted", "in_progress", "waiting_citizen"},
    "note": set(STATUSES),
}


@dataclass(frozen=True)
class Actor:
    kind: str                 # citizen | official | head | leader | admin | inspector | revoked | stranger
    user_id: str
    office: str | None = None
    official_id: int | None = None

    @property
    def active_case_role(self) -> bool:
        return self.kind in CASE_ROLES


@dataclass
class Case:
    actor: Actor
    chat_id: str
    payload: str
    token_kind: str           # genuine | other_chat | other_ticket | random_token | garbage | raw_bytes
    ticket_id: int | None     # the ticket the token really names
    action: str | None        # the action the token really names
    token_chat: str | None    # the chat key the token was issued for


def chat_office(chat_id: str) -> str | None:
    return next((code for code, group in OFFICE_GROUPS.items() if group == chat_id), None)


def oracle(case: Case, *, status: str | None, office: str | None) -> str:
    """'refused', 'ignored' (a citizen's stray input), 'stale', 'allowed' or 'own' (the citizen's own
    survey button: recorded if a survey is pending) for one press."""
    actor, private = case.actor, not case.chat_id.startswith("-")
    if not private and case.chat_id in UNKNOWN_GROUPS:
        return "refused"                                  # the bot works only in registered office groups
    official_like = actor.kind in CASE_ROLES | {"admin", "inspector"}
    if case.action is None:                               # names no button at all
        if private and not official_like and not case.payload.strip().startswith("x:"):
            return "ignored"                              # a citizen's (or ex-official's) stray input
        return "refused"
    press_chat = f"telegram:{case.chat_id}"
    if case.action in CITIZEN_ACTIONS:
        if private and actor.kind in ("citizen", "stranger") and press_chat == case.token_chat:
            if case.action == "reopen":
                return "allowed" if status in ("resolved", "closed") else "stale"
            if case.action.startswith("rate:"):
                return "own"                              # recorded when a survey is pending, else nothing
            return "stale"
        return "refused"
    if press_chat != case.token_chat:
        return "refused"
    if not actor.active_case_role:
        return "refused"
    base = "transfer" if case.action.startswith("transfer_to:") else case.action
    if base not in KNOWN_ACTIONS:
        return "refused"
    if actor.kind != "leader" and actor.office != office:
        return "refused"
    if not private and chat_office(case.chat_id) != office:
        return "refused"
    if base == "extend" and actor.kind not in EXTEND_ROLES:
        return "refused"
    if status not in VALID_IN[base]:
        return "stale"
    if case.action == "transfer" or case.action == f"transfer_to:{office}":
        return "stale"                                    # a menu of offices / a no-op: nothing changes
    return "allowed"


# --- the world --------------------------------------------------------------------------------

def seed_people(engine, now: datetime) -> dict[str, list[Actor]]:
    people: dict[str, list[Actor]] = collections.defaultdict(list)
    rows: list[tuple[str, Official]] = []
    n = 0

    def add(kind: str, role: str, office: str | None, active: bool = True) -> None:
        nonlocal n
        n += 1
        user_id = str(50_000 + n)
        rows.append((kind, Official(channel="telegram", user_id=user_id, role=role, office_code=office,
                                    display_name=f"{kind} {office or ''} {n}", active=active, created_at=now)))

    for office in OFFICES:
        for _ in range(2):
            add("official", "official", office)
        add("head", "head", office)
        add("revoked", "official", office, active=False)
    add("revoked", "head", "KT", active=False)
    add("revoked", "leader", None, active=False)
    for _ in range(2):
        add("leader", "leader", None)
    add("leader", "leader", "VP")                          # a leader who also belongs to an office
    add("admin", "admin", None)
    add("inspector", "inspector", None)
    with Session(engine) as session:
        for _, row in rows:
            session.add(row)
        session.commit()
        for kind, row in rows:
            session.refresh(row)
            people[kind].append(Actor(kind, row.user_id, row.office_code, row.id))
    for i in range(6):
        people["stranger"].append(Actor("stranger", str(90_000 + i)))
    return people


def seed_tickets(services, rng: random.Random, count: int) -> tuple[list[int], dict[int, str], list[Actor]]:
    """`count` tickets over every office × type × status, each filed by one of a few citizens."""
    now = services.clock.now()
    citizens = [Actor("citizen", str(70_000 + i)) for i in range(12)]
    ids: list[int] = []
    owner: dict[int, str] = {}
    with write_session(services.engine) as session:
        people = {c.user_id: ensure_citizen(session, channel="telegram", user_id=c.user_id, chat_id=c.user_id,
                                            now=now) for c in citizens}
        for i in range(count):
            kind = TYPES[i % len(TYPES)]
            status = STATUSES[(i // len(TYPES)) % len(STATUSES)]
            office = OFFICES[(i // (len(TYPES) * len(STATUSES))) % len(OFFICES)]
            citizen = citizens[i % len(citizens)]
            anonymous = kind in ("phan_anh", "gop_y") and rng.random() < 0.2
            draft = Draft(type=kind, description=f"Đèn đường thôn Mẫu {i} bị hỏng nhiều ngày, đề nghị xử lý",
                          category="ha_tang", contact_mode="anonymous" if anonymous else "manual",
                          contact_name="" if anonymous else "Nguyễn Văn Thử",
                          contact_phone="" if anonymous else "0912000111")
            ticket = create_ticket(session, settings=services.settings, calendar=services.calendar, draft=draft,
                                   channel="telegram", citizen_id=None if anonymous else people[citizen.user_id].id,
                                   now=now).ticket
            ticket.office_code = office
            ticket.status = status
            if status not in ("received", "transferred"):
                ticket.accepted_at = now - timedelta(days=2)
            if status in ("resolved", "closed", "refused"):
                ticket.resolved_at = now - timedelta(days=1)
            session.flush()
            ids.append(ticket.id)
            owner[ticket.id] = "" if anonymous else f"telegram:{citizen.user_id}"
    return ids, owner, citizens


def random_bytes_payload(rng: random.Random) -> str:
    choice = rng.randrange(6)
    if choice == 0:
        return "x:" + base64.urlsafe_b64encode(rng.randbytes(9)).decode().rstrip("=")   # well-formed, unknown
    if choice == 1:
        return "x:" + "".join(rng.choice("AZaz09_-'\";/.%\\ ") for _ in range(rng.randrange(0, 80)))
    if choice == 2:
        return rng.randbytes(rng.randrange(1, 64)).decode("latin-1")
    if choice == 3:
        return rng.choice(("accept", "1:accept", "x:", "ann:send:1", "rate:5", "", " x:AAAAAAAAAAAA",
                           "x:AAAAAAAA\u200b", "X:AAAAAAAAAAAA"))
    if choice == 4:
        return "x:" + "A" * rng.randrange(1, 40)
    return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(1, 30)))


def chat_for(rng: random.Random, actor: Actor, ticket_office: str | None) -> str:
    roll = rng.random()
    if roll < 0.4:
        return actor.user_id                              # private chat
    if roll < 0.75 and ticket_office:
        return OFFICE_GROUPS[ticket_office]               # the ticket's (original) office group
    if roll < 0.93:
        return rng.choice(list(OFFICE_GROUPS.values()))
    return rng.choice(UNKNOWN_GROUPS)


def generate(rng: random.Random, count: int, people: dict[str, list[Actor]], tickets: list[int],
             first_office: dict[int, str], owner: dict[int, str], citizens: list[Actor]) -> list[Case]:
    """Case descriptors; the tokens are issued afterwards in one transaction."""
    kinds = ("citizen", "official", "head", "leader", "admin", "inspector", "revoked", "stranger")
    weights = (8, 30, 14, 12, 4, 4, 8, 6)
    cases: list[Case] = []
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        actor = rng.choice(citizens) if kind == "citizen" else rng.choice(people[kind])
        ticket_id = rng.choice(tickets)
        # Officials mostly see their own office's cards: bias their tickets that way.
        if actor.office and rng.random() < 0.6:
            own = [t for t in rng.sample(tickets, min(40, len(tickets))) if first_office[t] == actor.office]
            ticket_id = own[0] if own else ticket_id
        chat_id = chat_for(rng, actor, first_office[ticket_id])
        token_roll = rng.random()
        if token_roll < 0.12:
            cases.append(Case(actor, chat_id, random_bytes_payload(rng), "garbage", None, None, None))
            continue
        if kind == "citizen" and owner[ticket_id] and rng.random() < 0.5:
            action = rng.choice(CITIZEN_ACTIONS)
            token_chat = owner[ticket_id] if rng.random() < 0.6 else f"telegram:{actor.user_id}"
            cases.append(Case(actor, chat_id if rng.random() < 0.3 else actor.user_id, "", "citizen",
                              ticket_id, action, token_chat))
            continue
        action = rng.choice(OFFICIAL_ACTIONS + CITIZEN_ACTIONS[:1])
        if token_roll < 0.75:
            token_chat, token_kind = f"telegram:{chat_id}", "genuine"
        elif token_roll < 0.88:
            other = rng.choice([*OFFICE_GROUPS.values(), *UNKNOWN_GROUPS, *(p.user_id for p in people["official"])])
            token_chat, token_kind = f"telegram:{other}", "other_chat"
        else:
            ticket_id = rng.choice(tickets)
            token_chat, token_kind = f"telegram:{chat_id}", "other_ticket"
        cases.append(Case(actor, chat_id, "", token_kind, ticket_id, action, token_chat))
    return cases


def issue_tokens(services, cases: list[Case]) -> None:
    now = services.clock.now()
    with write_session(services.engine) as session:
        for case in cases:
            if case.action is not None:
                case.payload = payload_for(session, ticket_id=case.ticket_id, action=case.action,
                                           chat_key=case.token_chat, now=now)


# --- observation ------------------------------------------------------------------------------

TICKET_SQL = sql("SELECT status, office_code, assignee_id, resolve_due, accepted_at, resolved_at, closed_at "
                 "FROM tickets WHERE id = :id")
EVENTS_SQL = sql("SELECT id, ticket_id, actor, action FROM ticket_events WHERE id > :after ORDER BY id")


class Observer:
    """Reads one ticket row and the audit events written since the last look."""

    def __init__(self, engine) -> None:
        self.conn = engine.connect()
        self.last_event = self.conn.execute(sql("SELECT COALESCE(MAX(id), 0) FROM ticket_events")).scalar_one()
        self.conn.rollback()

    def ticket(self, ticket_id: int | None) -> tuple | None:
        if ticket_id is None:
            return None
        row = self.conn.execute(TICKET_SQL, {"id": ticket_id}).first()
        self.conn.rollback()                               # a fresh snapshot every time (PostgreSQL)
        return tuple(row) if row else None

    def new_events(self) -> list[tuple]:
        rows = [tuple(r) for r in self.conn.execute(EVENTS_SQL, {"after": self.last_event})]
        self.conn.rollback()
        if rows:
            self.last_event = rows[-1][0]
        return rows

    def close(self) -> None:
        self.conn.close()


def press(service: Service, case: Case, serial: int) -> str:
    inbound = Inbound(channel=Channel.TELEGRAM, user_id=case.actor.user_id, chat_id=case.chat_id,
                      external_id=f"fp{serial}", payload=case.payload, is_private=not case.chat_id.startswith("-"))
    return service.handle_inbound(inbound).callback_text


def answer(service: Service, case: Case, serial: int) -> None:
    """The text a prompted action waits for (a reply to the bot's prompt, as in a group)."""
    inbound = Inbound(channel=Channel.TELEGRAM, user_id=case.actor.user_id, chat_id=case.chat_id,
                      external_id=f"fa{serial}", text=TEXT, is_private=not case.chat_id.startswith("-"),
                      reply_to_bot=True)
    service.handle_inbound(inbound)


def run_cases(service: Service, services, count: int) -> dict:
    rng = random.Random(SEED)
    engine = services.engine
    started = time.perf_counter()
    people = seed_people(engine, services.clock.now())
    tickets, owner, citizens = seed_tickets(services, rng, max(270, count // 25))
    observer = Observer(engine)
    first_office = {t: observer.ticket(t)[1] for t in tickets}
    cases = generate(rng, count, people, tickets, first_office, owner, citizens)
    issue_tokens(services, cases)
    setup_seconds = time.perf_counter() - started
    observer.new_events()
    outcomes: collections.Counter = collections.Counter()
    by_kind: collections.Counter = collections.Counter()
    failures: list[str] = []
    started = time.perf_counter()
    for serial, case in enumerate(cases):
        if serial and serial % 10_000 == 0:                # long runs say how far they are (outside capture)
            print(f"forged payloads: {serial} cases, {time.perf_counter() - started:.0f} s, {dict(outcomes)}, "
                  f"{len(failures)} failures", file=sys.__stderr__, flush=True)
        before = observer.ticket(case.ticket_id)
        status, office = (before[0], before[1]) if before else (None, None)
        expected = oracle(case, status=status, office=office)
        label = (f"#{serial} {case.actor.kind}:{case.actor.office} chat={case.chat_id} token={case.token_kind} "
                 f"action={case.action} ticket={case.ticket_id} status={status} office={office} "
                 f"expected={expected}")
        try:
            toast = press(service, case, serial)
            if expected == "allowed" and case.action not in ("accept",) + CITIZEN_ACTIONS:
                answer(service, case, serial)
        except Exception as exc:                           # an unhandled error is a finding, not a crash
            failures.append(f"{label}: raised {type(exc).__name__}: {exc}")
            observer.new_events()
            continue
        after = observer.ticket(case.ticket_id)
        events = observer.new_events()
        denied = [e for e in events if e[3] == "denied"]
        changes = [e for e in events if e[3] != "denied"]
        outcomes[expected] += 1
        by_kind[(case.token_kind, expected)] += 1
        if expected == "refused":
            if after != before or changes:
                failures.append(f"{label}: UNAUTHORISED CHANGE {before} -> {after} {changes}")
            # In an unregistered group the bot reads no token: the refusal is audited without a ticket.
            audited_ticket = case.ticket_id if before and case.chat_id not in UNKNOWN_GROUPS else None
            if len(denied) != 1 or denied[0][1] != audited_ticket:
                failures.append(f"{label}: refusal audited {len(denied)} times {denied}")
            elif case.actor.kind not in ("citizen",) and toast and toast != DENIED:
                failures.append(f"{label}: toast {toast!r}")
        elif expected == "own":
            if denied or any(e[1] != case.ticket_id or e[2] != "citizen:telegram" for e in changes):
                failures.append(f"{label}: {events}")
        elif expected in ("ignored", "stale"):
            if after != before or changes or denied:
                failures.append(f"{label}: changed or denied {before} -> {after} {events}")
        else:
            actor = f"official:{case.actor.official_id}" if case.actor.official_id else "citizen:telegram"
            if denied:
                failures.append(f"{label}: allowed action denied {denied}")
            elif after == before and not changes:
                if not (case.action == "request_info" and not owner.get(case.ticket_id)) and \
                        case.action != "extend":      # no contact / legal maximum reached: told, not done
                    failures.append(f"{label}: allowed action did nothing")
            elif any(e[1] != case.ticket_id or e[2] != actor for e in changes):
                failures.append(f"{label}: change by someone else {changes}")
    observer.close()
    seconds = time.perf_counter() - started
    return {"cases": len(cases), "outcomes": dict(outcomes), "by_kind": {f"{k}/{e}": n for (k, e), n in
                                                                         sorted(by_kind.items())},
            "failures": failures, "seconds": seconds, "setup_seconds": setup_seconds, "tickets": len(tickets)}


@pytest.mark.slow
def test_forged_payloads_bulk(engine, clock, tmp_path, database_url, capsys):
    # Flood control would set aside most presses of the few people here; it is tested in test_flood.py.
    config = write_config(tmp_path, lambda raw: raw["intake"].update(messages_per_minute=10**6))
    settings = load_settings(config, environ={"DATABASE_URL": database_url})
    services = build_services(settings, clock=clock, engine=engine, migrate=False)
    result = run_cases(Service(services), services, CASES)
    with capsys.disabled():
        print(f"\nforged payloads on {services.engine.dialect.name}: {result['cases']} cases over "
              f"{result['tickets']} tickets in {result['seconds']:.1f} s (+{result['setup_seconds']:.1f} s setup), "
              f"{result['cases'] / result['seconds']:.0f} cases/s; outcomes {result['outcomes']}; "
              f"failures {len(result['failures'])}")
        for line in result["failures"][:int(os.environ.get("DANVAN_STRESS_SHOW", "40"))]:
            print("  ", line)
    assert not result["failures"], f"{len(result['failures'])} failures, first: {result['failures'][:5]}"
    assert result["outcomes"].get("refused", 0) > result["cases"] // 3
    assert result["outcomes"].get("allowed", 0) > result["cases"] // 50
