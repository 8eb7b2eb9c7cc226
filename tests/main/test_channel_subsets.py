"""`danvan run` serves any subset of channels and says, one line per channel, which are on and why not."""

from __future__ import annotations

import pytest

from bot.config.settings import load_settings
from bot.main.composition import TelegramBotApp, build_services, channel_report
from testkit.config import write_config

TG = {"TELEGRAM_BOT_TOKEN": "123456:test-token"}
ZALO = {"ZALO_APP_ID": "1", "ZALO_APP_SECRET": "s", "ZALO_OA_SECRET_KEY": "k"}


@pytest.mark.parametrize("env, expected", [
    ({}, {"telegram": False, "zalo": False}),
    (TG, {"telegram": True, "zalo": False}),
    (ZALO, {"telegram": False, "zalo": True}),
    ({**TG, **ZALO}, {"telegram": True, "zalo": True}),
    ({"ZALO_APP_ID": "1"}, {"telegram": False, "zalo": False}),
])
def test_channel_report(tmp_path, database_url, env, expected):
    settings = load_settings(write_config(tmp_path), environ={"DATABASE_URL": database_url, **env})
    report = {channel: (on, why) for channel, on, why in channel_report(settings)}
    assert {channel: on for channel, (on, _) in report.items()} == expected
    if not expected["telegram"]:
        assert report["telegram"][1] == "TELEGRAM_BOT_TOKEN is not set"
    if env == {"ZALO_APP_ID": "1"}:
        assert report["zalo"][1] == "ZALO_APP_SECRET, ZALO_OA_SECRET_KEY not set"


def test_a_zalo_only_app_has_no_telegram_parts(tmp_path, database_url, engine, clock):
    settings = load_settings(write_config(tmp_path), environ={"DATABASE_URL": database_url, **ZALO})
    app = TelegramBotApp(settings, services=build_services(settings, clock=clock, engine=engine, migrate=False),
                         port=0)
    assert app.bot is None and app.adapter is None and app.zalo is not None
    assert set(app.sender.senders) == {"zalo"}
    assert app.sender_channels == ["zalo"]
