"""The composition root: the one place that wires config, database, core, channels and senders."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import Engine
from telegram import Bot

from bot.classifier import CategorySpec, Classifier
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.service import Service, Services
from bot.texts import Texts
from bot.workdays import WorkingCalendar
from handlers.telegram import TelegramAdapter, run_polling
from handlers.telegram_request import AiohttpRequest
from notifications.outbox_sender import OutboxSender
from notifications.scheduler import DueScanner
from notifications.telegram_sender import TelegramSender
from storage.engine import make_engine, read_session, write_session
from storage.migrate import upgrade_database
from storage.tickets import sync_offices

log = logging.getLogger(__name__)
ENGINE_KEY = web.AppKey("engine", Engine)


def build_classifier(settings: Settings) -> Classifier:
    """The category classifier from config keywords (plus its shipped seed examples)."""
    return Classifier([CategorySpec(code=c.code, name=c.name, keywords=tuple(c.keywords), office=c.office)
                       for c in settings.categories])


def build_services(settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None,
                   migrate: bool = True) -> Services:
    """Open the database (migrated to head), seed offices, and build the core's collaborators."""
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade_database(engine)
    with write_session(engine) as session:
        sync_offices(session, [(o.code, o.name, o.telegram_chat_id) for o in settings.offices])
    return Services(
        settings=settings, engine=engine, clock=clock or SystemClock(), texts=Texts(),
        classifier=build_classifier(settings),
        calendar=WorkingCalendar(extra_days_off=settings.calendar.extra_days_off,
                                 extra_working_days=settings.calendar.extra_working_days),
    )


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


def build_web_app(services: Services, *, telegram: TelegramAdapter | None) -> web.Application:
    """The aiohttp application: health check and, when configured, the Telegram webhook."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[ENGINE_KEY] = services.engine
    app.router.add_get("/healthz", healthz)
    if telegram is not None:
        app.router.add_post(services.settings.telegram.webhook_path, telegram.webhook)
    return app


class TelegramBotApp:
    """The running bot: Telegram adapter, outbox sender and web server, started and stopped together."""

    def __init__(self, settings: Settings, *, services: Services | None = None, bot: Bot | None = None,
                 port: int | None = None) -> None:
        self.settings = settings
        self.services = services or build_services(settings)
        self.bot = bot or build_bot(settings)
        delivery = settings.delivery
        self.sender = OutboxSender(self.services.engine, self.services.clock, {"telegram": TelegramSender(
            self.bot, per_chat_interval=settings.telegram.per_chat_interval)},
            max_attempts=delivery.max_attempts, base_delay=delivery.base_delay, max_delay=delivery.max_delay,
            admin_chats=tuple(("telegram", c) for c in delivery.admin_chat_ids),
            dead_text=lambda row_id, channel, code: self.services.texts.render(
                "office/delivery_failed", row_id=row_id, channel=channel, code=code))
        self.scanner = DueScanner(self.services, on_outbox=self.sender.wake)
        self.service = Service(self.services, on_outbox=self._after_inbound)
        self.adapter = TelegramAdapter(self.service, self.bot, webhook_secret=settings.telegram.webhook_secret)
        self.port = settings.web.port if port is None else port
        self.stop_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None

    def _after_inbound(self) -> None:
        """New outbox rows: wake the sender; a new ticket may be a hot spot: check now."""
        self.sender.wake()
        self.scanner.nudge()

    @property
    def webhook_mode(self) -> bool:
        return bool(self.settings.telegram.webhook_url)

    async def start(self) -> None:
        """Initialise the bot, start the web server, the sender and (without a webhook URL) polling."""
        await self.bot.initialize()
        self._runner = web.AppRunner(build_web_app(self.services, telegram=self.adapter))
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.web.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # noqa: SLF001 - the real port when 0 was asked
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._tasks.append(asyncio.create_task(self.sender.run(self.stop_event)))
        self.scanner.start()
        if self.webhook_mode:
            if not self.settings.telegram.webhook_secret:
                raise RuntimeError("TELEGRAM_WEBHOOK_SECRET is required with a webhook URL")
            await self.bot.set_webhook(self.settings.telegram.webhook_url,
                                       secret_token=self.settings.telegram.webhook_secret)
        else:
            await self.bot.delete_webhook()
            self._tasks.append(asyncio.create_task(run_polling(self.adapter, self.stop_event)))
        log.info("danvan bot started (%s), web on port %s", "webhook" if self.webhook_mode else "polling", self.port)

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
        with suppress(Exception):
            await self.bot.shutdown()


async def run_telegram(settings: Settings) -> None:
    """Run the bot until SIGINT/SIGTERM."""
    app = TelegramBotApp(settings)
    await app.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, app.stop_event.set)
    try:
        await app.stop_event.wait()
    finally:
        await app.stop()
