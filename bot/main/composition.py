"""The composition root: the one place that wires config, database, core, channels and senders."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram import Bot

from bot.intake.attachment_notices import notify_attachment_refused
from bot.tickets.channel_alerts import (alert_citizen_unreachable, alert_zalo_group_failure,
                                        alert_zalo_token_failure)
from bot.config.settings import Settings
from bot.service.transactions import Service, Services
from bot.tickets.recipients import unheard_offices
from bot.main.services import build_classifier, build_services  # noqa: F401 - the callers' entry points
from handlers.telegram.webhook import TelegramAdapter, run_polling
from handlers.telegram.files import store_attachments
from handlers.web.routes import add_web_routes
from handlers.telegram.request import AiohttpRequest
from handlers.zalo.webhook import ZaloWebhook
from notifications.outbox.channel import ChannelSender, HeldFailure
from notifications.outbox.delivery_journal import DeliveryJournal
from notifications.outbox.sender import OutboxSender, Pending
from notifications.outbox.rate_limits import ChatLimits
from bot.main.scheduler import DueScanner
from notifications.telegram.sender import TelegramSender
from notifications.zalo.api import ZaloClient
from notifications.zalo.sender import ZaloSender
from notifications.zalo.tokens import ZaloTokens
from notifications.zalo.window import ConsultationWindow
from storage.engine import read_session, write_session

log = logging.getLogger(__name__)
ENGINE_KEY = web.AppKey("engine", Engine)
SERVICES_KEY = web.AppKey("services", Services)
WARMING_KEY = web.AppKey("warming", dict)      # {"task": the fit /readyz started}, set once


async def warm_classifier(services: Services) -> None:
    """Fit the classifier in a worker thread at start, so the first citizen does not wait for it."""
    await asyncio.to_thread(lambda: services.classifier.model)


def build_bot(settings: Settings) -> Bot:
    """A python-telegram-bot Bot on our aiohttp request backend, pointed at the configured server."""
    tg = settings.telegram
    return Bot(tg.bot_token, base_url=tg.base_url, base_file_url=tg.base_file_url,
               request=AiohttpRequest(), get_updates_request=AiohttpRequest(connection_pool_size=2, read_timeout=40))


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers and the database is reachable."""
    engine: Engine = request.app[ENGINE_KEY]

    def ping() -> None:
        with read_session(engine) as session:
            session.execute(text("SELECT 1"))

    try:
        await asyncio.to_thread(ping)
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return web.json_response({"status": "database unavailable"}, status=503)
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: as /healthz, and the classifier is fitted, so a citizen's description is answered
    at once (fitting takes a few seconds after a start). 503 "starting" until then; the first call
    starts the fit if nothing has yet."""
    services = request.app[SERVICES_KEY]
    if not services.classifier.ready:
        warming = request.app[WARMING_KEY]
        if "task" not in warming:
            warming["task"] = asyncio.ensure_future(warm_classifier(services))
        return web.json_response({"status": "starting"}, status=503)
    return await healthz(request)


def build_web_app(services: Services, *, telegram: TelegramAdapter | None,
                  zalo: "ZaloWebhook | None" = None, service: Service | None = None) -> web.Application:
    """The aiohttp application: health check and, when configured, the Telegram and Zalo webhooks."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[ENGINE_KEY] = services.engine
    app[SERVICES_KEY] = services
    app[WARMING_KEY] = {}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if telegram is not None:
        app.router.add_post(services.settings.telegram.webhook_path, telegram.webhook)
    add_web_routes(app, services, service=telegram.service if telegram is not None else service)
    if zalo is not None:
        app.router.add_post(services.settings.zalo.webhook_path, zalo.webhook)
    return app


def channel_report(settings: Settings) -> list[tuple[str, bool, str]]:
    """(channel, on, why) for each chat channel: what `danvan run` will serve, and why not."""
    zalo = settings.zalo
    missing = [name for name, value in (("ZALO_APP_ID", zalo.app_id), ("ZALO_APP_SECRET", zalo.app_secret),
                                        ("ZALO_OA_SECRET_KEY", zalo.oa_secret_key)) if not value]
    return [
        ("telegram", bool(settings.telegram.bot_token),
         "webhook" if settings.telegram.webhook_url else "polling") if settings.telegram.bot_token
        else ("telegram", False, "TELEGRAM_BOT_TOKEN is not set"),
        ("zalo", True, f"webhook {zalo.webhook_path}") if zalo.enabled
        else ("zalo", False, f"{', '.join(missing)} not set"),
    ]


def log_channels(settings: Settings) -> None:
    """One log line per channel: on, or why not."""
    for channel, on, why in channel_report(settings):
        log.info("channel %s: %s (%s)", channel, "on" if on else "off", why)


class TelegramBotApp:
    """The running bot: every configured channel (Telegram, Zalo, either or both), the outbox sender,
    the scheduler and the web server, started and stopped together."""

    def __init__(self, settings: Settings, *, services: Services | None = None, bot: Bot | None = None,
                 port: int | None = None) -> None:
        self.settings = settings
        self.services = services or build_services(settings)
        self.bot = bot or (build_bot(settings) if settings.telegram.bot_token else None)
        self.zalo = ZaloChannel(settings, self.services) if settings.zalo.enabled else None
        senders: dict[str, ChannelSender] = {}
        if self.bot is not None:
            senders["telegram"] = TelegramSender(self.bot, per_chat_interval=settings.telegram.per_chat_interval)
        if self.zalo is not None:
            senders["zalo"] = self.zalo.sender
        limits = {"telegram": ChatLimits(global_per_second=settings.telegram.messages_per_second)}
        if self.zalo is not None:
            limits["zalo"] = ChatLimits(global_per_second=settings.zalo.messages_per_second)
        delivery = settings.delivery
        self.sender = OutboxSender(
            self.services.engine, self.services.clock, senders, on_held=held_alert(self.services), limits=limits,
            max_attempts=delivery.max_attempts, base_delay=delivery.base_delay, max_delay=delivery.max_delay,
            admin_chats=admin_chats(settings),
            dead_text=lambda row_id, channel, code: self.services.texts.render(
                "office/delivery_failed", row_id=row_id, channel=channel, code=code),
            journal=DeliveryJournal(settings.storage.delivery_journal) if settings.storage.delivery_journal else None)
        self.scanner = DueScanner(self.services, on_outbox=self.sender.wake)
        self.service = Service(self.services, on_outbox=self.sender.wake, on_ticket=self.scanner.nudge)
        if self.zalo is not None:
            self.zalo.attach(self.service)
        self._files_wanted = asyncio.Event()
        self.adapter = TelegramAdapter(self.service, self.bot, webhook_secret=settings.telegram.webhook_secret,
                                       on_ticket=self._files_wanted.set) if self.bot is not None else None
        self.port = settings.web.port if port is None else port
        self.stop_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None

    @property
    def webhook_mode(self) -> bool:
        return bool(self.settings.telegram.webhook_url)

    async def start(self) -> None:
        """Start the web server, the sender, the scheduler and each configured channel."""
        log_channels(self.settings)
        await asyncio.to_thread(self._warn_unheard)
        if self.bot is not None:
            await self.bot.initialize()
        self._runner = web.AppRunner(build_web_app(self.services, telegram=self.adapter,
                                                   zalo=self.zalo.webhook if self.zalo else None,
                                                   service=self.service))
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.web.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # noqa: SLF001 - the real port when 0 was asked
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._tasks.append(asyncio.create_task(self.sender.run(self.stop_event)))
        if self.bot is not None:
            self._tasks.append(asyncio.create_task(self._store_files_loop()))
        self._tasks.append(asyncio.create_task(warm_classifier(self.services)))
        if self.zalo is not None:
            self._tasks.extend(await self.zalo.start(self.stop_event))
        self.scanner.start()
        if self.bot is None or self.adapter is None:
            log.info("danvan started (channels: %s), web on port %s", ", ".join(self.sender_channels) or "none",
                     self.port)
            return
        if self.webhook_mode:
            if not self.settings.telegram.webhook_secret:
                raise RuntimeError("TELEGRAM_WEBHOOK_SECRET is required with a webhook URL")
            await self.bot.set_webhook(self.settings.telegram.webhook_url,
                                       secret_token=self.settings.telegram.webhook_secret)
        else:
            await self.bot.delete_webhook()
            self._tasks.append(asyncio.create_task(run_polling(self.adapter, self.stop_event)))
        log.info("danvan bot started (%s), web on port %s", "webhook" if self.webhook_mode else "polling", self.port)

    def _warn_unheard(self) -> None:
        """Say at start which offices' new petitions would reach nobody (as `danvan check-config` does)."""
        with read_session(self.services.engine) as session:
            unheard = unheard_offices(session, self.settings)
        if unheard:
            log.warning("nobody will hear of new petitions for offices %s: no group, official or leader "
                        "(see README, who hears about an office's petitions)", ", ".join(unheard))

    @property
    def sender_channels(self) -> list[str]:
        return [name for name in ("telegram", "zalo") if (name == "telegram" and self.bot is not None)
                or (name == "zalo" and self.zalo is not None)]

    def _attachment_refused(self, ticket_code: str, reason: str) -> None:
        """Tell the citizen a file was not kept (their petition stands); runs in a worker thread."""
        if notify_attachment_refused(self.services.engine, self.services.texts, ticket_code=ticket_code,
                                     reason=reason, now=self.services.clock.now()):
            self.sender.wake()

    async def _store_files_loop(self) -> None:
        """Keep local copies of citizens' attachments: after each new ticket, and every few minutes."""
        storage = self.settings.storage
        while not self.stop_event.is_set():
            try:
                await store_attachments(self.bot, self.services.engine, directory=storage.attachments_dir,
                                        max_bytes=storage.max_attachment_bytes, on_refused=self._attachment_refused)
            except Exception:  # noqa: BLE001 - a failed download is retried on the next round
                log.exception("storing attachments failed")
            self._files_wanted.clear()
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._files_wanted.wait(), timeout=300)

    async def stop(self) -> None:
        """Stop accepting work, let the sender finish its current message, close everything."""
        self.stop_event.set()
        self.scanner.stop()
        for task in self._tasks:
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
        if self.zalo is not None:
            await self.zalo.close()
        if self.bot is not None:
            with suppress(Exception):
                await self.bot.shutdown()


BotApp = TelegramBotApp


def admin_chats(settings: Settings) -> tuple[tuple[str, str], ...]:
    """Where dead letters are reported: delivery.admin_chat_ids ("zalo:ID" for a Zalo chat, else Telegram)."""
    chats = []
    for chat in settings.delivery.admin_chat_ids:
        channel, sep, rest = chat.partition(":")
        chats.append((channel, rest) if sep and channel in ("telegram", "zalo") else ("telegram", chat))
    return tuple(chats)


async def run_telegram(settings: Settings) -> None:
    """Run the configured channels (Telegram, Zalo or both) until SIGINT/SIGTERM."""
    app = TelegramBotApp(settings)
    try:
        await app.start()
    except BaseException:
        await app.stop()              # e.g. the token was rejected: close the HTTP sessions, then report
        raise
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, app.stop_event.set)
    try:
        await app.stop_event.wait()
    finally:
        await app.stop()


async def run_local(settings: Settings, *, banner: str = "", user_id: str = "console") -> None:
    """Without a Telegram token: the web front in the background and the console chat in the foreground."""
    from bot.main.console import run_console

    services = build_services(settings)
    runner = web.AppRunner(build_web_app(services, telegram=None), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.web.host, settings.web.port).start()
    url = f"http://{settings.web.host}:{settings.web.port}"
    banner = f"{banner}\nWeb: {url}  (chat: {url}/chat)" if banner else f"Web: {url}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    console = asyncio.create_task(run_console(services, user_id=user_id, banner=banner))
    warm = asyncio.create_task(warm_classifier(services))  # noqa: F841 - finishes on its own in a second
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({console, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if console.done() and not stop.is_set():
            # Console closed (end of input): keep serving the web until interrupted.
            print(f"Console closed; the web is still served at {url} (Ctrl+C to stop).", flush=True)
            await stop.wait()
    finally:
        await runner.cleanup()
    if not console.done():
        # The console thread is blocked reading the terminal and cannot be cancelled; every
        # transaction is committed, so leave at once instead of waiting for a line of input.
        sys.stdout.flush()
        os._exit(0)


def held_alert(services: Services) -> Callable[[Session, Pending, HeldFailure], None]:
    """The outbox's hook for a held message: ask the ticket's office to phone the citizen."""
    def on_held(session: Session, row: Pending, failure: HeldFailure) -> None:
        alert_citizen_unreachable(session, settings=services.settings, texts=services.texts,
                                  now=services.clock.now(), channel=row.channel, chat_id=row.chat_id,
                                  ticket_code=row.ticket_code, outbox_id=row.id, notified=failure.notified)
    return on_held


class ZaloChannel:
    """The Zalo OA channel's parts (API client, tokens, sender, webhook + worker), wired together."""

    def __init__(self, settings: Settings, services: Services) -> None:
        zalo = settings.zalo
        self.client = ZaloClient(zalo)

        def on_token_failure(session: Session, reason: str) -> None:
            alert_zalo_token_failure(session, settings=settings, texts=services.texts, now=services.clock.now(),
                                     reason=reason)

        def on_group_failure(chat_id: str, code: int, reason: str) -> None:
            with write_session(services.engine) as session:
                alert_zalo_group_failure(session, settings=settings, texts=services.texts, now=services.clock.now(),
                                         chat_id=chat_id, code=code, reason=reason)

        self.tokens = ZaloTokens(services.engine, services.clock, self.client, zalo, on_failure=on_token_failure)
        self.sender = ZaloSender(self.client, self.tokens, services.texts, zalo,
                                 window_open=ConsultationWindow(services.engine, services.clock, zalo),
                                 files_root=Path(settings.storage.attachments_dir), on_group_failure=on_group_failure)
        self.services = services
        self.webhook: ZaloWebhook | None = None

    def attach(self, service: Service) -> None:
        """Create the webhook once the core service exists."""
        self.webhook = ZaloWebhook(service, self.services.engine, self.services.clock, self.services.settings.zalo)

    async def start(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """Seed the token from the environment, then run the event worker and the token keeper."""
        assert self.webhook is not None
        await asyncio.to_thread(self.tokens.seed)
        return [asyncio.create_task(self.webhook.run(stop)), asyncio.create_task(self.tokens.keep_fresh(stop))]

    async def close(self) -> None:
        """Close the HTTP session and the webhook's threads."""
        await self.client.close()
        if self.webhook is not None:
            await asyncio.to_thread(self.webhook.close)
