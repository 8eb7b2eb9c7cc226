"""The first ticket numbers of a year, reserved by many transactions at once: no error, no gap, no
number twice (found by the crash test on PostgreSQL: the loser of the race hit the primary key)."""

from __future__ import annotations

import threading

from sqlalchemy.pool import NullPool

from storage.engine import make_engine, write_session
from storage.tickets import next_ticket_number

WRITERS = 8          # within the PostgreSQL pool (10), so all really run at once


def test_concurrent_first_numbers_of_a_year(database_url, engine):
    writers = make_engine(database_url) if engine.dialect.name == "postgresql" else make_engine(database_url, poolclass=NullPool)
    barrier = threading.Barrier(WRITERS)
    numbers: list[int] = []
    errors: list[str] = []

    def reserve() -> None:
        barrier.wait()
        try:
            with write_session(writers) as session:
                numbers.append(next_ticket_number(session, prefix="XG", year=2031))
        except Exception as exc:  # noqa: BLE001 - asserted on
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=reserve) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writers.dispose()
    assert errors == []
    assert sorted(numbers) == list(range(1, WRITERS + 1))
