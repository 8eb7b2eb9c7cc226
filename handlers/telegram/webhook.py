"""The Telegram edge: webhook endpoint (secret checked in constant time, 2xx only after commit)
and long polling, both feeding the same core through `TelegramAdapter.process`.

Updates go to `Service.submit`, which commits concurrent updates together in one writer thread;
its answer comes after the commit, so the webhook's 200 still means "committed".
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable

from aiohttp import web
from sqlalchemy.exc import OperationalError
from telegram import Bot, Update
from telegram.error import TelegramError

from bot.service.flood import Verdict
from bot.service.transactions import Service
from handlers.telegram.updates import inbound_from_update

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramAdapter:
    """Turns Telegram updates into core calls and stops button spinners."""

    def __init__(self, service: Service, bot: Bot, *, webhook_secret: str = "",
                 on_ticket: Callable[[], None] | None = None) -> None:
        self.service = service
        self.bot = bot
        self.webhook_secret = webhook_secret
        self.on_ticket = on_ticket

    async def process(self, update: Update, *, verdict: Verdict | None = None) -> None:
        """Handle one update; raises OperationalError when the database is unavailable.

        `verdict`: the flood verdict when the webhook already screened the raw update.
        """
        try:
            inbound = inbound_from_update(update)
        except Exception:  # noqa: BLE001 - an update we cannot read is dropped, never retried forever
            log.warning("update %s could not be read; ignored", update.update_id)
            return
        if inbound is None:
            return
        if verdict is None:
            verdict = self.service.screen(inbound)
        if verdict is Verdict.DROP:
            if inbound.callback_ref:
                await self._answer_callback(update, inbound.callback_ref, None)
            return          # a flood's surplus: dropped here, without a worker thread or the database
        result = None
        try:
            result = await self.service.submit(inbound, verdict=verdict)
            if result.ticket_codes and self.on_ticket:
                self.on_ticket()
        except OperationalError:
            raise
        except Exception:  # noqa: BLE001 - a bug must not make Telegram redeliver forever
            log.exception("update %s failed", update.update_id)
            await asyncio.to_thread(self.service.handle_failure, inbound)
        if inbound.callback_ref:
            await self._answer_callback(update, inbound.callback_ref,
                                        (result.callback_text or None) if result else None)
        if result is not None and result.leave_chat:
            try:
                await self.bot.leave_chat(int(inbound.chat_id))
                log.info("left unregistered group %s", inbound.chat_id)
            except TelegramError as exc:
                log.info("leaveChat failed for %s: %s", inbound.chat_id, exc)

    async def _answer_callback(self, update: Update, callback_ref: str, text: str | None) -> None:
        try:
            await self.bot.answer_callback_query(callback_ref, text=text)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed for update %s: %s", update.update_id, exc)

    def _prescreen(self, data: dict) -> Verdict | None:
        """The flood verdict of a person's private message, read from the raw update (None: not one)."""
        message = data.get("message")
        if not isinstance(message, dict):
            return None
        sender, chat = message.get("from"), message.get("chat")
        if not isinstance(sender, dict) or not isinstance(chat, dict) or chat.get("type") != "private":
            return None
        user_id = sender.get("id")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or sender.get("is_bot"):
            return None
        return self.service.screen_user("telegram", str(user_id), is_private=True, event_id=str(data["update_id"]))

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: 403 without the secret, 400 on garbage, 503 if the database is down."""
        given = request.headers.get(SECRET_HEADER, "")
        if not self.webhook_secret or not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            verdict = self._prescreen(data)
            if verdict is Verdict.DROP:     # a flood's surplus costs no parsing, thread or database
                return web.json_response({"ok": True})
            update = Update.de_json(data, self.bot)
        except Exception:  # noqa: BLE001 - whatever PTB cannot parse is a malformed update
            log.info("malformed update refused")
            return web.json_response({"ok": False, "error": "malformed update"}, status=400)
        try:
            await self.process(update, verdict=verdict)
        except OperationalError:
            log.warning("database unavailable; update %s will be redelivered", data.get("update_id"))
            return web.json_response({"ok": False, "error": "unavailable"}, status=503)
        return web.json_response({"ok": True})


async def run_polling(adapter: TelegramAdapter, stop: asyncio.Event, *, timeout: int = 30) -> None:
    """Long polling with getUpdates; the offset only moves past updates that were committed."""
    offset: int | None = None
    while not stop.is_set():
        try:
            updates = await adapter.bot.get_updates(offset=offset, timeout=timeout, allowed_updates=Update.ALL_TYPES)
        except TelegramError as exc:
            log.warning("getUpdates failed: %s", exc)
            await asyncio.sleep(2)
            continue
        for update in updates:
            while not stop.is_set():
                try:
                    await adapter.process(update)
                    break
                except OperationalError:
                    log.warning("database unavailable; retrying update %s", update.update_id)
                    await asyncio.sleep(2)
            if stop.is_set():
                return
            offset = update.update_id + 1
