"""Ten officials press Tiếp nhận on the same ticket at the same moment, 100 times: exactly one
assignee each time, the nine others are told who won (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import pytest

import threading
from datetime import datetime, timezone

from sqlmodel import Session, select

from bot.tickets.tokens import payload_for
from bot.core.domain import Channel, Inbound
from bot.service.transactions import Service
from storage.engine import write_session
from storage.models import Official, Ticket, TicketEvent
from testkit.office_tickets import add_ticket

TRIALS = 100
PRESSERS = 10
KT_GROUP = "-1002"


@pytest.mark.slow
def test_ten_simultaneous_accepts_have_one_winner(service: Service, services):
    engine = services.engine
    with Session(engine) as session:
        for i in range(PRESSERS):
            session.add(Official(channel="telegram", user_id=str(6000 + i), role="official", office_code="KT",
                                 display_name=f"Cán bộ {i}", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc)))
        session.commit()
    trials = []
    with write_session(engine) as session:
        for _ in range(TRIALS):
            ticket = add_ticket(session, services, accepted=False)
            trials.append((ticket.id, payload_for(session, ticket_id=ticket.id, action="accept",
                                                  chat_key=f"telegram:{KT_GROUP}", now=services.clock.now())))
    for trial, (ticket_id, payload) in enumerate(trials):
        barrier = threading.Barrier(PRESSERS)
        results: list = [None] * PRESSERS
        errors: list[BaseException] = []

        def press(i: int) -> None:
            inbound = Inbound(channel=Channel.TELEGRAM, user_id=str(6000 + i), chat_id=KT_GROUP,
                              external_id=f"acc-{trial}-{i}", payload=payload, is_private=False)
            barrier.wait()
            try:
                results[i] = service.handle_inbound(inbound)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=press, args=(i,)) for i in range(PRESSERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        with Session(engine) as session:
            ticket = session.get(Ticket, ticket_id)
            accepted = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                                              TicketEvent.action == "accepted")).all()
            winner = session.get(Official, ticket.assignee_id)
        assert ticket.status == "accepted" and len(accepted) == 1, trial
        told = [r.callback_text for r in results if r is not None and "Đã tiếp nhận" not in r.callback_text]
        assert len(told) == PRESSERS - 1 and all(winner.display_name in text for text in told), told
