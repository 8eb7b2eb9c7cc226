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
from pathlib import Path

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from sqlalchemy.exc import OperationalError

from bot.core.domain import Attachment, Channel, Inbound, Reply
from bot.core.throttles import DoorThrottle
from bot.intake.attachments import check_attachment
from bot.intake.upload_files import folder_bytes, upload_name, web_folder
from bot.service.transactions import Service
from bot.service.web_replies import conversation_started, erase_transcript, fetch_replies
from bot.tickets.channel_alerts import alert_storage_full
from handlers.web.chat_input import BadInput, after_of, client_id_of, parse_message
from handlers.web.doors import Refused, json_response
from handlers.web.security import CSRF_FIELD, CSRF_HEADER, RateLimiter, Sessions, client_address
from storage.engine import write_session
from storage.models import TicketAttachment

log = logging.getLogger(__name__)
ALLOWED_TAG_RE = re.compile(r"</?(b|strong|i|em|u|ins|s|strike|del|code|pre|br)\s*/?>", re.IGNORECASE)
LINK_RE = re.compile(r"<a\s+href=\"(https?://[^\"<>\s]+)\">", re.IGNORECASE)
TAG_RE = re.compile(r"<[^>]*>")
IMAGE_TYPES = MappingProxyType({b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png")})
MIME = MappingProxyType({".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"})
GAUGE_SECONDS = 300.0          # the uploads' total size is measured again this often
ALERT_SECONDS = 3600.0         # at most one storage alert an hour


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
    """Request handlers of /chat and /chat/api/*. Every refusal is a 4xx/503 with a Vietnamese message."""

    def __init__(self, service: Service, sessions: Sessions) -> None:
        self.service = service
        self.services = service.services
        self.sessions = sessions
        settings = self.services.settings
        self.limiter = RateLimiter(settings.portal.chat_messages_per_minute, 60.0)
        self.throttle = DoorThrottle(settings.doors)
        self.folder = web_folder(settings.storage.attachments_dir)
        self._gauge: tuple[float, int] = (float("-inf"), 0)     # (measured at, bytes) of the uploads
        self._alerted = float("-inf")

    def refuse(self, reason: str, status: int) -> Refused:
        return Refused(self.services.texts, reason, status)

    async def page(self, request: web.Request) -> web.Response:
        """The chat page (add ?embed=1 inside an iframe on the commune's website)."""
        sid = self.sessions.new_or_existing(request)
        body = self.services.texts.render("web/chat", commune=self.services.settings.commune,
                                          csrf=self.sessions.csrf_token(sid), embedded=request.query.get("embed") == "1",
                                          ended=request.query.get("da-ket-thuc") == "1")
        response = web.Response(text=body, content_type="text/html")
        self.sessions.ensure(request, response, sid)
        return response

    async def end(self, request: web.Request) -> web.Response:
        """POST /chat/ket-thuc ("Kết thúc phiên", shared computers): the transcript is erased and the
        cookie dropped; the next visitor starts a new, empty session."""
        try:
            form = await request.post()
        except ValueError:
            raise self.refuse("format", 400) from None
        sid = self._session(request, str(form.get(CSRF_FIELD, "")))
        await asyncio.to_thread(erase_transcript, self.services.engine, self.sessions.pseudonym(sid))
        response = web.HTTPSeeOther("/chat?da-ket-thuc=1")
        self.sessions.end(response)
        raise response

    def _session(self, request: web.Request, token: str | None) -> str:
        try:
            return self.sessions.check_csrf(request, token)
        except web.HTTPForbidden:
            raise self.refuse("session", 403) from None

    def _user(self, request: web.Request) -> str:
        user_id = self.sessions.pseudonym(self._session(request, request.headers.get(CSRF_HEADER)))
        if not self.limiter.allow(user_id):
            raise self.refuse("too_fast", 429)
        return user_id

    def _address(self, request: web.Request) -> str:
        return client_address(request, self.services.settings.portal.trusted_proxies)

    async def _take(self, kinds: tuple[tuple[str, str], ...], *, record: bool = True) -> bool:
        """Count one event of each (kind, who) against the per-address/session limits; False if over."""
        def run() -> bool:
            now = self.services.clock.now()
            with write_session(self.services.engine) as session:
                if not all(self.throttle.allowed(session, kind, who, now=now) for kind, who in kinds):
                    return False
                if record:
                    for kind, who in kinds:
                        self.throttle.record(session, kind, who, now=now)
            return True

        return await asyncio.to_thread(run)

    async def send(self, request: web.Request) -> web.Response:
        """Text, a button payload or a location from the browser → one Inbound."""
        user_id = self._user(request)
        try:
            message = parse_message(await request.json())
        except (ValueError, UnicodeDecodeError):
            raise self.refuse("format", 400) from None
        except BadInput as exc:
            raise self.refuse(exc.reason, 400) from None
        address = self._address(request)
        if not await self._take((("message", address),)):
            raise self.refuse("address_limit", 429)
        inbound = Inbound(channel=Channel.WEB, user_id=user_id, chat_id=user_id,
                          external_id=f"{user_id[:40]}:{message.client_id}", text=message.text,
                          payload=message.payload, location=message.location, client_address=address)
        await self._handle(inbound)
        return json_response({"ok": True})

    async def upload(self, request: web.Request) -> web.Response:
        """A photo (JPEG, PNG or WebP, within the configured size) with an optional caption; its
        metadata (EXIF/GPS) is stripped by the same path as every channel's (bot/intake/attachments)."""
        user_id = self._user(request)
        address = self._address(request)
        quotas = (("upload", address), ("upload_session", user_id), ("message", address))
        if not await self._take(quotas, record=False):
            raise self.refuse("upload_limit", 429)
        await self._check_ceiling()
        client_id, caption, stored = "", "", None
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if part.name == "client_id":
                    client_id = (await part.text())[:41]
                elif part.name == "caption":
                    caption = (await part.text())[:1000]
                elif part.name == "photo" and stored is None:
                    stored = await self._store(part)
            client_id = client_id_of(client_id)
        except (BadInput, ValueError, AssertionError, LookupError, UnicodeDecodeError):
            raise self.refuse("format", 400) from None
        if stored is None:
            raise self.refuse("format", 400)
        path, mime, size = stored
        await self._take(quotas)
        attachment = Attachment(kind="photo", ref=f"web:{path.name}", mime=mime, size=size, path=str(path))
        inbound = Inbound(channel=Channel.WEB, user_id=user_id, chat_id=user_id, external_id=f"{user_id[:40]}:{client_id}",
                          text=caption.replace("\x00", ""), attachments=(attachment,), client_address=address)
        await self._handle(inbound)
        return json_response({"ok": True})

    async def _check_ceiling(self) -> None:
        """Refuse uploads (and alert an admin, at most hourly) once the uploads reach the ceiling."""
        loop = asyncio.get_running_loop()
        measured, used = self._gauge
        if loop.time() - measured > GAUGE_SECONDS:
            used = await asyncio.to_thread(folder_bytes, self.folder)
            self._gauge = (loop.time(), used)
        settings = self.services.settings
        if used < settings.doors.storage_ceiling_bytes:
            return
        if loop.time() - self._alerted > ALERT_SECONDS:
            self._alerted = loop.time()

            def alert() -> None:
                with write_session(self.services.engine) as session:
                    alert_storage_full(session, settings=settings, texts=self.services.texts,
                                       now=self.services.clock.now(), used=used)

            await asyncio.to_thread(alert)
        raise self.refuse("storage_full", 503)

    async def _store(self, part) -> tuple[Path, str, int]:  # noqa: ANN001 - aiohttp BodyPartReader
        limit = self.services.settings.storage.max_attachment_bytes
        chunks, size = [], 0
        while chunk := await part.read_chunk(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise self.refuse("too_large", 413)
            chunks.append(chunk)
        checked = await asyncio.to_thread(check_attachment, "photo", b"".join(chunks), max_bytes=limit)
        if not checked.ok:
            raise self.refuse("too_large" if checked.reason == "too_large" else "wrong_type",
                              413 if checked.reason == "too_large" else 415)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / upload_name(self.services.clock.now(), checked.extension)
        await asyncio.to_thread(path.write_bytes, checked.data)
        measured, used = self._gauge
        self._gauge = (measured, used + len(checked.data))
        return path, MIME.get(checked.extension, "application/octet-stream"), len(checked.data)

    async def _handle(self, inbound: Inbound) -> None:
        try:
            result = await asyncio.to_thread(self.service.handle_inbound, inbound)
        except OperationalError:
            raise       # nothing was committed: 503 (handlers/web/doors.py), the browser sends it again
        except Exception:  # noqa: BLE001 - apologise in the chat rather than leave the citizen waiting
            log.exception("web chat inbound failed")
            await asyncio.to_thread(self.service.handle_failure, inbound)
            return
        if result.ticket_codes:
            await asyncio.to_thread(link_web_files, self.services.engine, self.folder)

    async def messages(self, request: web.Request) -> web.Response:
        """Replies for this browser's chat after a given id."""
        user_id = self.sessions.pseudonym(self._session(request, request.headers.get(CSRF_HEADER)))
        try:
            after = after_of(request.query.get("after"))
        except BadInput:
            raise self.refuse("format", 400) from None
        engine, now = self.services.engine, self.services.clock.now()
        rows = await asyncio.to_thread(fetch_replies, engine, user_id, after=after, now=now)
        started = True if rows or after else await asyncio.to_thread(conversation_started, engine, user_id)
        return json_response({"messages": [reply_json(m.id, m.reply) for m in rows], "started": started})
