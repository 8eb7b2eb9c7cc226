"""Migrations run up from empty, down to empty and up again, on SQLite and PostgreSQL, with data."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from storage.audit import verify_chain
from storage.engine import make_engine
from storage.migrate import alembic_config, downgrade_database, upgrade_database
from testkit.config import PG_URL


def test_upgrade_downgrade_upgrade_with_data(tmp_path, migrated_template):
    engine = make_engine(PG_URL or f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        downgrade_database(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade_database(engine, "0001")
        now = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO offices (code, name, telegram_chat_id) VALUES ('KT', 'Phòng Kinh tế', '')"))
            conn.execute(text(
                "INSERT INTO tickets (code, pin_hash, type, category, hamlet, office_code, status, description, "
                "channel, source, anonymous, contact_name, contact_phone, cosigners, received_at, received_date, "
                "answer_due, resolve_due, created_at, updated_at) VALUES ('XG-2026-000001', 'h', 'phan_anh', "
                "'ha_tang', '', 'KT', 'received', 'Đường hỏng', 'telegram', 'electronic', :f, '', '', 1, :now, "
                ":d, :d, :d, :now, :now)"), {"now": now, "d": now.date(), "f": False})
            for action in ("created", "accepted"):
                conn.execute(text("INSERT INTO ticket_events (ticket_id, at, actor, action, note) "
                                  "VALUES (1, :now, 'system', :a, '')"), {"now": now, "a": action})
        upgrade_database(engine)
        heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
        with engine.connect() as conn:
            versions = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
            assert versions == set(heads)
            assert conn.execute(text("SELECT count(*) FROM tickets")).scalar_one() == 1
        report = verify_chain(engine)          # events from before the chain existed were chained
        assert report.ok and report.events == 2
        downgrade_database(engine, "0001")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT description FROM tickets")).scalar_one() == "Đường hỏng"
        upgrade_database(engine)
        assert verify_chain(engine).ok
    finally:
        # Leave the shared PostgreSQL schema migrated and empty for the next tests.
        downgrade_database(engine, "base")
        upgrade_database(engine)
        engine.dispose()
