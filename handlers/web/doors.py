"""What every public door answers when it refuses: a 4xx/503 with a clear Vietnamese message
(templates/vi/web/refusal.j2), never a 500; JSON that strict parsers accept (no Infinity/NaN);
and a transient database error answered 503 with nothing processed, so the retry is handled."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import OperationalError

from bot.core.render import Texts

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "5"
MACHINE_PATHS = ("/open311/", "/telegram", "/zalo", "/metrics", "/healthz", "/readyz")   # answered for programs, by their specs
KEPT_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                "Cache-Control", "Allow")


def finite(value: Any) -> Any:
    """`value` with every non-finite float (inf, nan) replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Strict JSON: never Infinity or NaN, Vietnamese kept readable."""
    return json.dumps(finite(value), ensure_ascii=False, allow_nan=False)


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


def refusal(texts: Texts, reason: str, status: int, *, headers: dict[str, str] | None = None) -> web.Response:
    """{"ok": false, "error": reason, "message": "<Vietnamese>"}."""
    message = texts.render("web/refusal", reason=reason).strip()
    return json_response({"ok": False, "error": reason, "message": message}, status=status, headers=headers)


class Refused(web.HTTPException):
    """Raised inside a handler to answer with :func:`refusal`."""

    def __init__(self, texts: Texts, reason: str, status: int) -> None:
        self.status_code = status
        super().__init__(text=dumps({"ok": False, "error": reason,
                                     "message": texts.render("web/refusal", reason=reason).strip()}),
                         content_type="application/json")


def doors_middleware(texts: Texts) -> Callable:
    """A transient database error anywhere behind the web doors → 503 + Retry-After (the
    transaction was rolled back: the message is left unprocessed and its retry is handled)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        try:
            return await handler(request)
        except Refused:
            raise
        except web.HTTPException as exc:
            if exc.status < 400 or request.path.startswith(MACHINE_PATHS):
                raise
            # aiohttp's own refusals (unknown page, wrong method, body too large): in Vietnamese
            reason = {404: "not_found", 405: "not_found", 413: "too_large", 403: "session"}.get(exc.status, "format")
            response = web.Response(text=texts.render("web/refusal", reason=reason).strip(), status=exc.status,
                                    content_type="text/plain")
            for name in KEPT_HEADERS:
                if name in exc.headers:
                    response.headers[name] = exc.headers[name]
            return response
        except OperationalError:
            log.warning("database unavailable: %s %s answered 503", request.method, request.path)
            return refusal(texts, "busy", 503, headers={"Retry-After": RETRY_AFTER_SECONDS})

    return middleware
