"""One back-office request: who is asking, when, and the chat context the policy sees
(a private 'web' chat of that official, so the same rules as their private chat apply)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.policy import ChatContext
from bot.core.render import Texts
from storage.models import Official

WEB_CHANNEL = "web"


def web_chat(official: Official) -> ChatContext:
    """The chat the policy sees for a browser: private, bound to this official only."""
    return ChatContext(channel=WEB_CHANNEL, chat_id=f"backoffice:{official.id}", is_private=True)


@dataclass
class Desk:
    """The collaborators one page or action needs."""

    session: Session
    settings: Settings
    texts: Texts
    now: datetime
    official: Official
    services: Any

    @property
    def chat(self) -> ChatContext:
        return web_chat(self.official)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.settings.commune.tz).date()

    @property
    def actor(self) -> str:
        return f"official:{self.official.id}"

    @property
    def is_leader(self) -> bool:
        return self.official.role == "leader"

    def may_download(self, kind: str) -> bool:
        """Register and report: leaders and the consolidating office(s); the weekly plan: every office."""
        if not self.official.active:
            return False
        if self.official.role == "leader":
            return True
        if self.official.role not in ("official", "head"):
            return False
        return kind == "plan" or (self.official.office_code or "") in self.settings.web.documents_offices
