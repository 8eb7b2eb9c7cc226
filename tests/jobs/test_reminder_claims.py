"""A scheduled message is claimed once per (kind, ref, period), on every engine: the second claim
answers False (on PostgreSQL it once answered True every time, since psycopg reports no rowcount)."""

from __future__ import annotations

from datetime import datetime, timezone

from storage.engine import write_session
from storage.reminders import claim_reminder, claim_reminders

NOW = datetime(2026, 11, 30, 0, 10, tzinfo=timezone.utc)


def test_a_claim_is_granted_once(engine):
    with write_session(engine) as session:
        assert claim_reminder(session, kind="weekly_plan", ref="KT", period="2026-W49", now=NOW) is True
        assert claim_reminder(session, kind="weekly_plan", ref="KT", period="2026-W49", now=NOW) is False
        assert claim_reminder(session, kind="weekly_plan", ref="VHXH", period="2026-W49", now=NOW) is True
    with write_session(engine) as session:                       # and after commit, in a new transaction
        assert claim_reminder(session, kind="weekly_plan", ref="KT", period="2026-W49", now=NOW) is False
        granted = claim_reminders(session, [("weekly_plan", "KT", "2026-W49", None),
                                            ("weekly_plan", "TP", "2026-W49", None)], now=NOW)
    assert granted == {("weekly_plan", "TP", "2026-W49")}
