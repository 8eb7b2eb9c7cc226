"""Web security shared by every page: strict Content-Security-Policy and headers, a session cookie,
CSRF tokens bound to it, and in-memory rate limits (per client address and per key).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from storage.crypto import DataKeyError, is_production

SESSION_COOKIE = "dv_sid"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"


def web_secret(keep_at: Path | None = None) -> bytes:
    """DANVAN_WEB_SECRET from the environment; otherwise a random one kept in `keep_at` (mode 0600),
    so chat sessions and open forms survive a restart."""
    value = os.environ.get("DANVAN_WEB_SECRET", "")
    if value:
        return value.encode()
    if is_production():
        raise DataKeyError("DANVAN_WEB_SECRET must be set when DANVAN_ENV=production")
    if keep_at is None:
        return secrets.token_bytes(32)
    try:
        return bytes.fromhex(keep_at.read_text().strip())
    except (OSError, ValueError):
        pass
    secret = secrets.token_bytes(32)
    keep_at.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(keep_at, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret.hex())
    return secret


def content_security_policy(frame_ancestors: tuple[str, ...]) -> str:
    """No inline scripts or styles; only our own files; framing only by the listed origins."""
    ancestors = " ".join(("'self'", *frame_ancestors))
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors {ancestors}")


def security_headers_middleware(embed_origins: tuple[str, ...]) -> Callable:
    """Add CSP and friends to every answer; only /chat may be framed by other sites."""
    strict = content_security_policy(())
    embeddable = content_security_policy(embed_origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
            _decorate(response, request, strict, embeddable)
            raise
        _decorate(response, request, strict, embeddable)
        return response

    return middleware


def _decorate(response: web.StreamResponse, request: web.Request, strict: str, embeddable: str) -> None:
    chat = request.path == "/chat"
    response.headers.setdefault("Content-Security-Policy", embeddable if chat else strict)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if not chat:
        response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith(("/tra-cuu", "/chat")):
        response.headers.setdefault("Cache-Control", "no-store")


class Sessions:
    """Session ids issued by this server only: a random token, its issue time and a MAC over both
    in an HttpOnly cookie. A cookie the server did not sign, or older than `lifetime`, is never
    adopted (a fresh one is issued instead), so a client cannot choose its session id."""

    def __init__(self, secret: bytes, *, lifetime: float = 24 * 3600,
                 clock: Callable[[], float] = time.time) -> None:
        self.secret, self.lifetime, self.clock = secret, lifetime, clock

    def _mac(self, token: str, issued: str) -> str:
        return hmac.new(self.secret, f"sid:{token}.{issued}".encode(), hashlib.sha256).hexdigest()[:24]

    def issue(self) -> str:
        token, issued = secrets.token_urlsafe(18), str(int(self.clock()))
        return f"{token}.{issued}.{self._mac(token, issued)}"

    def get(self, request: web.Request) -> str | None:
        """The request's session id when this server issued it and it has not expired."""
        value = request.cookies.get(SESSION_COOKIE, "")
        parts = value.split(".")
        if len(value) > 96 or len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
            return None
        token, issued, mac = parts
        if not hmac.compare_digest(self._mac(token, issued).encode(), mac.encode()):
            return None
        age = self.clock() - int(issued)
        return value if -300 <= age < self.lifetime else None

    def ensure(self, request: web.Request, response: web.StreamResponse, sid: str | None = None) -> str:
        """The request's session id, or a new one set on `response`."""
        sid = sid or self.get(request) or self.issue()
        if request.cookies.get(SESSION_COOKIE) != sid:
            issued = int(sid.split(".")[1])
            max_age = max(60, int(issued + self.lifetime - self.clock()))
            response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax", path="/",
                                secure=request.secure, max_age=max_age)
        return sid

    def end(self, response: web.StreamResponse) -> None:
        """Forget the session in this browser ("Kết thúc phiên")."""
        response.del_cookie(SESSION_COOKIE, path="/")

    def new_or_existing(self, request: web.Request) -> str:
        return self.get(request) or self.issue()

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self.secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, request: web.Request, supplied: str | None) -> str:
        """The session id when `supplied` is its CSRF token; otherwise 403."""
        sid = self.get(request)
        if sid is None or not supplied or not hmac.compare_digest(self.csrf_token(sid).encode(), supplied.encode()):
            raise web.HTTPForbidden(text="CSRF token missing or invalid", content_type="text/plain")
        return sid

    def pseudonym(self, sid: str, *, length: int = 32) -> str:
        """A stable id for the session that does not reveal the cookie (used as the chat's user id)."""
        return "w" + hmac.new(self.secret, f"user:{sid}".encode(), hashlib.sha256).hexdigest()[:length - 1]


class RateLimiter:
    """At most `limit` events per `window` seconds per key (sliding window, in memory)."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Record an attempt for `key`; False when it is over the limit."""
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._hits) > 50_000:
            self._forget(now)
        return True

    def blocked(self, key: str) -> bool:
        """True when `key` is at its limit now (nothing recorded)."""
        now = self.clock()
        hits = self._hits.get(key)
        return bool(hits) and sum(1 for t in hits if t > now - self.window) >= self.limit

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]


def _networks(trusted: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for item in trusted:
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            continue
    return out


def _is_trusted(address: str, networks: list) -> bool:  # noqa: ANN001 - ip networks
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks if net.version == ip.version)


def client_address(request: web.Request, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The client's address: the peer; only when the peer is one of the configured proxies, the
    last X-Forwarded-For hop that is not a proxy (so limits apply per citizen, not to the proxy).
    X-Forwarded-For from anyone else is ignored, as are hops that are not IP addresses."""
    peer = request.remote or "unknown"
    networks = _networks(trusted_proxies)
    if not networks or not _is_trusted(peer, networks):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer                 # a malformed chain: believe no further hop
        if not _is_trusted(hop, networks):
            return hop
    return peer
