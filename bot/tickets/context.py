"""What ticket-level code (cards, notices, office posts) reads of the step it runs in.

Citizens' turns, officials' turns, scheduled jobs and doors without a conversation (Open311) all
satisfy `TicketScope`; `TicketContext` is the plain one for code outside a conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from bot.config.settings import Settings
from bot.core.domain import Outgoing
from bot.core.render import Texts


class TicketScope(Protocol):
    """The transaction, config, texts and the injected 'now' of the step in progress."""

    session: Session
    settings: Settings
    texts: Texts
    now: datetime


@dataclass
class TicketContext:
    """A TicketScope for a transaction opened outside any conversation."""

    session: Session
    settings: Settings
    texts: Texts
    now: datetime


class TicketStep(TicketScope, Protocol):
    """A TicketScope that can also queue messages to other chats (cards, notices, office posts)."""

    def notify(self, message: Outgoing) -> None: ...
