"""`danvan zalo group create|link|list`: an office's Zalo group made through the fake GMF API (quota
asset, then creategroupwithoa with the office's Zalo officials as members) or linked by id."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import Session, select

from bot.main.cli import main
from storage.engine import write_session
from storage.models import OfficeGroup, Official
from testkit.config import write_config
from testkit.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZalo
from testkit.server_process import ThreadedLoop


def test_create_link_and_list_office_groups(tmp_path, database_url, engine, monkeypatch, capsys):
    with ThreadedLoop() as loop:
        zalo = FakeZalo()
        loop.run(zalo.__aenter__())
        try:
            config = write_config(tmp_path, lambda raw: raw["zalo"].update(api_base_url=zalo.url,
                                                                           oauth_base_url=zalo.url))
            for name, value in {"DATABASE_URL": database_url, "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET,
                                "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
                                "ZALO_REFRESH_TOKEN": zalo.issue_refresh_token()}.items():
                monkeypatch.setenv(name, value)
            now = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
            assert main(["--config", str(config), "check-config"]) == 0
            with write_session(engine) as session:
                session.add(Official(office_code="KT", role="official", channel="zalo", user_id="8400000000000000001",
                                     created_at=now))
                session.add(Official(office_code="KT", role="head", channel="telegram", user_id="5001",
                                     created_at=now))
            capsys.readouterr()
            assert main(["--config", str(config), "zalo", "group", "create", "--office", "KT"]) == 0
            out = capsys.readouterr().out
            [group_id] = list(zalo.state.groups)
            assert f"Zalo group {group_id} created for office KT" in out and "https://zalo.me/g/" in out
            assert zalo.state.groups[group_id]["members"] == ["8400000000000000001"]     # Zalo officials only
            assert zalo.state.quota_requests[0]["product_type"] == "gmf100"
            assert main(["--config", str(config), "zalo", "group", "link", "--office", "VHXH",
                         "--group-id", "7000000000000009999"]) == 0
            with Session(engine) as session:
                linked = {(g.office_code, g.chat_id) for g in session.exec(select(OfficeGroup))}
            assert linked == {("KT", f"group:{group_id}"), ("VHXH", "group:7000000000000009999")}
            capsys.readouterr()
            assert main(["--config", str(config), "zalo", "group", "list"]) == 0
            assert f"KT\t{group_id}" in capsys.readouterr().out
            assert main(["--config", str(config), "zalo", "group", "create", "--office", "XX"]) == 2
        finally:
            loop.run(zalo.__aexit__(None, None, None))
