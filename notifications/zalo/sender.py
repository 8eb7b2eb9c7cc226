"""Renders a Reply for Zalo OA (plain text ≤ 2000, `oa.query.show` buttons ≤ 5, a numbered list
beyond that, the request-user-info card, images) and sends it, mapping every Zalo error code of
channels.md onto the outbox's failures.

Before sending it asks whether the citizen's 7-day consultation window is open; when it is not,
the message is held (and an approved template message goes out instead when one is configured).
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config.settings import ZaloSettings
from bot.core.domain import ZALO_GROUP_PREFIX, Attachment, ButtonKind, Reply
from bot.core.render import Texts, html_to_plain
from notifications.outbox.channel import HeldFailure, PermanentFailure, TemporaryFailure
from notifications.zalo.api import ZaloApiError, ZaloClient
from notifications.zalo.tokens import ZaloTokens

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({-216, -220})
NOT_FOLLOWER = -213
WINDOW_CLOSED = frozenset({-230, -232})
RATE_LIMITED = -32
BAD_PARAMETER = -201
MAX_IMAGE_BYTES = 1024 * 1024


def split_plain(text: str, limit: int) -> list[str]:
    """Split plain text at line breaks, then spaces, so each part has at most `limit` characters."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > limit // 2 else limit
            parts.append(line[:cut].rstrip())
            line = line[cut:].lstrip(" ")
        current = line
    if current:
        parts.append(current)
    return parts


class ZaloSender:
    """The Zalo channel behind the outbox."""

    channel = "zalo"

    def __init__(self, client: ZaloClient, tokens: ZaloTokens, texts: Texts, settings: ZaloSettings, *,
                 window_open: Callable[[str], bool] | None = None, files_root: Path | None = None,
                 on_group_failure: Callable[[str, int, str], None] | None = None) -> None:
        self.client, self.tokens, self.texts, self.settings = client, tokens, texts, settings
        self.window_open = window_open
        self.files_root = files_root
        # Called (in a worker thread) once per error code when a group message is refused for good:
        # quota exhausted or an unknown code; an admin is told once, not per message.
        self.on_group_failure = on_group_failure
        self._group_codes_alerted: set[int] = set()

    def min_interval(self, chat_id: str) -> float:
        return self.settings.per_chat_interval

    # --- rendering (pure) ---------------------------------------------------------------------

    def render_group(self, chat_id: str, reply: Reply) -> list[dict[str, Any]]:
        """Group (GMF) bodies: text only, no buttons (none are documented for groups), no 7-day window."""
        recipient = {"group_id": chat_id.removeprefix(ZALO_GROUP_PREFIX)}
        text = html_to_plain(reply.text).strip() or "…"
        return [{"recipient": recipient, "message": {"text": part}}
                for part in split_plain(text, self.settings.text_limit)]

    def render(self, chat_id: str, reply: Reply) -> list[dict[str, Any]]:
        """The request bodies for one reply, in sending order (images excluded: they need an upload)."""
        if chat_id.startswith(ZALO_GROUP_PREFIX):
            return self.render_group(chat_id, reply)
        recipient = {"user_id": chat_id}
        text = html_to_plain(reply.text).strip() or "…"
        flat = [b for row in reply.buttons for b in row]
        # Numbers follow the core's choice order, so a typed digit picks the same choice.
        choices = [(number, b) for number, b in enumerate(flat, start=1) if b.kind == ButtonKind.PAYLOAD]
        buttons: list[dict[str, str]] = []
        if len(choices) > self.settings.max_buttons:
            listing = self.texts.render("citizen/zalo_choices",
                                        choices=[(n, b.label) for n, b in choices])
            text = f"{text}\n\n{html_to_plain(listing)}"
        else:
            # Labels are plain text already (like Telegram's button labels): sent as they are.
            buttons = [{"title": b.label[:self.settings.button_title_limit],
                        "type": self.settings.button_type, "payload": b.payload} for _, b in choices]
        parts = split_plain(text, self.settings.text_limit)
        bodies: list[dict[str, Any]] = [{"recipient": recipient, "message": {"text": part}} for part in parts]
        if buttons:
            payload: dict[str, Any] = {"buttons": buttons}
            if self.settings.button_template_type:
                payload["template_type"] = self.settings.button_template_type
            bodies[-1]["message"]["attachment"] = {"type": "template", "payload": payload}
        if any(b.kind == ButtonKind.REQUEST_CONTACT for b in flat):
            element = {"title": html_to_plain(self.texts.render("citizen/zalo_request_info_title"))[:100],
                       "subtitle": html_to_plain(self.texts.render("citizen/zalo_request_info_subtitle"))[:500]}
            if self.settings.request_info_image_url:
                element["image_url"] = self.settings.request_info_image_url
            bodies.append({"recipient": recipient, "message": {"attachment": {"type": "template", "payload": {
                "template_type": "request_user_info", "elements": [element]}}}})
        return bodies

    def _media_body(self, chat_id: str, element: dict[str, str]) -> dict[str, Any]:
        return {"recipient": {"user_id": chat_id}, "message": {"attachment": {"type": "template", "payload": {
            "template_type": "media", "elements": [{"media_type": "image", **element}]}}}}

    # --- sending ------------------------------------------------------------------------------

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        if chat_id.startswith(ZALO_GROUP_PREFIX):
            return await self._send_group(chat_id, reply)
        if self.window_open is not None and not await asyncio.to_thread(self.window_open, chat_id):
            notified = await self._send_template(chat_id, reply)
            raise HeldFailure("zalo: consultation window closed (no message from the citizen for 7 days)",
                              notified=notified)
        for body in self.render(chat_id, reply):
            await self._call(lambda token, b=body: self.client.send(token, b))
        for attachment in reply.attachments:
            element = await self._image_element(attachment)
            if element:
                await self._call(lambda token, e=element: self.client.send(token, self._media_body(chat_id, e)))

    async def _send_group(self, chat_id: str, reply: Reply) -> str:
        """Send to a group; returns the first message's id (a card remembers it, so quoting it names the ticket)."""
        path = self.settings.group.message_path
        first = ""
        try:
            for body in self.render_group(chat_id, reply):
                answer = await self._call(lambda token, b=body: self.client.send(token, b, path=path), group=True)
                data = answer.get("data") if isinstance(answer, dict) else None
                first = first or (str(data.get("message_id") or "") if isinstance(data, dict) else "")
            for attachment in reply.attachments:
                element = await self._image_element(attachment)
                if element:
                    body = self._media_body(chat_id, element)
                    body["recipient"] = {"group_id": chat_id.removeprefix(ZALO_GROUP_PREFIX)}
                    await self._call(lambda token, b=body: self.client.send(token, b, path=path), group=True)
        except ZaloApiError as exc:          # a group error we do not retry: tell an admin, once per code
            if exc.code not in self._group_codes_alerted and self.on_group_failure is not None:
                self._group_codes_alerted.add(exc.code)
                await asyncio.to_thread(self.on_group_failure, chat_id, exc.code, exc.message[:200])
            quota = exc.code in self.settings.group.quota_error_codes
            raise PermanentFailure(f"zalo group: {'quota exhausted' if quota else 'refused'} ({exc.code})") from exc
        self._group_codes_alerted.clear()
        return first

    async def _image_element(self, attachment: Attachment) -> dict[str, str] | None:
        """Upload a stored image (jpg/png ≤ 1 MB) or point at its URL; other files are not sent."""
        path = Path(attachment.path) if attachment.path else None
        if path is not None and self.files_root is not None and not path.is_absolute():
            path = self.files_root / path
        if path is not None and path.is_file():
            mime = attachment.mime or mimetypes.guess_type(path.name)[0] or ""
            data = await asyncio.to_thread(path.read_bytes)
            if mime not in ("image/jpeg", "image/png") or len(data) > MAX_IMAGE_BYTES:
                log.warning("zalo: attachment %s not sent (only jpg/png up to 1 MB)", attachment.kind)
                return None
            attachment_id = await self._call(lambda token: self.client.upload_image(
                token, data, filename=path.name, mime=mime))
            return {"attachment_id": attachment_id}
        if attachment.ref.startswith(("http://", "https://")):
            return {"url": attachment.ref}
        return None

    async def _call(self, request: Callable[[str], Any], *, group: bool = False) -> Any:
        """One API call with the current token; a rejected token is refreshed once and retried.

        In a group, errors other than token, rate limit and bad parameter stay ZaloApiError (the
        group sender decides: not retried, an admin alerted)."""
        token = await self.tokens.access_token()
        try:
            return await request(token)
        except ZaloApiError as exc:
            if exc.code not in TOKEN_ERRORS:
                if group and self._group_own(exc):
                    raise
                raise self._failure(exc) from exc
        token = await self.tokens.refresh(stale=token)
        try:
            return await request(token)
        except ZaloApiError as exc:
            if group and self._group_own(exc):
                raise
            raise self._failure(exc) from exc

    @staticmethod
    def _group_own(exc: ZaloApiError) -> bool:
        """A group error the group sender handles itself (not token, rate limit or bad parameter)."""
        return exc.code not in TOKEN_ERRORS and exc.code not in (RATE_LIMITED, BAD_PARAMETER)

    def _failure(self, exc: ZaloApiError) -> Exception:
        """channels.md's error table as outbox outcomes."""
        if exc.code in TOKEN_ERRORS:
            return TemporaryFailure(f"zalo: token rejected twice ({exc.code})")
        if exc.code == NOT_FOLLOWER:
            return HeldFailure("zalo: the citizen does not follow the OA (-213)")
        if exc.code in WINDOW_CLOSED:
            return HeldFailure(f"zalo: consultation window closed ({exc.code})")
        if exc.code == RATE_LIMITED:
            return TemporaryFailure("zalo: rate limited (-32)", retry_after=self.settings.rate_limit_retry_seconds)
        if exc.code == BAD_PARAMETER:
            return PermanentFailure(f"zalo: bad parameter (-201): {exc.message[:200]}")
        log.warning("zalo: unexpected error code %s; will retry", exc.code)
        return TemporaryFailure(f"zalo error {exc.code}: {exc.message[:200]}")

    async def _send_template(self, chat_id: str, reply: Reply) -> bool:
        """An approved template message in place of a consultation message; False when none or refused."""
        template = self.settings.template
        if not template.template_id:
            return False
        text = html_to_plain(reply.text).strip()
        if len(text) > template.max_chars:
            text = text[:template.max_chars - 1].rsplit(" ", 1)[0] + "…"
        body = {"recipient": {"user_id": chat_id}, "template_id": template.template_id,
                "template_data": {template.text_param: text}}
        try:
            await self._call(lambda token: self.client.send(token, body, path=template.path))
        except (ZaloApiError, TemporaryFailure, PermanentFailure, HeldFailure) as exc:
            log.warning("zalo: template message not sent: %s", str(exc)[:200])
            return False
        return True
