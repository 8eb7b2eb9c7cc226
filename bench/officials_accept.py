"""Bench: how fast officials' button presses go through the core (accept races and sequential
presses), on SQLite or PostgreSQL. Run: python bench/officials_accept.py [--database-url URL]."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bot.tickets.tokens import payload_for  # noqa: E402
from bot.main.composition import build_services  # noqa: E402
from bot.core.clock import FixedClock  # noqa: E402
from bot.config.settings import load_settings  # noqa: E402
from bot.core.domain import Channel, Inbound  # noqa: E402
from bot.service.transactions import Service  # noqa: E402
from storage.engine import make_engine, write_session  # noqa: E402
from storage.migrate import upgrade_database  # noqa: E402
from storage.models import Official  # noqa: E402
from testkit.config import write_config  # noqa: E402
from testkit.office_tickets import add_ticket  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--pressers", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade_database(engine)
    settings = load_settings(write_config(tmp), environ={"DATABASE_URL": url})
    services = build_services(settings, clock=FixedClock(datetime(2026, 11, 26, 2, tzinfo=timezone.utc)),
                              engine=engine, migrate=False)
    service = Service(services)
    with Session(engine) as session:
        for i in range(args.pressers):
            session.add(Official(channel="telegram", user_id=str(6000 + i), role="official", office_code="KT",
                                 display_name=f"c{i}", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc)))
        session.commit()
    payloads = []
    with write_session(engine) as session:
        for _ in range(args.trials * 2):
            ticket = add_ticket(session, services, accepted=False)
            payloads.append(payload_for(session, ticket_id=ticket.id, action="accept", chat_key="telegram:-1002",
                                        now=services.clock.now()))
    race_times = []
    for trial in range(args.trials):
        barrier = threading.Barrier(args.pressers)

        def press(i: int, payload: str = payloads[trial], trial: int = trial) -> None:
            barrier.wait()
            service.handle_inbound(Inbound(channel=Channel.TELEGRAM, user_id=str(6000 + i), chat_id="-1002",
                                           external_id=f"r{trial}-{i}", payload=payload, is_private=False))

        threads = [threading.Thread(target=press, args=(i,)) for i in range(args.pressers)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        race_times.append(time.perf_counter() - start)
    start = time.perf_counter()
    for n, payload in enumerate(payloads[args.trials:]):
        service.handle_inbound(Inbound(channel=Channel.TELEGRAM, user_id="6000", chat_id="-1002",
                                       external_id=f"s{n}", payload=payload, is_private=False))
    sequential = time.perf_counter() - start
    print(f"{engine.dialect.name}: race of {args.pressers} accepts: median {statistics.median(race_times) * 1000:.1f} ms, "
          f"p95 {sorted(race_times)[int(len(race_times) * 0.95) - 1] * 1000:.1f} ms; "
          f"sequential accepts: {args.trials / sequential:.0f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
