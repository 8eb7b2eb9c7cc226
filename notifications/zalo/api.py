"""A small aiohttp client for the Zalo OA API and OAuth v4, with Zalo's error envelope made explicit.

Zalo answers HTTP 200 with `{"error": <non-zero>, "message": ...}` on failure, so every answer's
`error` is checked. Secrets and tokens never reach the log.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from bot.config.settings import ZaloSettings
from notifications.outbox.channel import TemporaryFailure


class ZaloApiError(Exception):
    """A non-zero `error` in Zalo's answer."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"zalo error {code}: {message[:200]}")
        self.code = code
        self.message = message


def _error_code(body: dict[str, Any]) -> int:
    try:
        return int(body.get("error") or 0)
    except (TypeError, ValueError):
        return -1


class ZaloClient:
    """HTTP to openapi.zalo.me and oauth.zaloapp.com (or whatever the settings point at)."""

    def __init__(self, settings: ZaloSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.http_timeout),
                                                  connector=aiohttp.TCPConnector(limit=32))
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (a new one opens on next use)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _post(self, url: str, *, headers: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._http().post(url, headers=headers, **kwargs) as response:
                raw = await response.read()
                if response.status == 429 or response.status >= 500:
                    raise TemporaryFailure(f"HTTP {response.status} from {url}")
                if response.status >= 400:
                    raise ZaloApiError(-response.status, f"HTTP {response.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise TemporaryFailure(f"network: {exc.__class__.__name__}") from exc
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise TemporaryFailure("unreadable answer from Zalo") from exc
        if not isinstance(body, dict):
            raise TemporaryFailure("unexpected answer from Zalo")
        code = _error_code(body)
        if code != 0:
            raise ZaloApiError(code, str(body.get("message") or body.get("error_name")
                                         or body.get("error_description") or ""))
        return body

    async def send(self, access_token: str, body: dict[str, Any], *, path: str | None = None) -> dict[str, Any]:
        """POST a message (consultation by default); the token goes in the `access_token` header."""
        url = self.settings.api_base_url.rstrip("/") + (path or self.settings.message_path)
        return await self._post(url, headers={"access_token": access_token}, json=body)

    async def upload_image(self, access_token: str, data: bytes, *, filename: str, mime: str) -> str:
        """Upload a jpg/png (≤ 1 MB) and return its attachment_id (valid about 7 days)."""
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("file", data, filename=filename, content_type=mime)
        url = self.settings.api_base_url.rstrip("/") + self.settings.upload_image_path
        body = await self._post(url, headers={"access_token": access_token}, data=form)
        data_node = body.get("data") if isinstance(body.get("data"), dict) else {}
        attachment_id = str(data_node.get("attachment_id") or "")
        if not attachment_id:
            raise ZaloApiError(-1, "upload answered without attachment_id")
        return attachment_id

    async def oauth_token(self, form: dict[str, str]) -> dict[str, Any]:
        """POST /v4/oa/access_token (form-encoded, `secret_key` header) and return the answer."""
        url = self.settings.oauth_base_url.rstrip("/") + self.settings.token_path
        return await self._post(url, headers={"secret_key": self.settings.app_secret}, data=form)
