"""What an officials' step may read or change while handling one inbound event (the officials'
counterpart of bot.conversation.engine.Turn: the person is an Official, the chat may be an office group)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Attachment, Button, Inbound, Outgoing, Reply
from bot.core.services import Services
from bot.core.policy import ChatContext
from bot.core.render import Texts
from storage.models import Conversation, Official


@dataclass
class OfficeTurn:
    """One official's event: replies go back to the chat it came from; notify() reaches anyone else."""

    session: Session
    settings: Settings
    texts: Texts
    now: datetime
    inbound: Inbound
    conversation: Conversation
    official: Official | None
    chat: ChatContext
    services: Services
    data: dict[str, Any] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    outgoing: list[Outgoing] = field(default_factory=list)
    callback_text: str = ""
    tickets_created: list[str] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)     # photos an official attached to a reply

    @property
    def actor(self) -> str:
        """How this person appears in the audit trail."""
        if self.official is not None:
            return f"official:{self.official.id}"
        return f"{self.inbound.channel}:unknown"

    def say(self, template: str, /, *, buttons: tuple[tuple[Button, ...], ...] = (), force_reply: bool = False,
            **context: Any) -> None:
        """Queue a reply in the chat the event came from."""
        self.replies.append(Reply(text=self.texts.render(template, **context), buttons=buttons,
                                  force_reply=force_reply))

    def notify(self, message: Outgoing) -> None:
        """Queue a message to another chat (a citizen, another office, a head)."""
        self.outgoing.append(message)
