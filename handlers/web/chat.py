"""The web chat: a third citizen channel (Channel.WEB) on the same conversation engine.

The browser posts text, button payloads, locations and photos; each becomes one Inbound handled by
Service.handle_inbound (one transaction, idempotent on the browser's message id). Replies are the
outbox rows of this chat, pulled by the browser. The chat's user id is a keyed hash of the session
cookie, so the database never holds the cookie itself.
"""

from __future__ import annotations

from types import MappingProxyType

import asyncio
import html
import logging
import re
import secrets
from pathlib import Path

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.core.domain import Attachment, Channel, Inbound, Location, Reply
from bot.service.transactions import Service
from bot.service.web_replies import conversation_started, fetch_replies
from handlers.web.security import CSRF_HEADER, RateLimiter, Sessions
from storage.engine import write_session
from storage.models import TicketAttachment

log = logging.getLogger(__name__)
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
ALLOWED_TAG_RE = re.compile(r"</?(b|strong|i|em|u|ins|s|strike|del|code|pre|br)\s*/?>", re.IGNORECASE)
LINK_RE = re.compile(r"<a\s+href=\"(https?://[^\"<>\s]+)\">", re.IGNORECASE)
TAG_RE = re.compile(r"<[^>]*>")
IMAGE_TYPES = MappingProxyType({b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png")})


def safe_html(text: str) -> str:
    """Our Telegram-style HTML subset for the browser: allowed tags kept, any other tag escaped."""
    def keep(match: re.Match[str]) -> str:
        tag = match.group(0)
        if ALLOWED_TAG_RE.fullmatch(tag):
            return tag
        link = LINK_RE.fullmatch(tag)
        if link:
            return f'<a href="{html.escape(link.group(1))}" rel="noopener noreferrer" target="_blank">'
        if tag.lower() == "</a>":
            return tag
        return html.escape(tag)

    return TAG_RE.sub(keep, text)


def reply_json(message_id: int, reply: Reply) -> dict[str, object]:
    return {"id": message_id, "html": safe_html(reply.text),
            "buttons": [[{"label": b.label, "payload": b.payload, "kind": str(b.kind)} for b in row]
                        for row in reply.buttons]}


def image_type(head: bytes) -> tuple[str, str] | None:
    """(mime, extension) from the file's first bytes; None when it is not an image we accept."""
    for magic, kind in IMAGE_TYPES.items():
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def link_web_files(engine: Engine, folder: Path) -> int:
    """Record where a web photo is stored on the ticket's attachment (after the ticket's commit)."""
    with write_session(engine) as session:
        rows = session.exec(select(TicketAttachment).where(col(TicketAttachment.ref).startswith("web:"),
                                                           TicketAttachment.path == "")).all()
        for row in rows:
            row.path = str(folder / row.ref.removeprefix("web:"))
    return len(rows)


class WebChat:
    """Request handlers of /chat and /chat/api/*."""

    def __init__(self, service: Service, sessions: Sessions) -> None:
        self.service = service
        self.services = service.services
        self.sessions = sessions
        portal = self.services.settings.portal
        self.limiter = RateLimiter(portal.chat_messages_per_minute, 60.0)

    async def page(self, request: web.Request) -> web.Response:
        """The chat page (add ?embed=1 inside an iframe on the commune's website)."""
        sid = self.sessions.new_or_existing(request)
        body = self.services.texts.render("web/chat", commune=self.services.settings.commune,
                                          csrf=self.sessions.csrf_token(sid), embedded=request.query.get("embed") == "1")
        response = web.Response(text=body, content_type="text/html")
        self.sessions.ensure(request, response, sid)
        return response

    def _user(self, request: web.Request) -> str:
        sid = self.sessions.check_csrf(request, request.headers.get(CSRF_HEADER))
        user_id = self.sessions.pseudonym(sid)
        if not self.limiter.allow(user_id):
            raise web.HTTPTooManyRequests(text="slow down", content_type="text/plain")
        return user_id

    async def send(self, request: web.Request) -> web.Response:
        """Text, a button payload or a location from the browser → one Inbound."""
        user_id = self._user(request)
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="JSON expected", content_type="text/plain") from None
        client_id = str(data.get("client_id", ""))
        if not CLIENT_ID_RE.match(client_id):
            raise web.HTTPBadRequest(text="client_id", content_type="text/plain")
        text = str(data.get("text") or "")[:4000]
        payload = data.get("payload")
        location = None
        if isinstance(data.get("location"), dict):
            try:
                location = Location(float(data["location"]["latitude"]), float(data["location"]["longitude"]))
            except (KeyError, TypeError, ValueError):
                raise web.HTTPBadRequest(text="location", content_type="text/plain") from None
        if not text and payload is None and location is None:
            raise web.HTTPBadRequest(text="empty", content_type="text/plain")
        inbound = Inbound(channel=Channel.WEB, user_id=user_id, chat_id=user_id, external_id=f"{user_id[:40]}:{client_id}",
                          text=text, payload=str(payload)[:64] if payload is not None else None, location=location)
        await self._handle(inbound)
        return web.json_response({"ok": True})

    async def upload(self, request: web.Request) -> web.Response:
        """A photo (JPEG, PNG or WebP, within the configured size) with an optional caption."""
        user_id = self._user(request)
        settings = self.services.settings
        limit = settings.storage.max_attachment_bytes
        reader = await request.multipart()
        client_id, caption, stored = "", "", None
        while (part := await reader.next()) is not None:
            if part.name == "client_id":
                client_id = (await part.text())[:40]
            elif part.name == "caption":
                caption = (await part.text())[:1000]
            elif part.name == "photo" and stored is None:
                stored = await self._store(part, limit)
        if not CLIENT_ID_RE.match(client_id) or stored is None:
            raise web.HTTPBadRequest(text="photo and client_id expected", content_type="text/plain")
        path, mime, size = stored
        attachment = Attachment(kind="photo", ref=f"web:{path.name}", mime=mime, size=size, path=str(path))
        inbound = Inbound(channel=Channel.WEB, user_id=user_id, chat_id=user_id, external_id=f"{user_id[:40]}:{client_id}",
                          text=caption, attachments=(attachment,))
        await self._handle(inbound)
        return web.json_response({"ok": True})

    async def _store(self, part, limit: int) -> tuple[Path, str, int]:  # noqa: ANN001 - aiohttp BodyPartReader
        folder = Path(self.services.settings.storage.attachments_dir) / "web"
        folder.mkdir(parents=True, exist_ok=True)
        chunks, size = [], 0
        while chunk := await part.read_chunk(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
            chunks.append(chunk)
        data = b"".join(chunks)
        kind = image_type(data[:16])
        if kind is None:
            raise web.HTTPUnsupportedMediaType(text="image/jpeg, image/png or image/webp", content_type="text/plain")
        mime, ext = kind
        path = folder / f"{secrets.token_hex(16)}{ext}"
        await asyncio.to_thread(path.write_bytes, data)
        return path, mime, size

    async def _handle(self, inbound: Inbound) -> None:
        try:
            result = await asyncio.to_thread(self.service.handle_inbound, inbound)
        except Exception:  # noqa: BLE001 - apologise in the chat rather than leave the citizen waiting
            log.exception("web chat inbound failed")
            await asyncio.to_thread(self.service.handle_failure, inbound)
            return
        if result.ticket_codes:
            folder = Path(self.services.settings.storage.attachments_dir) / "web"
            await asyncio.to_thread(link_web_files, self.services.engine, folder)

    async def messages(self, request: web.Request) -> web.Response:
        """Replies for this browser's chat after a given id."""
        sid = self.sessions.check_csrf(request, request.headers.get(CSRF_HEADER))
        user_id = self.sessions.pseudonym(sid)
        try:
            after = max(0, int(request.query.get("after", "0")))
        except ValueError:
            after = 0
        engine, now = self.services.engine, self.services.clock.now()
        rows = await asyncio.to_thread(fetch_replies, engine, user_id, after=after, now=now)
        started = True if rows or after else await asyncio.to_thread(conversation_started, engine, user_id)
        return web.json_response({"messages": [reply_json(m.id, m.reply) for m in rows], "started": started})
