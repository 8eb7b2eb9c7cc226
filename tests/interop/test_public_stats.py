"""The public page's figures at scale: computed without reading every ticket, they equal the same
figures computed by reading every ticket received so far with its whole history (the page's former
way, kept here as the oracle), on 3,000 generated tickets over four years with their audit events."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlmodel import Session

from bench.scale import generate
from bot.interop.public_stats import (PublicAnswer, PublicPage, build_public_page, is_public,
                              mask_personal, month_window)
from bot.documents.statistics import RESOLVED, answer_text, build_report, local_day_end, report_period, resolved_day
from storage.reports import status_events, tickets_received_until


def page_reading_everything(session: Session, settings, today: date, answers: int) -> PublicPage:  # noqa: ANN001
    period = report_period("year", today.year, today=today)
    until = local_day_end(settings, today)
    tickets = [t for t in tickets_received_until(session, today) if is_public(settings, t)]
    events = status_events(session, [int(t.id) for t in tickets], until=until)
    report = build_report(session, settings, period, loaded=(tickets, events),
                          ticket_filter=lambda t: is_public(settings, t))
    page = PublicPage(today=today, report=report, months=month_window(today, settings.portal.trend_months))
    by_month = {(m.year, m.month): m for m in page.months}
    resolved = []
    for ticket in tickets:
        if (slot := by_month.get((ticket.received_date.year, ticket.received_date.month))) is not None:
            slot.received += 1
        day = resolved_day(settings, events.get(int(ticket.id), []), until)
        if day is None or ticket.status not in RESOLVED:
            continue
        if (slot := by_month.get((day.year, day.month))) is not None:
            slot.resolved += 1
        resolved.append((day, ticket))
    if settings.portal.publish_answers:
        resolved.sort(key=lambda item: (item[0], item[1].id), reverse=True)
        for day, ticket in resolved:
            if text := answer_text(events.get(int(ticket.id), [])):
                page.answers.append(PublicAnswer(settings.category(ticket.category).name, ticket.hamlet,
                                                 ticket.received_date, day,
                                                 mask_personal(text, names=(ticket.contact_name,))))
            if len(page.answers) >= answers:
                break
    return page


@pytest.fixture
def generated(services):
    rows = generate(services.engine, services.settings, services.calendar, 3000)
    assert rows["tickets"] == 3000 and rows["events"] > 9000
    return services


@pytest.mark.parametrize("today", [date(2026, 6, 16), date(2026, 1, 3), date(2025, 9, 30)])
def test_public_page_equals_reading_every_ticket(generated, today):
    settings = generated.settings
    for publish, months, answers in ((False, 6, 10), (True, 6, 10), (True, 1, 60)):
        # (True, 1, 60): fewer answers in a one-month window than the page shows, so older ones are read.
        object.__setattr__(settings.portal, "publish_answers", publish)
        object.__setattr__(settings.portal, "trend_months", months)
        with Session(generated.engine) as session:
            found = build_public_page(session, settings, today=today, answers=answers)
            expected = page_reading_everything(session, settings, today, answers)
        assert dataclasses.asdict(found) == dataclasses.asdict(expected), (publish, months)
        assert found.report.total > 50 and sum(m.resolved for m in found.months) > 0
        assert len(found.answers) == (answers if publish else 0)
