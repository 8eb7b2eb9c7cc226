"""A Zalo-only deployment for tests: no Telegram token, office KT linked to a fake OA group, and
helpers for officials writing privately to the OA and members typing in the group."""

from __future__ import annotations

from typing import Any

from bot.config.settings import Settings, load_settings
from bot.officials.invites import create_invite
from storage.engine import write_session
from testkit.config import write_config
from testkit.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET_KEY, FakeZalo, SentMessage, group_text_event
from testkit.zalo_driver import ZaloCitizen


def zalo_only_settings(tmp_path, database_url: str, zalo: FakeZalo, *, groups: dict[str, str] | None = None,
                       mutate: Any = None) -> Settings:
    """Settings with Zalo pointed at the fake, no Telegram at all, offices linked to the given groups."""
    def change(raw: dict) -> None:
        for office in raw["offices"]:
            office["telegram_chat_id"] = ""
            office["zalo_group_id"] = (groups or {}).get(office["code"], "")
        raw["zalo"].update(api_base_url=zalo.url, oauth_base_url=zalo.url, per_chat_interval=0)
        raw.setdefault("web", {})["public_url"] = "https://danvan.xuangiang.test"
        if mutate:
            mutate(raw)
    env = {"DATABASE_URL": database_url, "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET,
           "ZALO_OA_SECRET_KEY": OA_SECRET_KEY, "ZALO_REFRESH_TOKEN": zalo.issue_refresh_token()}
    return load_settings(write_config(tmp_path, change), environ=env)


def invite(app, *, role: str = "official", office: str | None = "KT") -> str:
    with write_session(app.services.engine) as session:
        return create_invite(session, role=role, office_code=office, now=app.services.clock.now(), hours=72)


class ZaloMember(ZaloCitizen):
    """A Zalo user who also writes in an OA group (an official, or anyone else in it)."""

    def __init__(self, fake: FakeZalo, http, app, user_id: str, group_id: str = "") -> None:  # noqa: ANN001
        super().__init__(fake, http, app, user_id)
        self.group_id = group_id
        self.group_seen = len(fake.group_messages(group_id)) if group_id else 0

    async def in_group(self, text: str, *, where: str = "recipient.group_id", quote: str = "") -> list[SentMessage]:
        """Type in the group (quoting an OA message when `quote` is its id); returns what the OA posted
        in the group since the last look."""
        await self.post(group_text_event(self.user_id, self.group_id, text, self.now_ms(), where=where,
                                         quote=quote))
        return self.group_new()

    def group_new(self) -> list[SentMessage]:
        messages = self.fake.group_messages(self.group_id)
        fresh = messages[self.group_seen:]
        self.group_seen = len(messages)
        return fresh
