"""A webhook client that behaves like Telegram's delivery: an update is posted again, unchanged,
after a short delay until the bot answers 2xx (any other status, a timeout or a refused or reset
connection means "not delivered").
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import aiohttp


@dataclass
class DeliveryStats:
    """What the client saw: posts made, retries, and why they were needed."""

    delivered: int = 0
    attempts: int = 0
    retries: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def note(self, reason: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


class RetryingWebhookClient:
    """Posts updates to a webhook URL, retrying each one until a 2xx answer."""

    def __init__(self, http: aiohttp.ClientSession, url: str, *, secret: str, min_delay: float = 0.1,
                 max_delay: float = 0.5, timeout: float = 15.0, give_up_after: float = 300.0) -> None:
        self.http, self.url, self.secret = http, url, secret
        self.min_delay, self.max_delay = min_delay, max_delay
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.give_up_after = give_up_after
        self.stats = DeliveryStats()

    async def deliver(self, body: bytes) -> int:
        """Post `body` until it is answered 2xx; returns that status (raises after give_up_after s)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.give_up_after
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret, "Content-Type": "application/json"}
        first = True
        while True:
            if not first:
                self.stats.retries += 1
                if loop.time() > deadline:
                    raise TimeoutError(f"update not delivered after {self.give_up_after}s")
                await asyncio.sleep(random.uniform(self.min_delay, self.max_delay))
            first = False
            self.stats.attempts += 1
            try:
                async with self.http.post(self.url, data=body, headers=headers, timeout=self.timeout) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        self.stats.delivered += 1
                        return response.status
                    self.stats.note(f"http {response.status}")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self.stats.note(type(exc).__name__)


class Pacer:
    """Spaces out new updates to at most `per_second` (retries are not paced: they are the same update)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
