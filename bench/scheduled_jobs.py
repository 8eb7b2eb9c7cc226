"""Benchmark: generate N tickets, then time the first (catch-up) scan, a steady-state scan, the
weekly digest (numbers + chart) and the weekly plan. Usage: python bench/scheduled_jobs.py [N]"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session  # noqa: E402

from bot.main.composition import build_services  # noqa: E402
from bot.core.clock import FixedClock  # noqa: E402
from bot.config.settings import load_settings  # noqa: E402
from bot.jobs.digest import build_digest, write_chart  # noqa: E402
from bot.jobs.registry import run_due_jobs  # noqa: E402
from bot.jobs.weekly_plan import build_plan  # noqa: E402
from storage.engine import make_engine, write_session  # noqa: E402
from storage.migrate import upgrade_database  # noqa: E402
from testkit.config import write_config  # noqa: E402
from testkit.data_factory import add_official, generate_tickets  # noqa: E402
from bench.report import add_row  # noqa: E402


def timed(fn, runs: int = 3) -> float:
    values = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        values.append(time.perf_counter() - start)
    return statistics.median(values)


def main(count: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    settings = load_settings(write_config(tmp, lambda r: r["schedule"].update(digest_dir=str(tmp / "d"))),
                             environ={"DATABASE_URL": url})
    engine = make_engine(url)
    upgrade_database(engine)
    now = datetime(2026, 6, 15, 1, 0, tzinfo=timezone.utc)       # Monday 08:00 local
    services = build_services(settings, clock=FixedClock(now), engine=engine, migrate=False)
    start = time.perf_counter()
    generate_tickets(engine, settings, services.calendar, count=count, start=date(2026, 3, 1), days=105, now=now)
    print(f"generate {count} tickets: {time.perf_counter() - start:.2f} s")
    with write_session(engine) as session:
        add_official(session, role="leader", user_id="1", now=now)
    scan = lambda at, memory: run_due_jobs(engine, at, settings=settings, texts=services.texts,  # noqa: E731
                                           calendar=services.calendar, memory=memory)
    start = time.perf_counter()
    first = scan(now, {})
    first_s = time.perf_counter() - start
    print(f"first scan (catch-up, {first.total} messages): {first_s:.2f} s = {first_s:.2f}x the 1 s limit")
    add_row(f"scheduled_jobs ({count:,} tickets, SQLite)", "first reminder scan of the day", first_s, unit="s",
            floor=1.0, ratio=first_s, goal="< 1 s (at 1M tickets)")
    memory: dict = {}
    scan(now + timedelta(minutes=2), memory)
    steady = timed(lambda: scan(now + timedelta(minutes=4), memory), runs=5)
    cold = timed(lambda: scan(now + timedelta(minutes=6), {}), runs=3)
    print(f"steady scan: {steady * 1000:.1f} ms; scan after a restart (no memory): {cold * 1000:.1f} ms")
    with Session(engine) as session:
        digest_s = timed(lambda: build_digest(session, settings, monday=date(2026, 6, 8), now=now))
        plan_s = timed(lambda: build_plan(session, settings, monday=date(2026, 6, 15)))
        digest = build_digest(session, settings, monday=date(2026, 6, 8), now=now)
    chart_s = timed(lambda: write_chart(settings, digest, tmp / "chart.png"))
    print(f"digest numbers: {digest_s * 1000:.0f} ms; plan: {plan_s * 1000:.0f} ms; chart PNG: {chart_s * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
