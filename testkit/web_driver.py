"""A citizen in the web chat, through the real HTTP endpoints (aiohttp's client against the real
app on 127.0.0.1): reads the page's CSRF token, posts messages, pulls replies."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import ClientSession, FormData

from bot.core.render import html_to_plain

CSRF_RE = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')


class WebChatClient:
    def __init__(self, http: ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.csrf = ""
        self.after = 0
        self.history: list[dict[str, Any]] = []

    async def open(self) -> None:
        async with self.http.get(f"{self.base}/chat") as response:
            assert response.status == 200
            self.csrf = CSRF_RE.search(await response.text()).group(1)

    async def post(self, **body: Any) -> int:
        body.setdefault("client_id", secrets.token_hex(8))
        async with self.http.post(f"{self.base}/chat/api/send", json=body,
                                  headers={"X-CSRF-Token": self.csrf}) as response:
            return response.status

    async def pull(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/chat/api/messages", params={"after": str(self.after)},
                                 headers={"X-CSRF-Token": self.csrf}) as response:
            assert response.status == 200, response.status
            data = await response.json()
        for message in data["messages"]:
            self.after = max(self.after, message["id"])
        self.history.extend(data["messages"])
        return data["messages"]

    async def say(self, text: str) -> str:
        assert await self.post(text=text) == 200
        return self.plain(await self.pull())

    async def press(self, label_part: str) -> str:
        for row in reversed(self.history):
            for button in (b for line in row["buttons"] for b in line):
                if label_part.lower() in button["label"].lower():
                    assert await self.post(payload=button["payload"]) == 200
                    return self.plain(await self.pull())
            if row["buttons"]:
                break
        raise AssertionError(f"no button {label_part!r}")

    def first_button(self) -> str:
        for row in reversed(self.history):
            if row["buttons"]:
                return row["buttons"][0][0]["label"]
        raise AssertionError("no buttons")

    async def upload(self, data: bytes, *, name: str = "anh.png", caption: str = "") -> int:
        form = FormData()
        form.add_field("client_id", secrets.token_hex(8))
        form.add_field("caption", caption)
        form.add_field("photo", data, filename=name, content_type="application/octet-stream")
        async with self.http.post(f"{self.base}/chat/api/upload", data=form,
                                  headers={"X-CSRF-Token": self.csrf}) as response:
            return response.status

    @staticmethod
    def plain(messages: list[dict[str, Any]]) -> str:
        return "\n".join(html_to_plain(m["html"]) for m in messages)


def with_doors(services: Any, **changes: Any) -> Any:
    """`services` whose settings' doors section has `changes` (before a web app is built on it)."""
    settings = services.settings
    services.settings = settings.model_copy(update={"doors": settings.doors.model_copy(update=changes)})
    return services


def with_portal(services: Any, **changes: Any) -> Any:
    settings = services.settings
    services.settings = settings.model_copy(update={"portal": settings.portal.model_copy(update=changes)})
    return services


@asynccontextmanager
async def serve_web(services: Any) -> AsyncIterator[tuple[ClientSession, str]]:
    """The real web app on 127.0.0.1 (a free port) and a client with a cookie jar."""
    from aiohttp import CookieJar, web

    from bot.main.composition import build_web_app

    runner = web.AppRunner(build_web_app(services, telegram=None))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
            yield http, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
