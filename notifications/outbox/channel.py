"""The one small interface every channel sender implements, and the failures it may report."""

from __future__ import annotations

from typing import Protocol

from bot.core.domain import Reply


class TemporaryFailure(Exception):
    """Try again later (network error, 5xx, 429); `retry_after` seconds when the server said so."""

    def __init__(self, reason: str, *, retry_after: float | None = None, remaining: Reply | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        # What is still to send when part of a split message already went out (never resend a part).
        self.remaining = remaining


class PermanentFailure(Exception):
    """Retrying will not help (bad request, the user blocked the bot)."""


class ChannelSender(Protocol):
    channel: str

    async def send(self, chat_id: str, reply: Reply) -> None:
        """Deliver one message or raise TemporaryFailure / PermanentFailure."""

    def min_interval(self, chat_id: str) -> float:
        """Seconds to keep between two messages to this chat (the channel's per-chat limit)."""


class HeldFailure(Exception):
    """The channel refuses this recipient for now (Zalo: 7 days without a message from them).

    The outbox keeps the row as "held" until the person writes again; `notified` says the person
    was already told another way (an approved template message), so the office need not phone.
    """

    def __init__(self, reason: str, *, notified: bool = False) -> None:
        super().__init__(reason)
        self.notified = notified
