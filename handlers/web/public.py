"""The public home page (figures, trends, charts, published answers) and the /tra-cuu lookup."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from bot.core.attempts import AttemptLimiter
from bot.interop.public_stats import PublicPage, build_public_page
from bot.documents.report_docx import percent
from bot.documents.statistics import Row
from bot.service.transactions import Services
from bot.core.render import labels as label_texts
from bot.intake.lookup import lookup_ticket, normalize_code
from handlers.web.security import CSRF_FIELD, RateLimiter, Sessions, client_address
from storage.engine import read_session, write_session


def trend_chart(page: PublicPage, *, width: int = 640, height: int = 200) -> dict[str, Any]:
    """Bar geometry for received/resolved per month (server-rendered SVG, no script)."""
    months = page.months
    words = label_texts()
    top = max([1] + [max(m.received, m.resolved) for m in months])
    slot = width / max(1, len(months))
    bar_w = slot * 0.32
    plot_h = height - 34
    bars, labels = [], []
    for index, m in enumerate(months):
        x0 = index * slot + slot * 0.16
        for offset, value, cls, word in ((0, m.received, "received", words["chart_received"]),
                                         (bar_w, m.resolved, "resolved", words["chart_resolved"])):
            h = round(plot_h * value / top, 1)
            bars.append({"x": round(x0 + offset, 1), "y": round(height - 20 - h, 1), "w": round(bar_w, 1), "h": h,
                         "cls": cls, "value": value, "tip": f"{m.month:02d}/{m.year}: {value} {word}"})
        labels.append({"x": round(index * slot + slot / 2, 1), "text": f"{m.month:02d}/{m.year % 100:02d}"})
    return {"width": width, "height": height, "bars": bars, "labels": labels}


def bar_list(rows: list[Row], *, width: int = 460, left: int = 170) -> dict[str, Any]:
    """Horizontal bars for a table of totals."""
    top = max([1] + [r.total for r in rows])
    ordered = sorted(rows, key=lambda r: -r.total)
    out = [{"label": r.name if len(r.name) <= 28 else r.name[:27] + "…", "value": r.total, "y": 6 + i * 24,
            "w": round((width - left - 40) * r.total / top, 1)} for i, r in enumerate(ordered)]
    return {"width": width, "height": 12 + 24 * len(out), "left": left, "rows": out}


class PublicPages:
    """Handlers of / and /tra-cuu."""

    def __init__(self, services: Services, sessions: Sessions) -> None:
        self.services = services
        self.sessions = sessions
        portal = services.settings.portal
        self.by_address = RateLimiter(portal.lookup_attempts_per_hour, 3600.0)
        self.attempts = AttemptLimiter.from_settings(services.settings.doors)
        self._cached: tuple[float, str] | None = None

    def _today(self):  # noqa: ANN202
        return self.services.clock.now().astimezone(self.services.settings.commune.tz).date()

    async def home(self, request: web.Request) -> web.Response:
        """Figures for public ticket types only; never khiếu nại or tố cáo, never personal data."""
        def load() -> PublicPage:
            with read_session(self.services.engine) as session:
                return build_public_page(session, self.services.settings, today=self._today())

        ttl = self.services.settings.portal.public_cache_seconds
        if self._cached is None or time.monotonic() - self._cached[0] > ttl:
            page = await asyncio.to_thread(load)
            body = self.services.texts.render("web/public", commune=self.services.settings.commune, page=page,
                                              pct=percent, trend=trend_chart(page),
                                              by_category=bar_list(page.report.by_category),
                                              by_hamlet=bar_list(page.report.by_hamlet))
            # Everyone sees the same page: compute it at most once per `ttl` seconds, however busy.
            self._cached = (time.monotonic(), body)
        return web.Response(text=self._cached[1], content_type="text/html")

    def _lookup_page(self, request: web.Request, sid: str, *, status: int = 200, **context: Any) -> web.Response:
        context.setdefault("t", None)
        context.setdefault("error", "")
        context.setdefault("code", "")
        body = self.services.texts.render("web/lookup", commune=self.services.settings.commune,
                                          csrf=self.sessions.csrf_token(sid), year=self._today().year, **context)
        response = web.Response(text=body, content_type="text/html", status=status)
        self.sessions.ensure(request, response, sid)
        return response

    async def lookup_form(self, request: web.Request) -> web.Response:
        """The empty lookup form."""
        return self._lookup_page(request, self.sessions.new_or_existing(request))

    async def lookup(self, request: web.Request) -> web.Response:
        """Code + PIN → status; rate-limited per address and per code; the same answer for any miss."""
        try:
            form = await request.post()
        except ValueError:
            form = {}
        try:
            sid = self.sessions.check_csrf(request, str(form.get(CSRF_FIELD, "")))
        except web.HTTPForbidden:        # an old or foreign form: say so, and offer a fresh one
            return self._lookup_page(request, self.sessions.new_or_existing(request), status=403, error="session")
        code_raw, pin = str(form.get("code", ""))[:40], str(form.get("pin", ""))[:12]
        code = normalize_code(code_raw)
        if not self.by_address.allow(client_address(request, self.services.settings.portal.trusted_proxies)):
            return self._lookup_page(request, sid, status=429, error="limited", code=code or "")
        if code is None or not pin.strip().isdigit() or len(pin.strip()) != 6:
            return self._lookup_page(request, sid, status=400, error="format", code=code_raw)
        client = client_address(request, self.services.settings.portal.trusted_proxies)

        def find() -> tuple[str, dict[str, object] | None]:
            # The one attempt limiter: wrong PINs counted per code on every channel and per address.
            now = self.services.clock.now()
            keys = {"scope": "pin", "subject": code, "client": client, "now": now}
            with write_session(self.services.engine) as session:
                if self.attempts.check(session, **keys).locked:
                    return "limited", None
                found = lookup_ticket(session, self.services.settings, self.services.texts, code=code, pin=pin)
                if found is None:
                    self.attempts.failed(session, **keys)
                    return "not_found", None
                self.attempts.succeeded(session, **keys)
                return "", found

        error, found = await asyncio.to_thread(find)
        if error == "limited":
            return self._lookup_page(request, sid, status=429, error="limited", code=code)
        if found is None:
            return self._lookup_page(request, sid, status=404, error="not_found", code=code)
        return self._lookup_page(request, sid, t=found, code=code)
