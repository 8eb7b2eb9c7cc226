"""The weekly plan in chat is cut at `schedule.weekly_plan_max_lines` per list; the complete plan
goes with it as an .xlsx sheet holding every line (a backlog at scale was dozens of messages)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from openpyxl import load_workbook
from sqlmodel import Session, select

from bot.jobs import weekly_plan
from bot.jobs.registry import run_due_jobs
from bot.core.render import html_to_plain
from storage.engine import write_session
from storage.models import Office, OutboxMessage
from testkit.data_factory import add_official, add_ticket

RECEIVED = datetime(2026, 10, 5, 2, 0, tzinfo=timezone.utc)          # long overdue by the plan's Monday
MONDAY_0710 = datetime(2026, 11, 30, 0, 10, tzinfo=timezone.utc)     # Monday 07:10 in Hà Nội


def _payloads(engine, chat_id: str) -> list[dict]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)).all()
    return [json.loads(r.payload) for r in rows]


def _sheet_codes(path: str) -> list[str]:
    sheet = load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][3] == "Mã hồ sơ"
    return [r[3] for r in rows[2:]]


def test_a_long_plan_is_cut_in_chat_and_attached_in_full(services, engine, tmp_path):
    settings = services.settings
    limit = settings.schedule.weekly_plan_max_lines
    with write_session(engine) as session:
        add_official(session, role="leader", user_id="9501", now=RECEIVED)
        big = [add_ticket(session, settings, services.calendar, now=RECEIVED, category="ha_tang")
               for _ in range(limit + 15)]
        small = [add_ticket(session, settings, services.calendar, now=RECEIVED, category="an_sinh")
                 for _ in range(2)]
        big_office, small_office = big[0].office_code, small[0].office_code
        assert big_office != small_office
        big_codes, small_codes = [t.code for t in big], [t.code for t in small]
        session.get(Office, big_office).telegram_chat_id = "-1009001"
        session.get(Office, small_office).telegram_chat_id = "-1009002"

    run_due_jobs(engine, MONDAY_0710, settings=settings, texts=services.texts, calendar=services.calendar,
                 jobs=[("weekly_plan", weekly_plan.run_due)])

    (big_plan,) = _payloads(engine, "-1009001")
    text = html_to_plain(big_plan["text"])
    listed = [c for c in big_codes if c in text]
    assert len(listed) == limit                                  # overdue list cut at the limit...
    assert "… và 15 hồ sơ quá hạn khác (xem tệp đính kèm)" in text
    assert "chưa thụ lý khác" not in text                       # each ticket once: overdue wins
    (sheet,) = big_plan["attachments"]
    assert sheet["kind"] == "document" and sheet["name"].endswith(".xlsx")
    codes = _sheet_codes(sheet["path"])
    assert sorted(codes) == sorted(big_codes)                    # ...and every ticket, once

    (small_plan,) = _payloads(engine, "-1009002")                # a short plan: whole in chat, no file
    assert not small_plan.get("attachments")
    assert all(c in small_plan["text"] for c in small_codes) and "tệp đính kèm" not in small_plan["text"]

    (leaders,) = _payloads(engine, "9501")                       # the leaders' plan cuts at 15 per office
    leader_text = html_to_plain(leaders["text"])
    assert f"… và {len(big_codes) - weekly_plan.CONSOLIDATED_OVERDUE_LINES} hồ sơ quá hạn khác (xem tệp đính kèm)" \
        in leader_text
    assert sorted(_sheet_codes(leaders["attachments"][0]["path"])) == sorted(big_codes + small_codes)


def test_the_cli_plan_prints_every_line(services, engine):
    from bot.jobs.weekly_plan import build_plan, render_plan
    from datetime import date

    with write_session(engine) as session:
        codes = [add_ticket(session, services.settings, services.calendar, now=RECEIVED, category="ha_tang").code
                 for _ in range(services.settings.schedule.weekly_plan_max_lines + 5)]
    with Session(engine) as session:
        plans = build_plan(session, services.settings, monday=date(2026, 11, 30))
    text = render_plan(services.texts, plans, monday=date(2026, 11, 30), consolidated=False)
    assert all(c in text for c in codes) and "khác" not in text
