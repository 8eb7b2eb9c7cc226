"""The digest's chart and the weekly plan's spreadsheet are drawn before the scan's write transaction:
while matplotlib and openpyxl write their files, another writer can still write to the database.
(Before, both were rendered inside the transaction: on SQLite every other writer waited.)"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
from matplotlib.figure import Figure
from openpyxl import Workbook

from bot.jobs import digest, weekly_plan
from bot.jobs.registry import run_due_jobs
from storage.engine import write_session
from testkit.config import PG_URL
from testkit.data_factory import add_official, add_ticket

RECEIVED = datetime(2026, 10, 5, 2, 0, tzinfo=timezone.utc)
MONDAY_0800 = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)       # after both Monday slots, Hà Nội time


@pytest.mark.skipif(bool(PG_URL), reason="the write lock held for a whole transaction is SQLite's")
def test_chart_and_sheet_are_rendered_while_other_writers_can_write(services, engine, database_url, monkeypatch):
    settings = services.settings
    with write_session(engine) as session:
        add_official(session, role="leader", user_id="9601", now=RECEIVED)
        for _ in range(settings.schedule.weekly_plan_max_lines + 3):
            add_ticket(session, settings, services.calendar, now=RECEIVED, category="ha_tang")
        add_ticket(session, settings, services.calendar, now=datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc),
                   category="ha_tang")
    path = database_url.removeprefix("sqlite:///")
    seen: list[tuple[str, bool]] = []

    def another_writer_can_write() -> bool:
        probe = sqlite3.connect(path, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()

    real_savefig, real_save = Figure.savefig, Workbook.save

    def savefig(self, *args, **kwargs):
        seen.append(("chart", another_writer_can_write()))
        return real_savefig(self, *args, **kwargs)

    def save(self, *args, **kwargs):
        seen.append(("sheet", another_writer_can_write()))
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)       # third-party methods observed, not replaced
    monkeypatch.setattr(Workbook, "save", save)
    result = run_due_jobs(engine, MONDAY_0800, settings=settings, texts=services.texts, calendar=services.calendar,
                          jobs=[("weekly_plan", weekly_plan.run_due), ("digest", digest.run_due)])
    assert result.counts["digest"] >= 1 and result.counts["weekly_plan"] >= 1
    kinds = {kind for kind, _ in seen}
    assert kinds == {"chart", "sheet"}
    assert all(free for _, free in seen), seen
