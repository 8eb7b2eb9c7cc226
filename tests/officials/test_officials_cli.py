"""`danvan invite`, `danvan officials`, `danvan surveys` and `danvan chat --as` as an operator runs them."""

from __future__ import annotations

import asyncio
import io
import json

from sqlmodel import Session, select

from bot.main.cli import main
from bot.main.officials_cli import console_identity
from bot.main.console import run_console
from storage.engine import write_session
from storage.models import Official, OfficialInvite


def test_invite_prints_code_stores_hash_and_list_revoke(settings, services, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    config = str(tmp_path / "config.yaml")
    assert main(["--config", config, "invite", "--office", "KT", "--role", "official"]) == 0
    code = capsys.readouterr().out.split("giờ): ")[1].split()[0]
    with Session(services.engine) as session:
        invite = session.exec(select(OfficialInvite)).one()
    assert code not in invite.code_hash and len(code) == 10
    assert (invite.expires_at - invite.created_at).total_seconds() == 72 * 3600
    assert main(["--config", config, "invite", "--office", "ZZ", "--role", "official"]) == 2
    assert main(["--config", config, "invite", "--role", "head"]) == 2
    with write_session(services.engine) as session:
        console_identity(session, "official:KT", now=services.clock.now(), offices={"KT"})
    capsys.readouterr()
    assert main(["--config", config, "officials", "list"]) == 0
    listed = capsys.readouterr().out
    assert "official\tKT\tconsole\tactive" in listed
    official_id = int(listed.split("\t")[0])
    assert main(["--config", config, "officials", "revoke", str(official_id)]) == 0
    with Session(services.engine) as session:
        assert session.get(Official, official_id).active is False
    assert main(["--config", config, "surveys", "stats"]) == 0
    stats = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert stats["asked"] == 0 and stats["satisfaction"] == 0.0


def test_console_official_sees_office_tickets(services):
    with write_session(services.engine) as session:
        user_id = console_identity(session, "official:KT", now=services.clock.now(), offices={"KT"})
    out = io.StringIO()
    asyncio.run(run_console(services, user_id=user_id, stdin=io.StringIO("/donvi\n/viec\n"), stdout=out))
    text = out.getvalue()
    assert "Hướng dẫn cho cán bộ" in text and "Hồ sơ đang mở – Phòng Kinh tế" in text
    assert "Hồ sơ đồng chí đang xử lý" in text


def test_two_console_terminals_see_only_their_own_messages(services):
    citizen_out, official_out = io.StringIO(), io.StringIO()
    asyncio.run(run_console(services, user_id="console", stdin=io.StringIO("xin chào\n"), stdout=citizen_out))
    with write_session(services.engine) as session:
        official = console_identity(session, "leader", now=services.clock.now(), offices=set())
    asyncio.run(run_console(services, user_id=official, stdin=io.StringIO("/donvi\n"), stdout=official_out))
    assert "Hướng dẫn cho cán bộ" in official_out.getvalue() and "Hướng dẫn cho cán bộ" not in citizen_out.getvalue()
    assert "đồng ý" in citizen_out.getvalue().lower() and "đồng ý" not in official_out.getvalue().lower()
