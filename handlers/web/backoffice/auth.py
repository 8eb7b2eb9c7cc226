"""Back-office sessions over HTTP: the cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS, path
/can-bo), the check on every request (idle, signed out, revoked), CSRF on every form, and the sign-in
pages. The session id is chosen by the server at sign-in only; a cookie it does not know is ignored."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from aiohttp import web
from sqlmodel import Session

from bot.backoffice.desk import Desk
from bot.core.domain import Channel
from bot.officials import web_session
from bot.service.transactions import Service, Services
from handlers.web.security import CSRF_FIELD, RateLimiter, Sessions, client_address
from storage.engine import read_session, write_session
from storage.models import Official
from storage.outbox import enqueue_message
from storage.web_sessions import find_session

COOKIE = "dv_bo"
PATH = "/can-bo"
LOGIN_PAGE = "/can-bo/dang-nhap"
LINK_REQUESTS_PER_HOUR = 10
LINKS_PER_ACCOUNT_PER_HOUR = 5
T = TypeVar("T")


@dataclass
class Visitor:
    """A signed-in official and their session id (the cookie's value)."""

    official: Official
    session_id: str


def no_store(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


class BackofficeAuth:
    """Who is asking, and the pages that sign them in and out."""

    def __init__(self, services: Services, service: Service, sessions: Sessions) -> None:
        self.services, self.service, self.sessions = services, service, sessions
        self.idle = timedelta(minutes=services.settings.web.session_idle_minutes)
        self.link_requests = RateLimiter(LINK_REQUESTS_PER_HOUR, 3600.0)
        self.links_per_account = RateLimiter(LINKS_PER_ACCOUNT_PER_HOUR, 3600.0)   # no flooding someone's chat

    # --- helpers ------------------------------------------------------------------------------

    def render(self, name: str, *, status: int = 200, **context: object) -> web.Response:
        body = self.services.texts.render(f"web/backoffice/{name}", commune=self.services.settings.commune,
                                          **context)
        return no_store(web.Response(text=body, content_type="text/html", status=status))

    def secure(self, request: web.Request) -> bool:
        return request.secure or self.services.settings.web.public_url.startswith("https://")

    def csrf(self, visitor: Visitor) -> str:
        return self.sessions.csrf_token(f"bo:{visitor.session_id}")

    def check_csrf(self, visitor: Visitor, supplied: str) -> None:
        if not supplied or not hmac.compare_digest(self.csrf(visitor), supplied):
            raise web.HTTPForbidden(text="CSRF token missing or invalid", content_type="text/plain")

    def wake(self) -> None:
        if self.service.on_outbox:
            self.service.on_outbox()

    async def visitor(self, request: web.Request) -> Visitor | None:
        """The signed-in official, after ending an idle, signed-out or revoked session."""
        sid = request.cookies.get(COOKIE, "")
        if not (20 <= len(sid) <= 64):
            return None
        now = self.services.clock.now()

        def check() -> tuple[str, Official | None]:
            with read_session(self.services.engine) as session:
                row = find_session(session, web_session.digest(sid))
                official = session.get(Official, row.official_id) if row else None
                return web_session.session_state(row, official, now, idle=self.idle), official

        state, official = await asyncio.to_thread(check)
        if state in ("touch", "idle", "revoked"):
            def apply() -> None:
                with write_session(self.services.engine) as session:
                    row = find_session(session, web_session.digest(sid))
                    if row is not None:
                        web_session.close(session, row, state, now)
            await asyncio.to_thread(apply)
        if state not in ("ok", "touch") or official is None:
            return None
        return Visitor(official, sid)

    async def require(self, request: web.Request) -> Visitor:
        visitor = await self.visitor(request)
        if visitor is None:
            raise web.HTTPSeeOther(LOGIN_PAGE)
        return visitor

    async def run(self, visitor: Visitor, work: Callable[[Desk], T], *, write: bool = False) -> T:
        """`work` in one transaction (a write one for actions), with the official re-read inside it."""
        now = self.services.clock.now()

        def call() -> T:
            opener = write_session if write else read_session
            with opener(self.services.engine) as session:
                official = session.get(Official, visitor.official.id)
                if official is None or not official.active:
                    raise web.HTTPSeeOther(LOGIN_PAGE)
                return work(Desk(session=session, settings=self.services.settings, texts=self.services.texts,
                                 now=now, official=official, services=self.services))

        return await asyncio.to_thread(call)

    # --- pages --------------------------------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.Response:
        sid = self.sessions.new_or_existing(request)
        response = self.render("login", csrf=self.sessions.csrf_token(sid), sent=False,
                               channels=[str(Channel.TELEGRAM), str(Channel.ZALO)])
        self.sessions.ensure(request, response, sid)
        return response

    async def request_link(self, request: web.Request) -> web.Response:
        """'Đăng nhập': push a link to the account's chat; the same answer whoever asks."""
        form = await request.post()
        sid = self.sessions.check_csrf(request, str(form.get(CSRF_FIELD, "")))
        channel = str(form.get("channel", "telegram"))
        account = "".join(str(form.get("account", "")).split())[:64]
        address = client_address(request, self.services.settings.portal.trusted_proxies)
        if channel in (str(Channel.TELEGRAM), str(Channel.ZALO)) and account and self.link_requests.allow(address) \
                and self.links_per_account.allow(f"{channel}:{account}"):
            now = self.services.clock.now()

            def push() -> bool:
                with write_session(self.services.engine) as session:
                    message = web_session.request_link(session, self.services.settings, self.services.texts,
                                                       channel=channel, user_id=account, now=now)
                    if message is None:
                        return False
                    enqueue_message(session, channel=str(message.channel), chat_id=message.chat_id,
                                    payload=message.reply.to_json(), now=now)
                    return True

            if await asyncio.to_thread(push):
                self.wake()
        response = self.render("login", csrf=self.sessions.csrf_token(sid), sent=True,
                               channels=[str(Channel.TELEGRAM), str(Channel.ZALO)])
        self.sessions.ensure(request, response, sid)
        return response

    async def link_page(self, request: web.Request) -> web.Response:
        """Opening the link only shows a button: chat apps fetch links for previews, and must not spend it."""
        token = request.query.get("t", "")[:100]
        sid = self.sessions.new_or_existing(request)
        response = self.render("enter", csrf=self.sessions.csrf_token(sid), token=token, failed=False)
        self.sessions.ensure(request, response, sid)
        return response

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        sid = self.sessions.check_csrf(request, str(form.get(CSRF_FIELD, "")))
        token = str(form.get("t", ""))[:100]
        old = request.cookies.get(COOKIE, "")
        now = self.services.clock.now()
        where = f"address={client_address(request, self.services.settings.portal.trusted_proxies)}"

        def spend() -> web_session.SignIn:
            with write_session(self.services.engine) as session:
                result = web_session.sign_in(session, token, now, where=where)
                if result.official is not None and old:
                    _end_presented(session, old, now)
                return result

        result = await asyncio.to_thread(spend)
        if result.official is None:
            response = self.render("enter", status=403, csrf=self.sessions.csrf_token(sid), token="", failed=True)
            response.del_cookie(COOKIE, path=PATH)
            return response
        response = web.Response(status=303, headers={"Location": PATH})
        response.set_cookie(COOKIE, result.session_id, httponly=True, samesite="Lax", path=PATH,
                            secure=self.secure(request))
        return no_store(response)

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        visitor = await self.require(request)
        form = await request.post()
        self.check_csrf(visitor, str(form.get(CSRF_FIELD, "")))
        everywhere = form.get("everywhere") == "1"
        now = self.services.clock.now()

        def end() -> None:
            with write_session(self.services.engine) as session:
                web_session.sign_out(session, int(visitor.official.id or 0), visitor.session_id, now,
                                     everywhere=everywhere)

        await asyncio.to_thread(end)
        response = web.Response(status=303, headers={"Location": LOGIN_PAGE})
        response.del_cookie(COOKIE, path=PATH)
        return no_store(response)


def _end_presented(session: Session, presented: str, now) -> None:  # noqa: ANN001
    """A browser signing in again: the session it brought (if any) ends; the new one replaces it."""
    row = find_session(session, web_session.digest(presented))
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.add(row)
