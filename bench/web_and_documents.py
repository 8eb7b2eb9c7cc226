"""How long the public page, the report and the register take with a commune's year of petitions.

Run: .venv/bin/python bench/web_and_documents.py [N]   (default N = 5000 tickets, SQLite file in /tmp)
Prints medians of 3 runs. Tickets are created through the real core (create_ticket, change_status).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.main.composition import build_services  # noqa: E402
from bot.core.clock import FixedClock  # noqa: E402
from bot.config.settings import load_settings  # noqa: E402
from bot.core.domain import TicketStatus as S  # noqa: E402
from bot.interop.public_stats import build_public_page  # noqa: E402
from bot.documents.register_xlsx import build_register  # noqa: E402
from bot.documents.report_docx import build_report_docx  # noqa: E402
from bot.documents.statistics import build_report, report_period  # noqa: E402
from bot.tickets.records import Draft, change_status, create_ticket  # noqa: E402
from storage.engine import read_session, write_session  # noqa: E402
from bench.report import add_row  # noqa: E402

TYPES = ["phan_anh"] * 6 + ["kien_nghi"] * 3 + ["gop_y", "khieu_nai", "to_cao"]


def seed(services, count: int) -> None:
    rng = random.Random(7)
    settings = services.settings
    start = datetime(2026, 1, 2, 2, tzinfo=timezone.utc)
    with write_session(services.engine) as session:
        for n in range(count):
            received = start + timedelta(minutes=rng.randrange(0, 300 * 24 * 60))
            draft = Draft(type=rng.choice(TYPES), description="Đường liên thôn bị sạt lở, xe máy không đi được",
                          category=rng.choice(settings.categories).code, hamlet=rng.choice(settings.hamlets),
                          contact_mode="manual", contact_name="Nguyễn Văn A", contact_phone="0912345678",
                          cosigners=rng.choice([1] * 20 + [6]))
            ticket = create_ticket(session, settings=settings, calendar=services.calendar, draft=draft,
                                   channel="telegram", citizen_id=None, now=received).ticket
            if rng.random() < 0.8:
                change_status(session, ticket, S.ACCEPTED, actor="bench", action="accepted",
                              now=received + timedelta(days=1))
                if rng.random() < 0.8:
                    change_status(session, ticket, S.RESOLVED, actor="bench", action="resolved",
                                  now=received + timedelta(days=rng.randrange(2, 30)), note="Đã giải quyết xong.")
            if n % 500 == 499:
                session.flush()


def median_seconds(action, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    folder = Path(tempfile.mkdtemp(prefix="danvan-bench-"))
    settings = load_settings(Path(__file__).resolve().parents[1] / "config.yaml",
                             environ={"DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}"})
    services = build_services(settings, clock=FixedClock(datetime(2026, 11, 26, 2, tzinfo=timezone.utc)))
    started = time.perf_counter()
    seed(services, count)
    print(f"seeded {count} tickets in {time.perf_counter() - started:.1f}s")
    today = date(2026, 11, 26)

    def public() -> None:
        with read_session(services.engine) as session:
            build_public_page(session, settings, today=today)

    def report() -> None:
        with read_session(services.engine) as session:
            data = build_report(session, settings, report_period("year", 2026, today=today))
        build_report_docx(data, settings=settings, texts=services.texts, today=today).save(str(folder / "bc.docx"))

    def register() -> None:
        with read_session(services.engine) as session:
            build_register(session, settings, services.texts, date(2026, 1, 1), today).save(str(folder / "so.xlsx"))

    for name, action in (("public page data", public), ("annual report .docx", report),
                         ("register .xlsx", register)):
        seconds = median_seconds(action)
        print(f"{name:22s} {seconds * 1000:8.0f} ms (median of 3, {count} tickets; no floor: absolute time)")
        add_row(f"web_and_documents ({count:,} tickets)", name, seconds * 1000, unit="ms",
                goal="tell what a user can expect; stream")


if __name__ == "__main__":
    main()
