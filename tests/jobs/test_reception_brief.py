"""The reception brief lists the most pressing cases first (mass, reopened, longest overdue) and
counts what it leaves out, so a large backlog is one short message, not thousands of lines."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlmodel import Session, select

from bot.jobs import reception
from bot.jobs.registry import run_due_jobs
from bot.core.render import html_to_plain
from storage.engine import write_session
from storage.models import OutboxMessage
from testkit.data_factory import add_official, add_ticket

OLD = datetime(2026, 10, 5, 2, 0, tzinfo=timezone.utc)             # overdue by late November
RECENT = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
BRIEF_TIME = datetime(2026, 12, 2, 7, 30, tzinfo=timezone.utc)     # Wednesday 14:30, the day before Thursday


def test_the_brief_puts_mass_cases_first_and_counts_the_rest(services, engine):
    settings = services.settings
    limit = settings.schedule.reception.max_cases
    with write_session(engine) as session:
        add_official(session, role="leader", user_id="9601", now=OLD)
        overdue = [add_ticket(session, settings, services.calendar, now=OLD).code for _ in range(limit + 7)]
        mass = add_ticket(session, settings, services.calendar, now=RECENT,
                          cosigners=settings.hotspots.cosigners + 4).code
    run_due_jobs(engine, BRIEF_TIME, settings=settings, texts=services.texts, calendar=services.calendar,
                 jobs=[("reception", reception.run_due)])
    with Session(engine) as session:
        (row,) = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == "9601")).all()
    text = html_to_plain(json.loads(row.payload)["text"])
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert len(lines) == limit
    assert mass in lines[0] and f"đơn đông người ({settings.hotspots.cosigners + 4} người ký)" in lines[0]
    assert "quá hạn" in lines[1] and "ngày" in lines[1]
    assert f"Các vụ việc cần lưu ý ({len(overdue) + 1})" in text
    assert f"… và {len(overdue) + 1 - limit} vụ việc khác" in text
    assert sum(code in text for code in overdue) == limit - 1
