"""An official in a browser-less client against the real back office over HTTP: asks the bot for a
sign-in link with /dangnhap (through the real Service), reads it from the outbox, spends it, then
reads pages and posts forms with the page's CSRF token."""

from __future__ import annotations

import json
import re

from aiohttp import ClientSession, CookieJar
from sqlmodel import Session, col, select

from bot.core.render import html_to_plain
from storage.engine import write_session
from storage.models import OutboxMessage, Ticket
from testkit.images import png_bytes  # noqa: F401 - re-exported for the back-office tests
from testkit.office_driver import OfficeChat
from testkit.office_tickets import add_ticket
from testkit.web_server import CHROMIUM, DRIVER, ServerThread  # noqa: F401 - re-exported for the browser tests

LINK_RE = re.compile(r"(https?://\S+/can-bo/vao\?t=[A-Za-z0-9_\-]+)")
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def newest_link(engine, chat_id: str) -> str:
    """The sign-in link in the newest outbox message to `chat_id` that has one."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                            .order_by(col(OutboxMessage.id).desc())).all()
    for row in rows:
        match = LINK_RE.search(html_to_plain(json.loads(row.payload)["text"]))
        if match:
            return match.group(1)
    raise AssertionError(f"no sign-in link sent to {chat_id}")


def ask_link(service, user_id: str, chat_id: str | None = None) -> str:
    """/dangnhap from the official's chat; the link that reached their private chat."""
    OfficeChat(service, user_id=user_id, chat_id=chat_id).send("/dangnhap")
    return newest_link(service.services.engine, user_id)


class Browser:
    """Cookies kept per client, like one browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = ClientSession(cookie_jar=CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    def local(self, link: str) -> str:
        """A link built with web.public_url, pointed at the test server."""
        return self.base + link[link.index("/can-bo"):]

    async def get(self, path: str, **kw) -> tuple[int, str]:
        async with self.http.get(self.base + path, allow_redirects=False, **kw) as r:
            body = await r.text() if r.content_type.startswith("text") else ""
            found = CSRF_RE.search(body)
            if found:
                self.csrf = found.group(1)
            return r.status, body if r.status != 303 else r.headers.get("Location", "")

    async def get_bytes(self, path: str) -> tuple[int, bytes, str]:
        async with self.http.get(self.base + path, allow_redirects=False) as r:
            return r.status, await r.read(), r.headers.get("Content-Type", "")

    async def post(self, path: str, data: dict, *, csrf: str | None = None) -> tuple[int, str]:
        form = {"csrf": self.csrf if csrf is None else csrf, **data}
        async with self.http.post(self.base + path, data=form, allow_redirects=False) as r:
            body = await r.text()
            found = CSRF_RE.search(body)
            if found:
                self.csrf = found.group(1)
            return r.status, body if r.status != 303 else r.headers.get("Location", "")

    async def sign_in(self, link: str) -> int:
        status, _ = await self.get(self.local(link)[len(self.base):])
        assert status == 200
        token = link.split("t=", 1)[1]
        status, _ = await self.post("/can-bo/vao", {"t": token})
        if status == 303:
            await self.get("/can-bo/hang-doi")          # a page of the back office: its CSRF token
        return status

    def cookie(self, name: str = "dv_bo") -> str:
        for morsel in self.http.cookie_jar:
            if morsel.key == name and morsel["path"] == "/can-bo":
                return morsel.value
        return ""


def make_ticket(services, *, accepted: bool) -> Ticket:
    """A KT ticket with a named contact and an electronic chat ("cit"), received or accepted."""
    with write_session(services.engine) as session:
        return add_ticket(session, services, accepted=accepted)
