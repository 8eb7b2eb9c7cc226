"""A commune on Zalo alone: `danvan run` as a child process with ZALO_* set and no Telegram token
serves /zalo/webhook, the web, the outbox sender and the scheduler; an official registers in the
OA's private chat, a citizen files a petition, the card reaches the office's Zalo group and the
official handles it by group commands, the citizen hearing each step on Zalo."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from types import SimpleNamespace

import aiohttp
import pytest
from sqlmodel import Session, select

from bot.core.clock import SystemClock
from bot.config.settings import load_settings
from storage.models import Ticket
from testkit.config import ROOT, write_config
from testkit.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZalo
from testkit.server_process import DanvanProcess, clean_environ, free_port
from testkit.zalo_driver import ZaloCitizen, file_petition
from testkit.zalo_office_driver import ZaloMember

ROAD = "Đường bê tông vào thôn Mẫu 1 bị sụt lún, có ổ gà lớn, trời mưa xe máy đi rất nguy hiểm"


def danvan(config, env, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
async def test_zalo_only_deployment_end_to_end_through_danvan_run(tmp_path, database_url, engine):
    # `engine`: an emptied database (on PostgreSQL the suite shares one; rows left by earlier tests,
    # such as outbox rows waiting for a retry, would never let the driver see the work settle).
    async with FakeZalo() as zalo, aiohttp.ClientSession() as http:
        group = zalo.add_group("Phòng Kinh tế")
        port = free_port()

        def change(raw: dict) -> None:
            for office in raw["offices"]:
                office["telegram_chat_id"] = ""
            raw["offices"][1]["zalo_group_id"] = group
            raw["web"] = {**raw.get("web", {}), "host": "127.0.0.1", "port": port}
            raw["zalo"].update(api_base_url=zalo.url, oauth_base_url=zalo.url, per_chat_interval=0)
            raw["schedule"]["scan_minutes"] = 1

        config = write_config(tmp_path, change)
        env = clean_environ({"DATABASE_URL": database_url, "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET,
                             "ZALO_OA_SECRET_KEY": OA_SECRET_KEY, "ZALO_REFRESH_TOKEN": zalo.issue_refresh_token()})
        invite = await asyncio.to_thread(danvan, config, env, "invite", "--role", "official", "--office", "KT")
        code = re.search(r"/dangky (\S+)", invite).group(1)
        process = DanvanProcess(config, env, port=port, log_path=tmp_path / "danvan.log")
        process.start()
        try:
            started = time.monotonic()
            await asyncio.to_thread(process.wait_ready)
            ready = time.monotonic() - started
            log = process.log_text()
            assert "channel zalo: on" in log and "channel telegram: off (TELEGRAM_BOT_TOKEN is not set)" in log
            settings = load_settings(config, environ=env)
            shim = SimpleNamespace(port=port, settings=settings,
                                   services=SimpleNamespace(engine=engine, clock=SystemClock()))
            official = ZaloMember(zalo, http, shim, "8400000000000000001", group)
            assert "Đăng ký thành công" in official.texts(await official.say(f"/dangky {code} Lê Văn An"))
            citizen = ZaloCitizen(zalo, http, shim, "8412345678901234567")
            ticket_code = await file_petition(citizen, type_label="Kiến nghị", description=ROAD,
                                              name="Nguyễn Văn An", phone="84912345678")
            [card] = await zalo.wait_for_group(group, 1)
            assert ticket_code in card.text and f"/tiepnhan {ticket_code}" in card.text
            seen = len(zalo.messages(citizen.user_id))
            await official.in_group(f"/tiepnhan {ticket_code}")
            await official.in_group(f"/ketqua {ticket_code} Đã sửa xong mặt đường, xin cảm ơn ông/bà")
            await zalo.wait_for(citizen.user_id, seen + 2)
            told = citizen.texts(zalo.messages(citizen.user_id)[seen:])
            assert "tiếp nhận" in told.lower() and "Đã sửa xong mặt đường" in told
            with Session(engine) as session:
                ticket = session.exec(select(Ticket).where(Ticket.code == ticket_code)).one()
            assert ticket.status == "resolved"
            async with http.get(f"http://127.0.0.1:{port}/") as response:      # the web is served too
                assert response.status == 200
            print(f"\nzalo-only danvan run: ready in {ready:.1f} s; intake + handling done")
        finally:
            assert process.stop() == 0, process.log_text()[-3000:]
