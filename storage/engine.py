"""Engine setup: SQLite in WAL with BEGIN IMMEDIATE for writes, or PostgreSQL.

WAL + busy timeout alone still fails under concurrent writers (a deferred transaction that
later wants to write cannot wait for the lock), so every write transaction starts with
BEGIN IMMEDIATE; read-only sessions begin deferred.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def upsert_insert(session: Session):  # noqa: ANN201 - the dialect's Insert construct
    """The dialect's INSERT construct, which offers ON CONFLICT (both engines support it)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def make_engine(database_url: str, *, echo: bool = False, sqlite_tuning: bool = True,
                **engine_options: Any) -> Engine:
    """Create the engine for a URL; SQLite files get their folder and pragmas.

    `sqlite_tuning=False` (SQLite's bare defaults) exists only so a test can show what breaks
    without WAL, the busy timeout and BEGIN IMMEDIATE.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        if not sqlite_tuning:
            # SQLite's own defaults: rollback journal, deferred transactions, no busy handler.
            return create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 0},
                                 **engine_options)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False,
                                                             "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               **engine_options)
        _configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    options = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20, **engine_options}
    return create_engine(url, echo=echo, **options)


def _configure_sqlite(engine: Engine) -> None:
    setattr(engine, GATE_ATTRIBUTE, WriteGate())

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN is always deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get("danvan_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class WriteGate:
    """A reentrant lock whose `priority` holders go before ordinary writers already waiting.

    The outbox sender records "sent" with priority: the time between Telegram's answer and that
    commit is when a crash makes a message go out twice, and with a plain lock the sender's one
    thread could lose the race to a pool of webhook threads again and again (seconds, under load).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._priority_waiting = 0

    @contextmanager
    def hold(self, *, priority: bool = False) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
            else:
                if priority:
                    self._priority_waiting += 1
                try:
                    while self._owner is not None or (not priority and self._priority_waiting):
                        self._cond.wait()
                finally:
                    if priority:
                        self._priority_waiting -= 1
                self._owner, self._depth = me, 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._cond.notify_all()


# One gate per tuned SQLite engine, kept on the engine itself: threads of this process queue there
# instead of in SQLite's busy handler, whose sleeps (up to 100 ms) make contended writers several times slower.
GATE_ATTRIBUTE = "danvan_write_gate"


@contextmanager
def write_session(engine: Engine, *, priority: bool = False) -> Iterator[Session]:
    """One write transaction: commit on success, roll back on error (`priority`: see WriteGate)."""
    lock: WriteGate | None = getattr(engine, GATE_ATTRIBUTE, None)
    with lock.hold(priority=priority) if lock is not None else nullcontext():
        with Session(engine, expire_on_commit=False) as session:
            with session.begin():
                yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only transaction (deferred on SQLite, so it never blocks writers)."""
    with Session(engine.execution_options(danvan_readonly=True), expire_on_commit=False) as session:
        with session.begin():
            yield session
