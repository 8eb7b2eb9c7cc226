"""The audit log is hash-chained: `danvan audit verify` detects a changed, inserted or deleted row."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.main.cli import main
from storage.audit import verify_chain
from testkit.drivers import CoreChat
from testkit.intake_steps import intake_until_contact


def file_tickets(service, count: int) -> None:
    for n in range(count):
        chat = CoreChat(service, user_id=f"audit{n}")
        intake_until_contact(chat, type_label="Phản ánh")
        chat.press("Không để lại")
        chat.press("Gửi đơn")


def test_chain_intact_then_tampering_detected(service, services, engine, tmp_path):
    file_tickets(service, 3)
    report = verify_chain(engine)
    assert report.ok and report.events == 3
    with engine.begin() as conn:
        conn.execute(text("UPDATE ticket_events SET note = 'office=VP' WHERE id = 2"))
    broken = verify_chain(engine)
    assert not broken.ok and broken.broken_at == 2 and "changed" in broken.reason


@pytest.mark.parametrize("victim", ["middle", "last"])
def test_deleted_rows_are_detected(service, engine, victim):
    file_tickets(service, 3)
    with engine.begin() as conn:
        target = 2 if victim == "middle" else 3
        conn.execute(text("DELETE FROM ticket_events WHERE id = :i"), {"i": target})
    report = verify_chain(engine)
    assert not report.ok and "deleted" in report.reason


def test_cli_exit_codes(service, settings, engine, tmp_path, capsys, monkeypatch):
    file_tickets(service, 2)
    config = tmp_path / "config.yaml"
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["--config", str(config), "audit", "verify"]) == 0
    assert "chain intact" in capsys.readouterr().out
    with engine.begin() as conn:
        conn.execute(text("UPDATE ticket_events SET actor = 'someone-else' WHERE id = 1"))
    assert main(["--config", str(config), "audit", "verify"]) == 1
    assert "BROKEN at event 1" in capsys.readouterr().out
