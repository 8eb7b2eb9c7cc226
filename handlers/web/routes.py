"""All the web front's routes, added to the app built in bot/app.py: the public page, /tra-cuu,
the web chat, /metrics, static files and Open311 — same process and port as the webhooks."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.service.transactions import Service, Services
from handlers.web.metrics import Metrics
from handlers.web.open311 import add_open311_routes
from handlers.web.chat import WebChat
from handlers.web.doors import doors_middleware
from handlers.web.public import PublicPages
from handlers.web.security import Sessions, security_headers_middleware, web_secret
from handlers.web.backoffice.auth import BackofficeAuth
from handlers.web.backoffice.pages import add_backoffice_routes

STATIC_DIR = Path(__file__).resolve().parent / "static"
SERVICE_KEY = web.AppKey("web_service", Service)


def add_web_routes(app: web.Application, services: Services, *, service: Service | None = None,
                   secret: bytes | None = None) -> web.Application:
    """Register pages, APIs and middlewares on `app` (before it starts)."""
    settings = services.settings
    service = service or Service(services)
    sessions = Sessions(secret or web_secret(Path(settings.storage.attachments_dir).parent / "web_secret"),
                        lifetime=settings.doors.session_hours * 3600.0, clock=lambda: services.clock.now().timestamp())
    app[SERVICE_KEY] = service
    app.middlewares.append(doors_middleware(services.texts))
    if settings.portal.metrics_enabled:
        metrics = Metrics(services.engine, services.clock, token=settings.doors.metrics_token)
        app.middlewares.append(metrics.middleware)
        app.router.add_get("/metrics", metrics.handler)
    app.middlewares.append(security_headers_middleware(settings.portal.embed_origins))
    pages = PublicPages(services, sessions)
    app.router.add_get("/", pages.home)
    app.router.add_get("/tra-cuu", pages.lookup_form)
    app.router.add_post("/tra-cuu", pages.lookup)
    chat = WebChat(service, sessions)
    app.router.add_get("/chat", chat.page)
    app.router.add_post("/chat/api/send", chat.send)
    app.router.add_post("/chat/api/upload", chat.upload)
    app.router.add_get("/chat/api/messages", chat.messages)
    app.router.add_post("/chat/ket-thuc", chat.end)
    add_backoffice_routes(app, BackofficeAuth(services, service, sessions))
    app.router.add_static("/static/", STATIC_DIR, show_index=False, append_version=False)
    add_open311_routes(app, services, service)
    return app
