"""Scale benchmark (issue 7 row 19): 10k / 100k / 1M generated tickets with their history, then the
reminder scan, the weekly plan, the digest (with its chart), the annual and 6-month reports (.docx),
the register (.xlsx) and the public page's figures on SQLite and PostgreSQL; each job runs in a fresh
process so its time and peak RSS (ru_maxrss) are its own.

The digest job's seconds exclude importing matplotlib (chart_import_s), which the bot does in the
hour before the digest's slot (bot.jobs.digest.warm_chart_library).

Run:  .venv/bin/python -m bench.scale [--sizes 10000,100000,1000000] [--engine sqlite|postgresql|both]
          [--keep DIR]     (keep the generated databases and reuse them on the next run: 1M takes 20-30 min)
PostgreSQL database: $DANVAN_SCALE_DB (default danvan_scale); with --keep, one per size: <that name>_<size>.
A kept database is reused: the scan job deletes the rows it wrote, so each run's first scan is a first scan.
Goals at 1M tickets: scan < 1 s, digest < 5 s, peak RSS < 300 MB. Results: bench/results/scale.json.

The data: tickets spread over four years up to "now" (Tuesday 16/06/2026 08:35 local); tickets of
the last 60 days have the live mix of states, older ones are finished but for a 1% backlog of
overdue cases. Each ticket carries its audit events (created, accepted, resolved, closed...),
a card in its office group, two outbox messages already sent (acknowledgement and a status
notice), its hot-spot check mark and the deadline reminders of past days, as in a running
commune; this week's plan and digest were sent on Monday, so the scan at 08:35 writes today's
reminders and the daily escalation (a "first scan of the day"), then the scans every 2 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("DANVAN_DATA_KEY", "dGVzdC1rZXktZm9yLWRhbnZhbi10ZXN0cy0wMTIzNDU2Nzg5")

from bench.harness import RESULTS, ROOT  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = os.environ.get("DANVAN_SCALE_DB", "danvan_scale")


def pg_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
NOW = datetime(2026, 6, 16, 1, 35, tzinfo=timezone.utc)         # Tuesday 08:35 in Hà Nội time
SPAN_DAYS = 4 * 365
LIVE_DAYS = 60
CHUNK = 5000
JOBS = ("plan", "digest", "report_year", "report_6m", "register", "public", "scan")
GOALS = {"scan_s": 1.0, "digest_s": 5.0, "peak_rss_mb": 300.0}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- data ------------------------------------------------------------------------------------------

def _settings(folder: Path, url: str):  # noqa: ANN202
    from bot.config.settings import load_settings
    from testkit.config import write_config

    config = write_config(folder, lambda raw: raw["schedule"].update(digest_dir=str(folder / "digests")))
    return load_settings(config, environ={"DATABASE_URL": url}), config


class Writer:
    """Bulk rows into one table: Core executemany on SQLite, COPY on PostgreSQL (sealed columns
    are sealed here, as their column type would)."""

    def __init__(self, connection, table) -> None:  # noqa: ANN001
        self.connection, self.table = connection, table
        self.pg = connection.dialect.name == "postgresql"
        self.rows: list[dict] = []
        self.count = 0
        from storage.crypto import SealedId, SealedText

        self.binders = {c.name: c.type.process_bind_param for c in table.columns
                        if isinstance(c.type, (SealedText, SealedId))}

    def add(self, **row: Any) -> None:
        self.rows.append(row)

    def flush(self) -> None:
        if not self.rows:
            return
        self.count += len(self.rows)
        if not self.pg:
            self.connection.execute(self.table.insert(), self.rows)
        else:
            names = list(self.rows[0])
            raw = self.connection.connection.driver_connection
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {self.table.name} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row([self.binders[n](row[n], None) if n in self.binders else row[n]
                                        for n in names])
        self.rows = []


def generate(engine, settings, calendar, count: int, *, seed: int = 7) -> dict[str, int]:  # noqa: ANN001, C901
    """Insert `count` tickets with their events, cards, outbox history and sent reminders."""
    from bot.core.deadlines import compute_deadlines
    from bot.jobs.reminders import stages
    from bot.core.routing import route_ticket
    from bot.jobs.context import DueStep
    from bot.config.settings import TICKET_TYPE_CODES
    from storage.models import Official, OutboxMessage, SentReminder, Ticket, TicketCard, TicketEvent
    from testkit.data_factory import PROBLEMS, SUBJECTS

    rng = random.Random(seed)
    tz = settings.commune.tz
    today = NOW.astimezone(tz).date()
    first_day = today - timedelta(days=SPAN_DAYS)
    cats = [c.code for c in settings.categories]
    hamlets = list(settings.hamlets) + [""]
    rules = {t: settings.ticket_type(t).type_rules(settings.deadlines.rule_set) for t in TICKET_TYPE_CODES}
    office_chat = {o.code: o.telegram_chat_id for o in settings.offices}
    due_cache: dict = {}
    route_cache: dict = {}
    ctx = SimpleNamespace(settings=settings, calendar=calendar)
    stage_cache: dict = {}
    from sqlalchemy import text

    with engine.begin() as connection:
        # The officials: a leader, and per office a head and two staff who take tickets.
        staff: dict[str, list[int]] = {}
        uid = 1000
        for table_row in [dict(role="leader", office_code=None, name="Chủ tịch")] + [
                dict(role=r, office_code=o.code, name=f"Cán bộ {o.code} {n}") for o in settings.offices
                for n, r in enumerate(("head", "staff", "staff"))]:
            uid += 1
            result = connection.execute(Official.__table__.insert().values(
                office_code=table_row["office_code"], role=table_row["role"], display_name=table_row["name"],
                channel="telegram", user_id=str(uid), active=True, created_at=NOW - timedelta(days=SPAN_DAYS)))
            if table_row["role"] == "staff":
                staff.setdefault(table_row["office_code"], []).append(int(result.inserted_primary_key[0]))
        tickets = Writer(connection, Ticket.__table__)
        events = Writer(connection, TicketEvent.__table__)
        cards = Writer(connection, TicketCard.__table__)
        outbox = Writer(connection, OutboxMessage.__table__)
        reminders = Writer(connection, SentReminder.__table__)
        ack = json.dumps({"text": "Đã nhận đơn của ông/bà. Mã đơn: {code}. Xã sẽ trả lời trong thời hạn luật định.",
                          "buttons": []}, ensure_ascii=False)
        notice = json.dumps({"text": "Đơn {code} đã được giải quyết: Đã sửa chữa xong, mời ông/bà đánh giá.",
                             "buttons": []}, ensure_ascii=False)
        # Tickets are numbered in time order (ids grow with received_at), as in real life.
        days = sorted(rng.randrange(SPAN_DAYS + 1) for _ in range(count))
        for index, offset in enumerate(days):
            tid = index + 1
            day = first_day + timedelta(days=offset)
            received_at = datetime(day.year, day.month, day.day, rng.randrange(6, 22), rng.randrange(60),
                                   tzinfo=tz).astimezone(timezone.utc)
            if received_at > NOW - timedelta(minutes=5):
                received_at = NOW - timedelta(minutes=rng.randrange(5, 600))
                day = received_at.astimezone(tz).date()
            type_ = rng.choices(TICKET_TYPE_CODES, weights=(50, 25, 10, 10, 5))[0]
            category, hamlet = rng.choice(cats), rng.choice(hamlets)
            office = route_cache.get((type_, category, hamlet))
            if office is None:
                office = route_cache[(type_, category, hamlet)] = route_ticket(
                    settings, ticket_type=type_, category=category, hamlet=hamlet)
            due = due_cache.get((type_, day))
            if due is None:
                due = due_cache[(type_, day)] = compute_deadlines(rules[type_], received=day, calendar=calendar)
            age = (today - day).days
            accepted_at = resolved_at = closed_at = None
            roll = rng.random()
            if age >= LIVE_DAYS:          # old: finished, but for a small overdue backlog
                if roll < 0.93:
                    status = rng.choice(("resolved", "closed", "closed"))
                elif roll < 0.99:
                    status = rng.choice(("transferred", "refused"))
                else:
                    status = rng.choice(("received", "in_progress", "reopened"))
            elif roll < 0.55:
                status = rng.choice(("resolved", "closed"))
            elif roll < 0.75:
                status = rng.choice(("accepted", "in_progress", "reopened", "waiting_citizen"))
            elif roll < 0.80:
                status = rng.choice(("transferred", "refused"))
            else:
                status = "received"
            if status not in ("received", "transferred", "refused"):
                accepted_at = min(received_at + timedelta(hours=rng.uniform(1, 48)), NOW - timedelta(minutes=1))
            if status in ("resolved", "closed"):
                resolved_at = accepted_at + timedelta(hours=rng.uniform(1, 24 * 40))
                if resolved_at >= NOW:
                    status, resolved_at = "in_progress", None
                elif status == "closed":
                    closed_at = min(resolved_at + timedelta(days=7), NOW - timedelta(minutes=1))
            assignee = rng.choice(staff[office]) if accepted_at and office in staff else None
            code = f"{settings.commune.code_prefix}-{day.year}-{tid:07d}"
            trail = [(received_at, "citizen:telegram", "created", None, "received", f"office={office}")]
            if status in ("transferred", "refused"):
                trail.append((received_at + timedelta(days=2), "official", status, "received", status,
                              "Chuyển đơn đến cơ quan có thẩm quyền"))
            if accepted_at:
                trail.append((accepted_at, "official", "accepted", "received", "accepted", ""))
            if status == "in_progress":
                trail.append((accepted_at + timedelta(minutes=30), "official", "started", "accepted",
                              "in_progress", ""))
            if resolved_at:
                trail.append((resolved_at, "official", "resolved", "accepted", "resolved",
                              "Đã sửa chữa xong đoạn đường, bàn giao cho thôn quản lý"))
            if closed_at:
                trail.append((closed_at, "system:surveys", "closed", "resolved", "closed", ""))
            if status == "reopened":
                trail.append((accepted_at + timedelta(hours=1), "citizen", "reopened", "accepted", "reopened", ""))
            # Every status change sets updated_at (the reports skip finished tickets by it).
            last = min(max(at for at, *_ in trail), NOW)
            tickets.add(id=tid, code=code, pin_hash="x" * 64, type=type_, category=category, hamlet=hamlet,
                        office_code=office, status=status, channel=rng.choice(("telegram", "telegram", "zalo", "web")),
                        description=f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(PROBLEMS)}, đề nghị xã xem xét "
                                    f"giải quyết (đơn mẫu {tid})",
                        source="electronic", citizen_id=None, anonymous=type_ == "to_cao",
                        contact_name="", contact_phone="", cosigners=rng.choices((1, 2, 6), weights=(90, 8, 2))[0],
                        latitude=None, longitude=None, received_at=received_at, received_date=day,
                        answer_due=due.answer_due, accept_due=due.accept_due, resolve_due=due.resolve_due,
                        accepted_at=accepted_at, resolved_at=resolved_at, closed_at=closed_at,
                        assignee_id=assignee, created_at=received_at, updated_at=last)
            for at, actor, action, before, after, note in trail:
                events.add(ticket_id=tid, at=min(at, NOW), actor=actor, action=action, from_status=before,
                           to_status=after, note=note, prev_hash="0" * 64, hash="f" * 64)
            finished = status in ("resolved", "closed", "transferred", "refused")
            cards.add(ticket_id=tid, channel="telegram", chat_id=office_chat.get(office) or "-1001",
                      message_ref=str(tid), active=not finished, created_at=received_at, updated_at=last)
            chat = str(5_000_000 + rng.randrange(count))
            outbox.add(channel="telegram", chat_id=chat, payload=ack.replace("{code}", code), ticket_code=code,
                       status="sent", attempts=1, next_attempt_at=received_at, created_at=received_at,
                       sent_at=received_at, last_error="")
            outbox.add(channel="telegram", chat_id=chat, payload=notice.replace("{code}", code), ticket_code=code,
                       status="sent", attempts=1, next_attempt_at=last, created_at=last, sent_at=last, last_error="")
            if received_at < NOW - timedelta(minutes=10):
                reminders.add(kind="hotspot_seen", ref=str(tid), period="-", ticket_id=tid, recipients=1,
                              created_at=received_at)
            # The deadline reminders of past days (today's 08:00 batch is the scan's to write).
            steps = []
            if status == "received" or (finished and accepted_at is None):
                steps.append(DueStep("answer", due.answer_due))
            if due.accept_due is not None:
                steps.append(DueStep("accept", due.accept_due))
            steps.append(DueStep("resolve", due.resolve_due))
            done_at = closed_at or resolved_at or (received_at + timedelta(days=2) if finished else NOW)
            for step in steps:
                found = stage_cache.get(step.due)
                if found is None:
                    found = stage_cache[step.due] = stages(ctx, step.due)
                for key, moment, _ in found:
                    if received_at <= moment <= min(done_at, NOW - timedelta(hours=12)):
                        reminders.add(kind=f"remind_{step.step}_{key}", ref=str(tid), period=step.due.isoformat(),
                                      ticket_id=tid, recipients=1, created_at=moment)
            if tid % CHUNK == 0:          # parents first: foreign keys hold at every flush
                for writer in (tickets, events, cards, outbox, reminders):
                    writer.flush()
        for writer in (tickets, events, cards, outbox, reminders):
            writer.flush()
        # This week's plan and digest went out on Monday; yesterday's escalation too.
        monday = today - timedelta(days=today.weekday())
        week = f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"
        last_week = monday - timedelta(days=7)
        done = [("weekly_plan", o.code, week) for o in settings.offices] + [("weekly_plan", "leaders", week)]
        done += [("digest", "leaders", f"{last_week.isocalendar()[0]}-W{last_week.isocalendar()[1]:02d}")]
        done += [("escalation", ref, (today - timedelta(days=1)).isoformat())
                 for ref in ["leaders"] + [o.code for o in settings.offices]]
        for kind, ref, period in done:
            reminders.add(kind=kind, ref=ref, period=period, ticket_id=None, recipients=1, created_at=NOW - timedelta(days=1))
        reminders.flush()
        if connection.dialect.name == "postgresql":
            for table in ("tickets", "ticket_events", "ticket_cards", "outbox", "sent_reminders", "officials"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    return {"tickets": tickets.count, "events": events.count, "cards": cards.count, "outbox": outbox.count,
            "sent_reminders": reminders.count}


def fresh_database(engine_name: str, folder: Path) -> str:
    """An empty migrated database: a new SQLite file, or danvan_scale recreated."""
    from storage.engine import make_engine
    from storage.migrate import upgrade_database

    if engine_name == "sqlite":
        url = f"sqlite:///{folder / 'scale.sqlite3'}"
    else:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            admin.execute(f"CREATE DATABASE {PG_DB}")
        url = pg_url(PG_DB)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url


def kept_database(engine_name: str, keep: Path, count: int) -> tuple[str, bool]:
    """(url, reusable) of the kept database for this size: a file under `keep` or the PostgreSQL
    database {PG_DB}_{count}. Reusable when it holds exactly `count` tickets; then it is only brought
    to the current migration (new indexes) and re-analysed; otherwise it is recreated empty."""
    from sqlalchemy import text

    from storage.engine import make_engine
    from storage.migrate import upgrade_database

    keep.mkdir(parents=True, exist_ok=True)
    if engine_name == "sqlite":
        path = keep / f"scale-{count}.sqlite3"
        url, exists = f"sqlite:///{path}", path.exists()
    else:
        import psycopg

        name = f"{PG_DB}_{count}"
        url = pg_url(name)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
    if exists:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                found = conn.execute(text("SELECT COUNT(*) FROM tickets")).scalar()
        except Exception:  # noqa: BLE001 - a half-made database: recreate it
            found = None
        if found == count:
            upgrade_database(engine)
            if engine_name == "postgresql":        # as autovacuum would; SQLite gets no statistics, as in use
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("ANALYZE")
            engine.dispose()
            return url, True
        engine.dispose()
    if engine_name == "sqlite":
        for old in keep.glob(f"scale-{count}.sqlite3*"):
            old.unlink()
    else:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url, False


# --- jobs (each in a fresh process) ----------------------------------------------------------------

def high_water_marks(engine) -> dict[str, int]:  # noqa: ANN001
    """The largest id of every table with an integer id, before a job that writes."""
    from sqlalchemy import func, select

    from storage.models import SQLModel

    marks = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if "id" in table.c and table.c.id.primary_key and table.c.id.type.python_type is int:
                marks[table.name] = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar()
    return marks


def rewind(engine, marks: dict[str, int]) -> None:  # noqa: ANN001
    """Delete the rows written since `marks` (children first), so the database is as generated."""
    from storage.models import SQLModel

    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name in marks:
                conn.execute(table.delete().where(table.c.id > marks[table.name]))


def run_job(job: str, url: str, folder: Path) -> dict[str, Any]:
    """One job in this process; returns its time(s) and peak memory."""
    from bot.main.composition import build_services
    from bot.core.clock import FixedClock
    from storage.engine import make_engine, read_session

    settings, _ = _settings(folder, url)
    engine = make_engine(url)
    services = build_services(settings, clock=FixedClock(NOW), engine=engine, migrate=False)
    tz = settings.commune.tz
    today = NOW.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    services.calendar.is_working_day(today)     # the holiday tables load once per process (~0.4 s), not per job
    out: dict[str, Any] = {"rss_before_mb": round(rss_mb(), 1)}
    if job == "digest":        # as in the bot: the scans in the hour before the slot load matplotlib
        try:
            from bot.jobs.digest import warm_chart_library
        except ImportError:    # an older checkout, for a before/after comparison: the job imports it
            warm_chart_library = None
        if warm_chart_library is not None:
            begin = time.perf_counter()
            thread = warm_chart_library()
            if thread is not None:
                thread.join()
            out["chart_import_s"] = round(time.perf_counter() - begin, 3)
    started = time.perf_counter()
    if job == "plan":
        from bot.jobs.weekly_plan import build_plan, render_plan

        with read_session(engine) as session:
            plans = build_plan(session, settings, monday=monday, today=today)
        texts = [render_plan(services.texts, [p], monday=monday, consolidated=False) for p in plans]
        texts.append(render_plan(services.texts, plans, monday=monday, consolidated=True))
        out["lines"] = sum(len(p.overdue) + len(p.due_this_week) + len(p.not_accepted) for p in plans)
        out["text_chars"] = sum(len(t) for t in texts)
    elif job == "digest":
        from bot.jobs.digest import build_digest, office_names, render_digest, write_chart

        with read_session(engine) as session:
            digest = build_digest(session, settings, monday=monday - timedelta(days=7), now=NOW)
            names = office_names(session)
        out["numbers_s"] = round(time.perf_counter() - started, 3)
        body = render_digest(services.texts, settings, digest, office_names=names)
        write_chart(settings, digest, folder / "digest.png")
        out.update(received=digest.week.received, overdue=getattr(digest, "overdue_total", len(digest.overdue)),
                   text_chars=len(body))
    elif job in ("report_year", "report_6m"):
        from bot.documents.report_docx import build_report_docx
        from bot.documents.statistics import build_report, report_period

        period = report_period("year", today.year - 1) if job == "report_year" else report_period("6m", today.year, today=today)
        with read_session(engine) as session:
            report = build_report(session, settings, period)
        out["numbers_s"] = round(time.perf_counter() - started, 3)
        path = folder / f"{job}.docx"
        build_report_docx(report, settings=settings, texts=services.texts, today=today).save(str(path))
        out.update(counted=report.total, docx_kb=round(path.stat().st_size / 1024))
    elif job == "register":
        from bot.documents.register_xlsx import write_register

        path = folder / "register.xlsx"
        with read_session(engine) as session:
            write_register(session, settings, services.texts, date(today.year - 1, 1, 1), date(today.year - 1, 12, 31),
                           path)
        out.update(xlsx_mb=round(path.stat().st_size / 2**20, 1))
    elif job == "public":
        from bot.interop.public_stats import build_public_page

        with read_session(engine) as session:
            page = build_public_page(session, settings, today=today)
        out.update(year_total=page.report.total, months=[m.received for m in page.months])
    elif job == "scan":
        from bot.jobs.registry import run_due_jobs

        marks = high_water_marks(engine)

        def scan(at: datetime, memory: dict) -> tuple[float, int]:
            begin = time.perf_counter()
            result = run_due_jobs(engine, at, settings=settings, texts=services.texts, calendar=services.calendar,
                                  memory=memory)
            return time.perf_counter() - begin, result.total

        first, messages = scan(NOW, {})
        memory: dict = {}
        restart, _ = scan(NOW + timedelta(minutes=2), memory)      # a fresh process: nothing in memory
        steady = [scan(NOW + timedelta(minutes=2 * n), memory)[0] for n in range(2, 7)]
        out.update(first_s=round(first, 3), first_messages=messages, restart_s=round(restart, 3),
                   steady_s=round(sorted(steady)[len(steady) // 2], 4))
        out["seconds"] = round(time.perf_counter() - started, 3)
        rewind(engine, marks)       # a kept database stays as generated for the next run
    else:
        raise SystemExit(f"unknown job {job}")
    out.setdefault("seconds", round(time.perf_counter() - started, 3))
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out


def child(job: str, url: str, folder: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "bench.scale", "--child", job, "--url", url, "--folder", str(folder)],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc={proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def database_size_mb(url: str) -> float:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1)
    import psycopg

    with psycopg.connect(PG_ADMIN) as conn:
        return round(conn.execute("SELECT pg_database_size(%s)", (url.rsplit("/", 1)[1],)).fetchone()[0] / 2**20, 1)


def bench_one(engine_name: str, count: int, jobs: list[str], keep: Path | None = None) -> dict[str, Any]:
    from bot.main.composition import build_services
    from bot.core.clock import FixedClock
    from storage.engine import make_engine

    folder = Path(tempfile.mkdtemp(prefix=f"danvan-scale-{engine_name}-{count}-"))
    if keep is None:
        url, reused = fresh_database(engine_name, folder), False
    else:
        url, reused = kept_database(engine_name, keep, count)
    settings, _ = _settings(folder, url)
    engine = make_engine(url)
    services = build_services(settings, clock=FixedClock(NOW), engine=engine, migrate=False)
    started = time.perf_counter()
    rows = {"tickets": count, "reused": True} if reused else generate(engine, settings, services.calendar, count)
    generate_s = time.perf_counter() - started
    if engine_name == "postgresql" and not reused:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")      # what autovacuum does after a bulk load
    engine.dispose()
    result: dict[str, Any] = {"engine": engine_name, "tickets": count, "rows": rows,
                              "generate_s": round(generate_s, 1), "db_mb": database_size_mb(url), "jobs": {}}
    print(f"[{engine_name} {count}] generated {rows} in {generate_s:.0f} s, {result['db_mb']} MB", flush=True)
    for job in jobs:
        result["jobs"][job] = child(job, url, folder)
        print(f"[{engine_name} {count}] {job}: {json.dumps(result['jobs'][job])}", flush=True)
    if engine_name == "sqlite" and keep is None:
        for path in folder.glob("scale.sqlite3*"):
            path.unlink()
    return result


def table(results: list[dict[str, Any]]) -> str:
    """A plain-text table: one line per (engine, size), seconds / peak MB per job."""
    head = f"{'engine':10s} {'tickets':>9s} " + " ".join(f"{j:>16s}" for j in JOBS)
    lines = [head, " " * 21 + " ".join(f"{'s / MB':>16s}" for _ in JOBS)]
    for r in results:
        cells = []
        for job in JOBS:
            j = r["jobs"].get(job)
            if not j:
                cells.append(f"{'-':>16s}")
            elif "error" in j:
                cells.append(f"{'error':>16s}")
            else:
                seconds = j["restart_s"] if job == "scan" else j["seconds"]
                cells.append(f"{seconds:>8.2f} /{j['peak_rss_mb']:>6.0f}")
        lines.append(f"{r['engine']:10s} {r['tickets']:>9d} " + " ".join(cells))
    return "\n".join(lines)


def from_log(log: str) -> list[dict[str, Any]]:
    """The results of a run from its printed lines: "[engine N] generated {...} in S s, M MB" and
    "[engine N] job: {json}"."""
    import ast
    import re

    results: dict[tuple[str, int], dict[str, Any]] = {}
    for line in log.splitlines():
        match = re.match(r"\[(\w+) (\d+)\] (.*)$", line)
        if not match:
            continue
        engine, count, rest = match.group(1), int(match.group(2)), match.group(3)
        entry = results.setdefault((engine, count), {"engine": engine, "tickets": count, "jobs": {}})
        generated = re.match(r"generated (\{.*\}) in (\d+) s, ([\d.]+) MB", rest)
        if generated:
            entry.update(rows=ast.literal_eval(generated.group(1)), generate_s=float(generated.group(2)),
                         db_mb=float(generated.group(3)))
        else:
            job, _, payload = rest.partition(": ")
            entry["jobs"][job] = json.loads(payload)
    return list(results.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--engine", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--jobs", default=",".join(JOBS))
    parser.add_argument("--keep", help="folder for the generated SQLite files; with it, databases are kept "
                                           "and reused")
    parser.add_argument("--child")
    parser.add_argument("--url")
    parser.add_argument("--folder")
    parser.add_argument("--out", default=str(RESULTS / "scale.json"))
    parser.add_argument("--merge", help="comma-separated result files (e.g. one run per engine) into --out")
    parser.add_argument("--from-log", help="rebuild a result file from the lines a run printed (a run cut short)")
    args = parser.parse_args()
    if args.from_log:
        results = from_log(Path(args.from_log).read_text(encoding="utf-8"))
        Path(args.out).write_text(json.dumps({"from_log": args.from_log, "now": NOW.isoformat(), "goals_at_1M": GOALS,
                                              "results": results, "table": table(results).splitlines()},
                                             indent=1, ensure_ascii=False), encoding="utf-8")
        print(table(results))
        return
    if args.merge:
        runs = [json.loads(Path(f).read_text(encoding="utf-8")) for f in args.merge.split(",")]
        results = sorted((r for run in runs for r in run["results"]), key=lambda r: (r["tickets"], r["engine"]))
        merged = {**runs[0], "runs": [{k: v for k, v in run.items() if k not in ("results", "table")} for run in runs],
                  "results": results, "table": table(results).splitlines()}
        Path(args.out).write_text(json.dumps(merged, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
        print(table(results))
        return
    if args.child:
        print(json.dumps(run_job(args.child, args.url, Path(args.folder))))
        return
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    sizes = [int(s) for s in args.sizes.split(",")]
    jobs = [j for j in args.jobs.split(",") if j]
    load = os.getloadavg()
    keep = Path(args.keep) if args.keep else None
    results = [bench_one(e, n, jobs, keep) for n in sizes for e in engines]
    print(table(results))
    summary = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "loadavg_at_start": load, "loadavg_at_end": os.getloadavg()},
               "now": NOW.isoformat(), "goals_at_1M": GOALS,
               "notes": "scan = run_due_jobs after a restart (empty memory) at 08:37; first = the 08:35 scan "
                        "that writes the day's reminders and escalation; seconds/peak_rss_mb per job in a fresh "
                        "process (peak includes the interpreter and libraries)",
               "results": results, "table": table(results).splitlines()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    print(f"written {out}")


if __name__ == "__main__":
    main()
