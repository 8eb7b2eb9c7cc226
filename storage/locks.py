"""Who runs the scheduler when several danvan processes share one PostgreSQL database.

Two PostgreSQL advisory locks, for two different jobs:

- **Leadership** (session-level `pg_try_advisory_lock`, held on a connection this process keeps):
  only the leader runs the periodic scans and the daily housekeeping, so a daily duty runs once a
  day, not once per process. Followers try to take the lock at every tick; when the leader dies
  its connection closes, PostgreSQL frees the lock and a follower takes over within one scan
  interval. A leader whose connection broke (e.g. the database restarted) finds out at its next
  tick and competes again.
- **One scan transaction at a time** (`pg_advisory_xact_lock` taken first thing in every scan
  transaction, see bot/schedule.py): even two leaders for a moment, or a follower's urgent
  hot-spot check racing the leader's scan, run one after the other, and the second sees the
  first's `sent_reminders` rows. The unique constraint on sent_reminders remains the last guard.

On SQLite there is one process: it is always the leader and no lock is taken.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

log = logging.getLogger(__name__)
LEADER_LOCK_KEY = 0x64616E76616E01      # "danvan" + 1: arbitrary, fixed, shared by every process
SCAN_LOCK_KEY = 0x64616E76616E02


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def lock_scan_transaction(session: Session) -> None:
    """Wait for any other process's scan transaction to end; released at commit or rollback."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCAN_LOCK_KEY})


class Leadership:
    """The scheduler leader lock of this process (see the module doc)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    @property
    def is_leader(self) -> bool:
        return self._conn is not None or not is_postgres(self.engine)

    def hold(self) -> bool:
        """True when this process is (still, or now) the leader; call before every periodic scan."""
        if not is_postgres(self.engine):
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return True
            except Exception:  # noqa: BLE001 - the connection (and with it the lock) is gone
                log.warning("scheduler leadership lost with its database connection")
                self._drop()
        conn = self.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}).scalar())
            conn.commit()           # the lock is the session's; no transaction stays open
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        log.info("this process is now the scheduler leader")
        self._conn = conn
        return True

    def release(self) -> None:
        """Give up leadership (at stop), so another process takes over at its next tick."""
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY})
            self._conn.commit()
        except Exception:  # noqa: BLE001 - closing the connection frees it anyway
            pass
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.invalidate()     # never hand a connection holding the lock back to the pool
            conn.close()
        except Exception:  # noqa: BLE001
            pass
