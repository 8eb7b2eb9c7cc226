"""The weekly digest and plan on 10,000 generated tickets: every number equals a recount straight
from the database; the chart is a real PNG with Vietnamese labels; the CLI writes both."""

from __future__ import annotations

import struct
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.main.cli import main
from bot.jobs.digest import build_digest, office_names, render_digest, write_chart
from bot.core.render import html_to_plain
from bot.jobs.weekly_plan import build_plan, render_plan
from testkit.data_factory import generate_tickets

WEEK = date(2026, 6, 8)          # ISO 2026-W24, a Monday
NOW = datetime(2026, 6, 15, 0, 30, tzinfo=timezone.utc)   # Monday 07:30 local, the week after


@pytest.fixture
def dataset(services):
    count = generate_tickets(services.engine, services.settings, services.calendar, count=10_000,
                             start=date(2026, 3, 1), days=120, now=NOW)
    assert count == 10_000
    return services


def as_utc(value) -> datetime:  # noqa: ANN001 - SQLite answers text, PostgreSQL datetimes
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def recount(engine, settings, monday: date) -> dict:
    """The same numbers with plain SQL and Python, written independently of bot/digest.py."""
    tz = settings.commune.tz
    start = datetime.combine(monday, time(0), tzinfo=tz).astimezone(timezone.utc)
    end = start + timedelta(days=7)
    with engine.connect() as conn:
        received = conn.execute(text(
            "SELECT type, category, hamlet, office_code, channel FROM tickets "
            "WHERE received_date BETWEEN :a AND :b"), {"a": monday, "b": monday + timedelta(days=6)}).all()
        resolved = conn.execute(text("SELECT received_at, resolved_at, resolve_due FROM tickets "
                                     "WHERE resolved_at IS NOT NULL AND status IN ('resolved', 'closed')")).all()
    done = []
    for rec, res, due in resolved:
        res, rec = as_utc(res), as_utc(rec)
        due = due if isinstance(due, date) else date.fromisoformat(due)
        if start <= res < end:
            done.append((rec, res, due))
    on_time = sum(1 for _, res, due in done if res.astimezone(tz).date() <= due)
    return {"received": len(received), "by_type": Counter(r[0] for r in received),
            "by_category": Counter(r[1] for r in received), "by_hamlet": Counter(r[2] for r in received),
            "by_office": Counter(r[3] for r in received), "by_channel": Counter(r[4] for r in received),
            "resolved": len(done), "on_time": on_time,
            "avg_days": sum((res - rec).total_seconds() for rec, res, _ in done) / 86400 / len(done)}


def test_digest_and_plan_numbers_equal_a_recount(dataset, tmp_path):
    services = dataset
    settings = services.settings
    with Session(services.engine) as session:
        digest = build_digest(session, settings, monday=WEEK, now=NOW)
        names = office_names(session)
        body = html_to_plain(render_digest(services.texts, settings, digest, office_names=names))
    expected = recount(services.engine, settings, WEEK)
    w = digest.week
    assert w.received == expected["received"] > 400
    assert w.by_type == expected["by_type"] and w.by_category == expected["by_category"]
    assert w.by_hamlet == expected["by_hamlet"] and w.by_office == expected["by_office"]
    assert w.by_channel == expected["by_channel"]
    assert w.resolved == expected["resolved"] > 100 and w.resolved_on_time == expected["on_time"]
    assert 0 < w.resolved_on_time < w.resolved                   # both branches occur in the data
    assert w.avg_handling_days == pytest.approx(expected["avg_days"])
    previous = recount(services.engine, settings, WEEK - timedelta(days=7))
    assert digest.previous.received == previous["received"]
    # The text shows the same numbers, the change from last week and the target.
    assert f"Tiếp nhận: {expected['received']} đơn" in body
    assert f"Giải quyết: {expected['resolved']} đơn" in body
    diff = expected["received"] - previous["received"]
    assert ("(không đổi)" if diff == 0 else f"{'+' if diff > 0 else '−'}{abs(diff)} so với tuần trước") in body
    assert "chỉ tiêu 95,0%" in body
    rate = f"{expected['on_time'] / expected['resolved'] * 100:.1f}".replace(".", ",")
    assert f"Đúng hạn: {rate}%" in body
    late = recount_overdue(services.engine, WEEK + timedelta(days=7))
    assert digest.overdue_total == len(late) > 20
    assert [(i.code, i.step, i.days_late) for i in digest.overdue] == late[:20]
    assert f"Quá hạn: {len(late)} hồ sơ" in body
    check_escalation_lists(services, WEEK + timedelta(days=7))
    check_plan_numbers(services)          # same data set: generated once
    png = write_chart(settings, digest, tmp_path / "chart.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 400


def recount_overdue(engine, today: date) -> list[tuple[str, str, int]]:  # noqa: ANN001
    """(code, step name, days late) of every open ticket with a passed running deadline, the most
    late first: the earliest passed deadline counts, ties to the earlier step (plain SQL + Python)."""
    conv = lambda d: d if d is None or isinstance(d, date) else date.fromisoformat(d)  # noqa: E731
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT code, status, answer_due, accept_due, resolve_due, accepted_at FROM tickets "
            "WHERE status IN ('received','accepted','in_progress','waiting_citizen','reopened','transferred',"
            "'mediation')")).all()
    found = []
    for code, status, answer, accept, resolve, accepted_at in rows:
        running = []
        if status == "received":
            running.append(("trả lời", conv(answer)))
            if accept is not None and accepted_at is None:
                running.append(("thụ lý", conv(accept)))
        running.append(("giải quyết", conv(resolve)))
        step, due = min(running, key=lambda s: s[1])
        if due < today:
            found.append((code, step, (today - due).days))
    return sorted(found, key=lambda f: (-f[2], f[0]))


def check_escalation_lists(services, today: date) -> None:  # noqa: ANN001
    """Per office: the SQL count, longest delay and first 60 equal the recount."""
    from bot.jobs.overdue import most_late, overdue_by_office, overdue_counts, overdue_tickets

    late = recount_overdue(services.engine, today)
    with Session(services.engine) as session:
        counts = overdue_counts(session, today)
        lists = overdue_by_office(session, services.settings, today, limit=60)
        assert [(i.code, i.step, i.days_late) for i in most_late(lists, 60)] == late[:60]
        assert [(i.code, i.step, i.days_late) for i in most_late(lists, 60)] == [
            (i.code, i.step, i.days_late) for i in overdue_tickets(session, services.settings, today, limit=60)]
        office_of = dict(session.execute(text("SELECT code, office_code FROM tickets")).all())
        assert sum(c.count for c in counts.values()) == len(late)
        for office, found in counts.items():
            mine = [item for item in late if office_of[item[0]] == office]
            assert found.count == len(mine) and found.max_late == mine[0][2]
            listed = overdue_tickets(session, services.settings, today, office=office, limit=60)
            assert [(i.code, i.step, i.days_late) for i in listed] == mine[:60]
            assert lists[office] == listed
        assert set(lists) == set(counts)
    assert {step for _, step, _ in late} == {"trả lời", "thụ lý", "giải quyết"}   # every branch occurs


def check_plan_numbers(services) -> None:  # noqa: ANN001
    settings = services.settings
    monday = WEEK + timedelta(days=7)
    with Session(services.engine) as session:
        plans = build_plan(session, settings, monday=monday)
    open_statuses = ("received", "accepted", "in_progress", "waiting_citizen", "reopened", "transferred", "mediation")
    with services.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT office_code, status, answer_due, accept_due, resolve_due, accepted_at FROM tickets "
            "WHERE status IN ('received','accepted','in_progress','waiting_citizen','reopened','transferred',"
            "'mediation')")).all()
    overdue, due, not_accepted = Counter(), Counter(), Counter()
    sunday = monday + timedelta(days=6)
    for office, status, answer, accept, resolve, accepted_at in rows:
        assert status in open_statuses
        conv = lambda d: d if d is None or isinstance(d, date) else date.fromisoformat(d)  # noqa: E731
        answer, accept, resolve = conv(answer), conv(accept), conv(resolve)
        running = [resolve]
        if status == "received":
            running.append(answer)
            if accept is not None and accepted_at is None:
                running.append(accept)
        if any(d < monday for d in running):
            overdue[office] += 1
        elif any(monday <= d <= sunday for d in running):
            due[office] += 1
        elif status in ("received", "transferred"):       # each ticket once, in its most urgent list
            not_accepted[office] += 1
    for plan in plans:
        assert len(plan.overdue) == overdue[plan.office_code], plan.office_code
        assert len(plan.due_this_week) == due[plan.office_code], plan.office_code
        assert len(plan.not_accepted) == not_accepted[plan.office_code], plan.office_code
    assert sum(overdue.values()) > 0 and sum(due.values()) > 0
    listed = [code for plan in plans for code in plan.codes]
    assert len(listed) == len(set(listed)) == len(rows)
    text_ = html_to_plain(render_plan(services.texts, [p for p in plans if p.office_code == "KT"], monday=monday,
                                      consolidated=False))
    assert "Kế hoạch giải quyết đơn thư tuần 25/2026" in text_
    assert f"Quá hạn ({overdue['KT']})" in text_


def test_cli_plan_and_digest(tmp_path, settings, services, capsys, monkeypatch):
    from testkit.config import write_config
    from testkit.data_factory import add_ticket
    from storage.engine import write_session

    with write_session(services.engine) as session:
        add_ticket(session, settings, services.calendar, now=datetime(2026, 6, 9, 3, 0, tzinfo=timezone.utc),
                   hamlet=settings.hamlets[1])
    config = write_config(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["--config", str(config), "plan", "--week", "2026-W24", "--office", "KT"]) == 0
    out = capsys.readouterr().out
    assert "Kế hoạch giải quyết đơn thư tuần 24/2026" in out and "XG-2026-000001" in out
    assert main(["--config", str(config), "digest", "--week", "2026-W24", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "Tiếp nhận: 1 đơn" in out
    assert (tmp_path / "out" / "digest-2026-W24.png").read_bytes()[:4] == b"\x89PNG"
    assert "Hạ tầng" in (tmp_path / "out" / "digest-2026-W24.txt").read_text(encoding="utf-8")
    assert main(["--config", str(config), "hotspots", "--days", "14"]) == 0


WARMUP_SCRIPT = """
import sys
from datetime import datetime, timezone
from bot.main.composition import build_services
from bot.core.clock import FixedClock
from bot.config.settings import load_settings
from bot.jobs import digest
from bot.jobs.registry import run_due_jobs

settings = load_settings(sys.argv[1], environ={"DATABASE_URL": sys.argv[2]})
services = build_services(settings, clock=FixedClock(datetime(2026, 6, 15, tzinfo=timezone.utc)), migrate=False)
def scan(at):
    run_due_jobs(services.engine, at, settings=settings, texts=services.texts, calendar=services.calendar,
                 jobs=[("digest", digest.run_due)], memory={})
    return "matplotlib.pyplot" in sys.modules
# Tuesday 07:10 (not the digest's day) and Monday 06:20 (quiet hours): nothing loaded.
print(scan(datetime(2026, 6, 9, 0, 10, tzinfo=timezone.utc)),
      scan(datetime(2026, 6, 14, 23, 20, tzinfo=timezone.utc)))
# Monday 07:10, twenty minutes before the 07:30 slot: loaded by a background thread.
import threading
scan(datetime(2026, 6, 15, 0, 10, tzinfo=timezone.utc))
for warmup in [t for t in threading.enumerate() if t.name == digest.WARMUP_THREAD]:
    warmup.join(60)        # (it may already have finished)
print("matplotlib.pyplot" in sys.modules, digest.WARMUP_THREAD)
"""


def test_the_scans_before_the_digest_slot_load_the_chart_library(tmp_path, engine, database_url):
    """In a fresh process, matplotlib is loaded by the scans in the hour before the digest's slot, in a
    background thread, and not by scans on other days: the digest job itself only draws."""
    import subprocess
    import sys

    from testkit.config import ROOT, write_config

    config = write_config(tmp_path)
    proc = subprocess.run([sys.executable, "-c", WARMUP_SCRIPT, str(config), database_url], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    before, warmed = proc.stdout.strip().splitlines()[-2:]
    assert before == "False False"
    assert warmed == "True digest-chart-warmup"
