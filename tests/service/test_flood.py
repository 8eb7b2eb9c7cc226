"""Flood control: one person sending thousands of messages gets one warning per window, files at most
the configured number of tickets, and is not allowed to cost everyone else their answers."""

from __future__ import annotations

from sqlmodel import Session, func, select

from bot.core.domain import Channel
from bot.service.flood import FloodGuard, Verdict
from storage.models import OutboxMessage, Ticket
from testkit.drivers import CoreChat
from testkit.intake_steps import ROAD, intake_until_contact


def test_guard_counts_per_window():
    guard = FloodGuard(per_minute=3, window=60)
    verdicts = [guard.check("telegram", "u", now=t) for t in (0, 1, 2, 3, 4, 5)]
    assert verdicts == [Verdict.OK] * 3 + [Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert guard.check("telegram", "other", now=5) is Verdict.OK
    assert guard.check("telegram", "u", now=61) is Verdict.OK          # the window moved on


def test_flooder_gets_one_warning_and_others_are_served(service, services):
    flooder = CoreChat(service, user_id="6666", channel=Channel.TELEGRAM)
    flooder.send("/start")
    flooder.press("Đồng ý")
    for n in range(300):
        flooder.send(f"spam {n}")
    texts = flooder.text_of(flooder.history)
    assert texts.count("quá nhanh") == 1
    with Session(services.engine) as session:
        rows = session.exec(select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.chat_id == "6666")).one()
    assert rows <= services.settings.intake.messages_per_minute + 2
    normal = CoreChat(service, user_id="7777", channel=Channel.TELEGRAM)
    assert "đồng ý" in normal.text_of(normal.send("/start")).lower()


def test_ticket_cap_per_day(service, services):
    chat = CoreChat(service, user_id="5151", channel=Channel.TELEGRAM)
    service.flood.per_minute = 10_000               # this test is about the daily cap, not the rate
    cap = services.settings.intake.max_tickets_per_day
    for _ in range(cap + 1):
        intake_until_contact(chat, type_label="Phản ánh", description=ROAD)
        chat.press("Không để lại")
        last = chat.text_of(chat.press("Gửi đơn"))
        if any("Không" in label for label, _ in chat.last_buttons()) and "thông báo" in last:
            chat.press("Không, cảm ơn")
    assert "số đơn tối đa" in last
    with Session(services.engine) as session:
        assert session.exec(select(func.count()).select_from(Ticket)).one() == cap


def test_screened_events_are_counted_once(service, services):
    """The webhook screens floods on its event loop and passes the verdict on: one count per message."""
    from bot.core.domain import Inbound
    from bot.service.flood import Verdict

    service.flood.per_minute = 3

    def inbound(n: int) -> Inbound:
        return Inbound(channel=Channel.TELEGRAM, user_id="4242", chat_id="4242", external_id=f"s{n}", text="/start")

    service.handle_inbound(inbound(0))             # loads the officials cache (screen needs it fresh)
    verdicts = []
    for n in range(1, 5):
        verdict = service.screen(inbound(n))
        verdicts.append(verdict)
        if verdict is not Verdict.DROP:
            service.handle_inbound(inbound(n), verdict=verdict)
    assert verdicts == [Verdict.OK, Verdict.OK, Verdict.WARN, Verdict.DROP]
    officials_group = Inbound(channel=Channel.TELEGRAM, user_id="4242", chat_id="-100", is_private=False, text="x")
    assert service.screen(officials_group) is Verdict.OK      # groups are never throttled
