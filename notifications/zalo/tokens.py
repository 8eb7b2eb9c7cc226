"""The OA access token: read from the database, refreshed early, one refresher at a time everywhere.

Zalo's refresh token works once and each refresh returns a new pair, so a second refresher with
the same token would break authorisation until a person re-authorises. Hence: an asyncio lock in
the process, a lease row claimed atomically across processes, the new pair committed before it
is used, and an admin alert when refresh fails.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock
from bot.config.settings import ZaloSettings
from notifications.outbox.channel import TemporaryFailure
from notifications.zalo.api import ZaloApiError, ZaloClient
from storage.engine import read_session, write_session
from storage.models import ZaloToken
from storage.zalo_tokens import (claim_lease, ensure_token_row, load_token, release_lease, save_pair,
                                 seed_token)

log = logging.getLogger(__name__)
LEASE_SECONDS = 30.0
ALERT_INTERVAL = timedelta(hours=1)
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
REFUSED = "refresh refused"
REFUSED_RETRY = timedelta(minutes=10)


class TokenUnavailable(TemporaryFailure):
    """No usable access token now (refresh failed or nobody authorised the OA yet)."""


def pair_from_answer(body: dict[str, Any], now: datetime) -> tuple[str, str, datetime, datetime | None]:
    """(access, refresh, access expiry, refresh expiry) from an OAuth v4 answer; expires_in is a string."""
    access, refresh = str(body.get("access_token") or ""), str(body.get("refresh_token") or "")
    if not access or not refresh:
        raise ZaloApiError(-1, "token answer without access_token/refresh_token")
    try:
        seconds = int(str(body.get("expires_in") or "90000"))
    except ValueError:
        seconds = 90000
    refresh_seconds = body.get("refresh_token_expires_in")
    try:
        refresh_expiry = now + timedelta(seconds=int(str(refresh_seconds))) if refresh_seconds else \
            now + REFRESH_TOKEN_LIFETIME
    except ValueError:
        refresh_expiry = now + REFRESH_TOKEN_LIFETIME
    return access, refresh, now + timedelta(seconds=seconds), refresh_expiry


class ZaloTokens:
    """Hands out a valid access token; refreshes it under the process lock and the database lease."""

    def __init__(self, engine: Engine, clock: Clock, client: ZaloClient, settings: ZaloSettings, *,
                 owner: str | None = None, on_failure: Callable[[Session, str], None] | None = None,
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self.engine, self.clock, self.client, self.settings = engine, clock, client, settings
        self.owner = owner or uuid.uuid4().hex
        self.on_failure = on_failure
        self.lease_seconds = lease_seconds
        self.refreshes = 0
        self._lock = asyncio.Lock()
        self._cached: tuple[str, datetime] | None = None

    def seed(self) -> None:
        """Store ZALO_REFRESH_TOKEN on first start; afterwards the database holds the only valid copy."""
        with write_session(self.engine) as session:
            if seed_token(session, refresh_token=self.settings.refresh_token, now=self.clock.now()):
                log.info("zalo: initial refresh token stored from the environment")

    def _usable(self, token: str, expires_at: datetime | None) -> bool:
        early = timedelta(seconds=self.settings.token_refresh_early_seconds)
        return bool(token) and expires_at is not None and expires_at - early > self.clock.now()

    async def access_token(self) -> str:
        """A token valid for at least the early-refresh margin."""
        if self._cached and self._usable(*self._cached):
            return self._cached[0]
        return await self.refresh()

    async def refresh(self, *, stale: str | None = None) -> str:
        """Get a fresh token; `stale` is one Zalo just rejected, so it is never handed out again."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.lease_seconds + 5
            while True:
                row = await asyncio.to_thread(self._read)
                if row is None or not row.refresh_token:
                    raise TokenUnavailable("zalo: no token stored; run `danvan zalo auth-url`")
                if row.access_token != stale and self._usable(row.access_token, row.access_expires_at):
                    self._cached = (row.access_token, row.access_expires_at)  # type: ignore[assignment]
                    return row.access_token
                if self._recently_refused(row):
                    raise TokenUnavailable("zalo: the refresh token was refused; waiting for re-authorisation")
                claimed = await asyncio.to_thread(self._claim)
                if claimed is not None:
                    if claimed.access_token != stale and self._usable(claimed.access_token, claimed.access_expires_at):
                        await asyncio.to_thread(self._release, "")
                        self._cached = (claimed.access_token, claimed.access_expires_at)  # type: ignore[assignment]
                        return claimed.access_token
                    if self._recently_refused(claimed):
                        await asyncio.to_thread(self._release, claimed.last_error)
                        raise TokenUnavailable("zalo: the refresh token was refused; waiting for re-authorisation")
                    break
                if loop.time() > deadline:
                    raise TokenUnavailable("zalo: token refresh is held by another process")
                await asyncio.sleep(0.05)
            return await self._refresh_with(claimed.refresh_token)

    def _recently_refused(self, row: ZaloToken) -> bool:
        """A refused refresh token is retried at most every REFUSED_RETRY, not by every waiting sender."""
        return row.last_error.startswith(REFUSED) and row.updated_at + REFUSED_RETRY > self.clock.now()

    async def _refresh_with(self, refresh_token: str) -> str:
        form = {"refresh_token": refresh_token, "app_id": self.settings.app_id, "grant_type": "refresh_token"}
        self.refreshes += 1
        try:
            body = await self.client.oauth_token(form)
            access, refresh, expires, refresh_expires = pair_from_answer(body, self.clock.now())
        except ZaloApiError as exc:
            log.error("zalo: token refresh refused (%s); an admin must re-authorise", exc.code)
            await asyncio.to_thread(self._fail, f"{REFUSED}: {exc}")
            raise TokenUnavailable(f"zalo token refresh refused ({exc.code})") from exc
        except TemporaryFailure as exc:
            log.warning("zalo: token refresh failed: %s", exc)
            await asyncio.to_thread(self._fail, f"refresh failed: {exc}")
            raise
        # Durable before use: if this process dies now, the next one finds the new pair.
        await asyncio.to_thread(self._save, access, refresh, expires, refresh_expires)
        self._cached = (access, expires)
        log.info("zalo: access token refreshed, valid until %s", expires.isoformat())
        return access

    def _read(self) -> ZaloToken | None:
        with read_session(self.engine) as session:
            return load_token(session)

    def _claim(self) -> ZaloToken | None:
        now = self.clock.now()
        with write_session(self.engine) as session:
            return claim_lease(session, owner=self.owner, now=now, until=now + timedelta(seconds=self.lease_seconds))

    def _release(self, error: str) -> None:
        with write_session(self.engine) as session:
            release_lease(session, owner=self.owner, error=error, now=self.clock.now())

    def _save(self, access: str, refresh: str, expires: datetime, refresh_expires: datetime | None) -> None:
        with write_session(self.engine) as session:
            save_pair(session, owner=self.owner, access_token=access, refresh_token=refresh,
                      access_expires_at=expires, refresh_expires_at=refresh_expires, now=self.clock.now())

    def _fail(self, error: str) -> None:
        """Free the lease and, at most once an hour, alert an admin in the same transaction."""
        now = self.clock.now()
        with write_session(self.engine) as session:
            release_lease(session, owner=self.owner, error=error, now=now)
            row = load_token(session)
            if row is not None and (row.alerted_at is None or row.alerted_at + ALERT_INTERVAL <= now):
                row.alerted_at = now
                if self.on_failure:
                    self.on_failure(session, error)

    async def keep_fresh(self, stop: asyncio.Event, *, interval: float = 600.0) -> None:
        """Refresh ahead of expiry even when nobody writes, so the 3-month refresh token never lapses."""
        while not stop.is_set():
            try:
                await self.access_token()
            except TemporaryFailure as exc:
                log.warning("zalo: token check failed: %s", exc)
            except Exception:  # noqa: BLE001 - the loop must survive
                log.exception("zalo: token check failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass

    # --- first authorisation (PKCE) -----------------------------------------------------------

    def authorization_url(self) -> str:
        """The permission URL an OA admin opens; the PKCE verifier and state wait in the token row."""
        verifier = secrets.token_urlsafe(48)[:64]
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        state = secrets.token_urlsafe(16)
        with write_session(self.engine) as session:
            row = ensure_token_row(session, now=self.clock.now())
            row.pkce_verifier, row.pkce_state = verifier, state
        query = urlencode({"app_id": self.settings.app_id, "redirect_uri": self.settings.redirect_uri,
                           "code_challenge": challenge, "state": state})
        return f"{self.settings.oauth_base_url.rstrip('/')}{self.settings.permission_path}?{query}"

    async def exchange_code(self, code: str) -> datetime:
        """Trade the authorisation code (with the stored PKCE verifier) for the first token pair."""
        with read_session(self.engine) as session:
            row = load_token(session)
            verifier = row.pkce_verifier if row else ""
        if not verifier:
            raise TokenUnavailable("no PKCE verifier stored: run `danvan zalo auth-url` first")
        form = {"code": code, "app_id": self.settings.app_id, "grant_type": "authorization_code",
                "code_verifier": verifier}
        body = await self.client.oauth_token(form)
        access, refresh, expires, refresh_expires = pair_from_answer(body, self.clock.now())
        with write_session(self.engine) as session:
            row = ensure_token_row(session, now=self.clock.now())
            row.pkce_verifier, row.pkce_state = "", ""
            save_pair(session, owner=self.owner, access_token=access, refresh_token=refresh,
                      access_expires_at=expires, refresh_expires_at=refresh_expires, now=self.clock.now())
        self._cached = (access, expires)
        return expires
