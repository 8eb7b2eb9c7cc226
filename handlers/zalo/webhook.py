"""The Zalo edge: `POST /zalo/webhook` verifies, stores the raw event, commits and answers 200 within
Zalo's 2 seconds; a worker then processes stored events through the core, so a crash loses nothing
and a redelivery (Zalo delivers at least once) does nothing twice.

Signature (channels.md): header `X-ZEvent-Signature: mac=<hex>` where hex is plain SHA-256 (not
HMAC) of app_id + raw body + the body's `timestamp` + the OA secret key, compared in constant time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.core.clock import Clock
from bot.config.settings import ZaloSettings
from bot.core.domain import Channel
from bot.service.transactions import Service
from handlers.zalo.events import dedupe_key, is_ignorable, parse_event
from storage.engine import read_session, write_session
from storage.inbound_events import (event_exists, existing_keys, finish_event, finish_events, pending_events,
                                    store_event)

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-ZEvent-Signature"
FUTURE_SKEW_MS = 3600 * 1000
CHANNEL = str(Channel.ZALO)


def expected_signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """sha256(app_id + raw_body + timestamp + oa_secret_key) as lowercase hex."""
    digest = hashlib.sha256()
    for part in (app_id.encode(), raw_body, timestamp.encode(), oa_secret_key.encode()):
        digest.update(part)
    return digest.hexdigest()


def signature_valid(header: str, *, app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> bool:
    """Constant-time check of the header, with or without its `mac=` prefix."""
    given = header.strip()
    if given[:4].lower() == "mac=":
        given = given[4:]
    expected = expected_signature(app_id, raw_body, timestamp, oa_secret_key)
    return hmac.compare_digest(given.lower().encode(), expected.encode())


class ZaloWebhook:
    """The webhook endpoint and the worker that feeds stored events to the core."""

    def __init__(self, service: Service, engine: Engine, clock: Clock, settings: ZaloSettings, *,
                 batch: int = 100, poll_interval: float = 5.0) -> None:
        self.service, self.engine, self.clock, self.settings = service, engine, clock, settings
        self.batch, self.poll_interval = batch, poll_interval
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[tuple[str, str, str, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Future[None] | None = None
        # Set while requests wait for their commit: the worker steps aside so Zalo gets its 200 fast.
        self._storing = threading.Event()
        self._in_flight = 0
        # In-process write gate between webhook and worker: a Python lock hands over at once, whereas
        # SQLite's busy handler makes a waiting writer sleep up to 100 ms at a time.
        self._gate = threading.Lock()
        # Own threads: the shared default pool is busy with the outbox sender's database calls.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zalo-webhook")
        self._processor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zalo-worker")

    # --- the endpoint -------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """401 unsigned/forged, 403 another app, 400 garbage, 503 database down, else 200 after commit."""
        self._in_flight += 1
        try:
            return await self._answer(request)
        finally:
            self._in_flight -= 1

    async def _answer(self, request: web.Request) -> web.Response:
        raw = await request.read()
        header = request.headers.get(SIGNATURE_HEADER, "")
        if not header:
            if raw.strip() in (b"{}", b""):
                return web.json_response({"error": 0, "message": "ok"})   # the console's URL check
            return web.json_response({"error": 401, "message": "missing signature"}, status=401)
        try:
            event = json.loads(raw)
        except ValueError:
            return web.json_response({"error": 400, "message": "malformed body"}, status=400)
        if not isinstance(event, dict):
            return web.json_response({"error": 400, "message": "malformed body"}, status=400)
        app_id = str(event.get("app_id") or "")
        if app_id != self.settings.app_id:
            log.warning("zalo webhook: event for another app id refused")
            return web.json_response({"error": 403, "message": "unknown app"}, status=403)
        timestamp = str(event.get("timestamp") or "")
        if not signature_valid(header, app_id=self.settings.app_id, raw_body=raw, timestamp=timestamp,
                               oa_secret_key=self.settings.oa_secret_key):
            log.warning("zalo webhook: wrong signature refused")
            return web.json_response({"error": 401, "message": "bad signature"}, status=401)
        if not self._fresh(timestamp):
            log.warning("zalo webhook: signed event with a timestamp outside the window refused")
            return web.json_response({"error": 401, "message": "stale event"}, status=401)
        name = str(event.get("event_name") or "")
        if is_ignorable(name):
            return web.json_response({"error": 0, "message": "ignored"})
        try:
            stored = await self._store(raw.decode("utf-8", errors="replace"), dedupe_key(event), name)
        except OperationalError:
            log.warning("zalo webhook: database unavailable; Zalo will redeliver")
            return web.json_response({"error": 503, "message": "unavailable"}, status=503)
        if stored:
            self.wake()
        return web.json_response({"error": 0, "message": "ok"})

    def _fresh(self, timestamp: str) -> bool:
        """The body timestamp (epoch ms) is within the configured age, and not far in the future."""
        if not timestamp.isdigit():
            return False
        if not self.settings.signature_max_age_hours:
            return True
        now_ms = int(self.clock.now().timestamp() * 1000)
        oldest = now_ms - int(self.settings.signature_max_age_hours * 3600 * 1000)
        return oldest <= int(timestamp) <= now_ms + FUTURE_SKEW_MS

    async def _store(self, payload: str, key: str, name: str) -> bool:
        """Queue the event for the next group commit and wait for it; False for a redelivery."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((payload, key, name, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        """Write whatever requests are waiting in one transaction (many requests, one commit)."""
        while self._queue:
            batch, self._queue = self._queue, []
            self._storing.set()
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    self._writer, self._write_batch, [(p, k, n) for p, k, n, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            finally:
                self._storing.clear()
            for (*_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)

    def _write_batch(self, batch: list[tuple[str, str, str]]) -> list[bool]:
        """Insert new events in one transaction; keys seen before (or twice in the batch) are redeliveries."""
        with self._gate:
            return self._write_batch_locked(batch)

    def _write_batch_locked(self, batch: list[tuple[str, str, str]]) -> list[bool]:
        keys = [key for _, key, _ in batch]
        now = self.clock.now()
        try:
            with write_session(self.engine) as session:
                known = existing_keys(session, channel=CHANNEL, keys=keys)
                results = []
                for payload, key, name in batch:
                    if key in known:
                        results.append(False)
                        continue
                    known.add(key)
                    store_event(session, channel=CHANNEL, dedupe_key=key, event_name=name, payload=payload, now=now,
                                flush=False)
                    results.append(True)
            return results
        except IntegrityError:
            # Another process stored one of these keys meanwhile: fall back to one transaction per event.
            return [self._write_one(payload, key, name) for payload, key, name in batch]

    def _write_one(self, payload: str, key: str, name: str) -> bool:
        try:
            with write_session(self.engine) as session:
                store_event(session, channel=CHANNEL, dedupe_key=key, event_name=name, payload=payload,
                            now=self.clock.now())
        except IntegrityError:
            with read_session(self.engine) as session:
                if event_exists(session, channel=CHANNEL, dedupe_key=key):
                    return False
            raise
        return True

    def close(self) -> None:
        """Let the webhook's and worker's threads finish and end."""
        self._writer.shutdown(wait=True)
        self._processor.shutdown(wait=True)

    # --- the worker ---------------------------------------------------------------------------

    def wake(self) -> None:
        """Ask the worker to look at the table now; safe from any thread."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Process stored events until `stop` is set; a database outage only delays them."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not stop.is_set():
            self._wake.clear()
            try:
                while await self.process_pending():
                    pass
            except OperationalError:
                log.warning("zalo worker: database unavailable; retrying")
            except Exception:  # noqa: BLE001 - the worker must outlive any single failure
                log.exception("zalo worker failed; retrying")
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()

    async def process_pending(self) -> int:
        """Process one batch of stored events in arrival order; returns how many were handled."""
        return await asyncio.get_running_loop().run_in_executor(self._processor, self._process_batch)

    def _process_batch(self) -> int:
        with read_session(self.engine) as session:
            rows = pending_events(session, channel=CHANNEL, limit=self.batch)
        done: list[int] = []
        try:
            for row in rows:
                assert row.id is not None
                self._yield_to_webhook()
                with self._gate:
                    if self._process_one(row.id, row.event_name, row.payload):
                        done.append(row.id)
        finally:
            # One commit for the batch: if we die before it, the core's dedupe makes a rerun a no-op.
            if done:
                self._yield_to_webhook()
                with self._gate, write_session(self.engine) as session:
                    finish_events(session, done, status="done", now=self.clock.now())
        return len(rows)

    def _yield_to_webhook(self, *, limit: float = 1.0) -> None:
        """Step aside while webhook requests are being answered (their 2-second budget comes first), but
        never longer than `limit`, so a flood of requests only slows processing down."""
        deadline = time.monotonic() + limit
        while (self._storing.is_set() or self._in_flight) and time.monotonic() < deadline:
            time.sleep(0.002)

    def _process_one(self, event_id: int, name: str, payload: str) -> bool:
        """Hand one event to the core (True when it is done); its dedupe key makes a second pass a no-op."""
        try:
            data = json.loads(payload)
            parsed = parse_event(data if isinstance(data, dict) else {},
                                 group_fields=tuple(self.settings.group.id_fields), oa_id=self.settings.group.oa_id,
                                 quote_fields=tuple(self.settings.group.quote_fields))
        except ValueError:
            self._finish(event_id, "failed", "unreadable payload")
            return False
        if parsed.inbound is None:
            if parsed.ignored == "unknown":
                log.info("zalo event %s (%s) acknowledged, not handled", event_id, name[:48])
            self._finish(event_id, "ignored", parsed.ignored)
            return False
        try:
            self.service.handle_inbound(parsed.inbound)
        except OperationalError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must not block the queue
            log.exception("zalo event %s failed", event_id)
            self.service.handle_failure(parsed.inbound)
            self._finish(event_id, "failed", repr(exc))
            return False
        return True

    def _finish(self, event_id: int, status: str, error: str = "") -> None:
        with write_session(self.engine) as session:
            finish_event(session, event_id, status=status, now=self.clock.now(), error=error)
