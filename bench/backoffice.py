"""Back-office benchmark (issue 13): the queue and the ticket page with 10k and 100k generated
tickets (bench/scale.py's data: four years of history, events, cards, outbox) on SQLite and
PostgreSQL, through real HTTP against the real aiohttp app with a signed-in session.

Measured per request (p50 / p95 / max, ms): an office head's default queue (open tickets of the
office by deadline), a leader's queue of every office, a filtered queue (category + status=all), an
accent-insensitive search, and the ticket page of random tickets of the office. Goal: p95 < 300 ms.

Run:  .venv/bin/python -m bench.backoffice [--sizes 10000,100000] [--engine sqlite|postgresql|both] [--n 60]
PostgreSQL database: $DANVAN_BO_BENCH_DB (default danvan_bo_bench), dropped and recreated.
Results: bench/results/backoffice.json. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DANVAN_DATA_KEY", "dGVzdC1rZXktZm9yLWRhbnZhbi10ZXN0cy0wMTIzNDU2Nzg5")

from bench.harness import RESULTS, percentile  # noqa: E402
from bench import scale  # noqa: E402

PG_DB = os.environ.get("DANVAN_BO_BENCH_DB", "danvan_bo_bench")
GOAL_MS = 300.0


def fresh(engine_name: str, folder: Path) -> str:
    from storage.engine import make_engine
    from storage.migrate import upgrade_database

    if engine_name == "sqlite":
        url = f"sqlite:///{folder / 'bo.sqlite3'}"
    else:
        import psycopg

        with psycopg.connect(scale.PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            admin.execute(f"CREATE DATABASE {PG_DB}")
        url = scale.pg_url(PG_DB)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url


def session_for(services, *, user_id: str, role: str, office: str | None) -> str:
    """A back-office session id for a new official (as /dangnhap + the link would give)."""
    from bot.officials.web_session import issue_link, sign_in
    from storage.engine import write_session
    from storage.models import Official

    now = services.clock.now()
    with write_session(services.engine) as session:
        official = Official(channel="telegram", user_id=user_id, role=role, office_code=office,
                            display_name=f"Bench {role}", created_at=now)
        session.add(official)
        session.flush()
        token = issue_link(session, services.settings, official, now).split("t=", 1)[1]
        return sign_in(session, token, now).session_id


def codes_of(services, office: str, count: int) -> list[str]:
    from sqlmodel import select

    from storage.engine import read_session
    from storage.models import Ticket

    with read_session(services.engine) as session:
        codes = list(session.exec(select(Ticket.code).where(Ticket.office_code == office)))
    random.Random(3).shuffle(codes)
    return codes[:count]


async def timed(http, url: str, n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        async with http.get(url, allow_redirects=False) as response:
            await response.read()
            assert response.status == 200, (url, response.status)
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1),
            "max_ms": round(max(times), 1), "n": n}


async def measure(services, n: int) -> dict[str, Any]:
    from aiohttp import ClientSession, CookieJar, web
    from yarl import URL

    from bot.main.composition import build_web_app

    head = session_for(services, user_id="bench-head", role="head", office="KT")
    leader = session_for(services, user_id="bench-leader", role="leader", office=None)
    codes = codes_of(services, "KT", n)
    runner = web.AppRunner(build_web_app(services, telegram=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # noqa: SLF001
    out: dict[str, Any] = {}
    try:
        for who, sid in (("head", head), ("leader", leader)):
            jar = CookieJar(unsafe=True)
            jar.update_cookies({"dv_bo": sid}, response_url=URL(base + "/can-bo"))
            async with ClientSession(cookie_jar=jar) as http:
                await timed(http, base + "/can-bo/hang-doi", 3)          # warm caches and templates
                if who == "head":
                    out["queue_office"] = await timed(http, base + "/can-bo/hang-doi", n)
                    out["queue_filtered"] = await timed(http, base + "/can-bo/hang-doi?category=ha_tang&status=all", n)
                    out["queue_search"] = await timed(http, base + "/can-bo/hang-doi?q=duong", n)
                    times = []
                    for code in codes:
                        start = time.perf_counter()
                        async with http.get(f"{base}/can-bo/phieu/{code}") as response:
                            await response.read()
                            assert response.status == 200, (code, response.status)
                        times.append((time.perf_counter() - start) * 1000)
                    out["ticket_page"] = {"p50_ms": round(percentile(times, 50), 1),
                                          "p95_ms": round(percentile(times, 95), 1),
                                          "max_ms": round(max(times), 1), "n": len(times)}
                else:
                    out["queue_all_offices"] = await timed(http, base + "/can-bo/hang-doi", n)
    finally:
        await runner.cleanup()
    return out


def bench_one(engine_name: str, count: int, n: int) -> dict[str, Any]:
    from bot.core.clock import FixedClock
    from bot.main.composition import build_services
    from storage.engine import make_engine

    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        url = fresh(engine_name, folder)
        settings, _ = scale._settings(folder, url)  # noqa: SLF001
        engine = make_engine(url)
        services = build_services(settings, clock=FixedClock(scale.NOW), engine=engine, migrate=False)
        started = time.perf_counter()
        rows = scale.generate(engine, settings, services.calendar, count)
        generated = time.perf_counter() - started
        result = asyncio.run(measure(services, n))
        engine.dispose()
    return {"engine": engine_name, "tickets": count, "generate_s": round(generated, 1), "rows": rows, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--n", type=int, default=60)
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    results = []
    for engine_name in engines:
        for size in (int(s) for s in args.sizes.split(",")):
            row = bench_one(engine_name, size, args.n)
            results.append(row)
            print(json.dumps(row), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "backoffice.json").write_text(json.dumps({"goal_p95_ms": GOAL_MS, "results": results}, indent=2))
    for r in results:
        cells = " ".join(f"{k}={r[k]['p95_ms']}" for k in ("queue_office", "queue_all_offices", "queue_filtered",
                                                           "queue_search", "ticket_page"))
        print(f"{r['engine']:<10} {r['tickets']:>7}  p95 ms: {cells}")


if __name__ == "__main__":
    main()
