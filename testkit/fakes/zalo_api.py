"""A fake Zalo on 127.0.0.1: the OA API (v3 consultation messages, template messages, image upload),
OAuth v4 with single-use refresh tokens and PKCE, and a webhook sender that signs events like Zalo.

It answers in Zalo's envelope (HTTP 200 with a non-zero `error`), validates what our code can get
wrong (header token, lengths, button count, recipient), records every call, and can inject faults.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from testkit.fakes.telegram_api import RawRequest, record_request

APP_ID = "4321987654321098765"
APP_SECRET = "app-secret-for-tests"
OA_SECRET_KEY = "oa-webhook-secret-for-tests"
OA_ID = "579745863508352884"

_msg_ids = itertools.count(1)
_tokens = itertools.count(1)


@dataclass
class SentMessage:
    """One message the OA sent, as the fake received it."""

    user_id: str
    body: dict[str, Any]
    path: str
    message_id: str = ""

    @property
    def text(self) -> str:
        return str(self.body.get("message", {}).get("text", ""))

    @property
    def attachment(self) -> dict[str, Any]:
        return self.body.get("message", {}).get("attachment") or {}

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return list(self.attachment.get("payload", {}).get("buttons", []))

    @property
    def template_type(self) -> str:
        return str(self.attachment.get("payload", {}).get("template_type", ""))


@dataclass
class FakeZaloState:
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    codes: dict[str, str] = field(default_factory=dict)          # code -> PKCE challenge
    refresh_calls: int = 0
    invalid_refresh: int = 0
    closed_window: set[str] = field(default_factory=set)
    not_followers: set[str] = field(default_factory=set)
    faults: list[int] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    uploads: list[bytes] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)     # group_id -> name, members, link
    group_sent: list[SentMessage] = field(default_factory=list)         # user_id holds the group id
    group_quota_left: int = 1000
    quota_error: int = -1100              # the code the fake answers once the group quota is used up
    quota_requests: list[dict[str, Any]] = field(default_factory=list)


class FakeZalo:
    """The OA API and OAuth server; tests read `state` and steer it."""

    def __init__(self, *, refresh_delay: float = 0.05, app_secret: str = APP_SECRET) -> None:
        self.state = FakeZaloState()
        self.refresh_delay = refresh_delay
        self.app_secret = app_secret
        self.requests: list[RawRequest] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeZalo is not started")
        return f"http://127.0.0.1:{self._port}"

    async def __aenter__(self) -> "FakeZalo":
        app = web.Application(client_max_size=5 * 2**20, middlewares=[self._record_request])
        app.router.add_post("/v3.0/oa/message/cs", self._message)
        app.router.add_post("/v3.0/oa/message/template", self._template)
        app.router.add_post("/v2.0/oa/upload/image", self._upload)
        app.router.add_post("/v4/oa/access_token", self._oauth)
        app.router.add_post("/v3.0/oa/quota/group", self._group_quota)
        app.router.add_post("/v3.0/oa/group/creategroupwithoa", self._group_create)
        app.router.add_post("/v3.0/oa/group/message", self._group_message)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record_request(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Keep every request (path, headers, body), for leak checks."""
        return await record_request(self.requests, request, handler)

    # --- test controls ------------------------------------------------------------------------

    def issue_refresh_token(self) -> str:
        """A valid refresh token, as if an admin had authorised the OA."""
        token = f"rt-{next(_tokens)}-{secrets.token_hex(4)}"
        self.state.refresh_tokens.add(token)
        return token

    def issue_code(self, verifier: str) -> str:
        """An authorisation code bound to a PKCE verifier's challenge."""
        code = f"code-{next(_tokens)}"
        self.state.codes[code] = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode() \
            .rstrip("=")
        return code

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (-216), as after 25 hours."""
        self.state.access_tokens.clear()

    def fail_next(self, *codes: int) -> None:
        """The next message calls answer these error codes, in order."""
        self.state.faults.extend(codes)

    def messages(self, user_id: str | None = None) -> list[SentMessage]:
        return [m for m in self.state.sent if user_id is None or m.user_id == user_id]

    async def wait_for(self, user_id: str, count: int, timeout: float = 5.0) -> list[SentMessage]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.messages(user_id)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"only {len(self.messages(user_id))} Zalo messages for {user_id}")
            await asyncio.sleep(0.02)
        return self.messages(user_id)

    def add_group(self, name: str = "Nhóm đơn vị", members: tuple[str, ...] = ()) -> str:
        """A group the OA already runs (as if created in the OA manager); returns its id."""
        group_id = f"{next(_msg_ids) + 7000000000000000000}"
        self.state.groups[group_id] = {"name": name, "members": list(members),
                                       "link": f"https://zalo.me/g/{group_id[-8:]}"}
        return group_id

    def group_messages(self, group_id: str | None = None) -> list[SentMessage]:
        return [m for m in self.state.group_sent if group_id is None or m.user_id == group_id]

    async def wait_for_group(self, group_id: str, count: int, timeout: float = 5.0) -> list[SentMessage]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.group_messages(group_id)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"only {len(self.group_messages(group_id))} messages in group {group_id}")
            await asyncio.sleep(0.02)
        return self.group_messages(group_id)

    # --- handlers -----------------------------------------------------------------------------

    async def _group_quota(self, request: web.Request) -> web.Response:
        denied = self._check_token(request)
        if denied is not None:
            return denied
        body = await request.json()
        self.state.quota_requests.append(body)
        if not str(body.get("product_type", "")).startswith("gmf"):
            return self._error(-201, "product_type must be a gmf package")
        return web.json_response({"error": 0, "message": "Success",
                                  "data": [{"asset_id": "asset-gmf-1", "product_type": body["product_type"],
                                            "quota_type": body.get("quota_type", ""), "status": "available"}]})

    async def _group_create(self, request: web.Request) -> web.Response:
        denied = self._check_token(request)
        if denied is not None:
            return denied
        body = await request.json()
        members = body.get("member_user_ids", [])
        if not body.get("group_name") or not body.get("asset_id"):
            return self._error(-201, "group_name and asset_id are required")
        if not isinstance(members, list) or len(members) > 99 or not all(isinstance(m, str) for m in members):
            return self._error(-201, "member_user_ids: at most 99 string ids")
        group_id = self.add_group(str(body["group_name"]), tuple(members))
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"group_id": group_id, "group_link": self.state.groups[group_id]["link"]}})

    async def _group_message(self, request: web.Request) -> web.Response:
        denied = self._check_token(request)
        if denied is not None:
            return denied
        body = await request.json()
        group = body.get("recipient", {}).get("group_id") if isinstance(body.get("recipient"), dict) else None
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        if not isinstance(group, str) or group not in self.state.groups:
            return self._error(-201, "unknown recipient.group_id")
        if not (message.get("text") or message.get("attachment")):
            return self._error(-201, "message needs text or attachment")
        if len(str(message.get("text", ""))) > 2000:
            return self._error(-201, "text longer than 2000 characters")
        if (message.get("attachment") or {}).get("payload", {}).get("buttons"):
            return self._error(-201, "buttons are not supported in group messages")
        if self.state.faults:
            return self._error(self.state.faults.pop(0), "injected fault")
        if self.state.group_quota_left <= 0:
            return self._error(self.state.quota_error, "Group message quota exceeded")
        self.state.group_quota_left -= 1
        message_id = f"{next(_msg_ids):032x}"
        self.state.group_sent.append(SentMessage(group, body, request.path, message_id))
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": message_id, "group_id": group}})

    @staticmethod
    def _error(code: int, message: str) -> web.Response:
        return web.json_response({"error": code, "message": message})

    def _check_token(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("access_token", "")
        if not token or "Bearer" in request.headers.get("Authorization", ""):
            return self._error(-216, "Access token is invalid")
        if token not in self.state.access_tokens:
            return self._error(-216, "Access token is invalid or expired")
        return None

    def _validate(self, body: Any) -> str:
        if not isinstance(body, dict):
            return "body is not an object"
        user = body.get("recipient", {}).get("user_id") if isinstance(body.get("recipient"), dict) else None
        if not isinstance(user, str) or not user.isdigit():
            return "recipient.user_id must be a string of digits"
        message = body.get("message")
        if not isinstance(message, dict) or not (message.get("text") or message.get("attachment")):
            return "message needs text or attachment"
        if len(str(message.get("text", ""))) > 2000:
            return "text longer than 2000 characters"
        if any(entity in str(message.get("text", "")) for entity in ("&amp;", "&lt;", "&gt;", "&#")):
            return "escaped HTML sent to Zalo (it shows text as it is)"
        payload = (message.get("attachment") or {}).get("payload", {})
        buttons = payload.get("buttons", [])
        if len(buttons) > 5:
            return "more than 5 buttons"
        for button in buttons:
            if not button.get("title") or len(button["title"]) > 100:
                return "button title empty or longer than 100"
            if button.get("type") in ("oa.query.show", "oa.query.hide") and (
                    not isinstance(button.get("payload"), str) or len(button["payload"]) > 1000):
                return "query button payload must be a string of at most 1000"
        return ""

    async def _message(self, request: web.Request) -> web.Response:
        denied = self._check_token(request)
        if denied is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return self._error(-201, "Body is not JSON")
        problem = self._validate(body)
        if problem:
            self.state.rejected.append((-201, problem))
            return self._error(-201, problem)
        user = body["recipient"]["user_id"]
        if self.state.faults:
            code = self.state.faults.pop(0)
            return self._error(code, "injected fault")
        if user in self.state.not_followers:
            return self._error(-213, "User has not followed OA")
        if user in self.state.closed_window:
            return self._error(-230, "User has not interacted with the OA in the past 7 days")
        self.state.sent.append(SentMessage(user, body, request.path))
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": f"{next(_msg_ids):032x}", "user_id": user}})

    async def _template(self, request: web.Request) -> web.Response:
        denied = self._check_token(request)
        if denied is not None:
            return denied
        body = await request.json()
        user = str(body.get("recipient", {}).get("user_id", ""))
        if not body.get("template_id") or not isinstance(body.get("template_data"), dict):
            return self._error(-201, "template_id and template_data are required")
        self.state.sent.append(SentMessage(user, body, request.path))
        return web.json_response({"error": 0, "message": "Success", "data": {"message_id": "t1"}})

    async def _upload(self, request: web.Request) -> web.Response:
        denied = self._check_token(request)
        if denied is not None:
            return denied
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", "") != "file":
            return self._error(-201, "file is required")
        data = await part.read()  # type: ignore[union-attr]
        if len(data) > 1024 * 1024 or part.headers.get("Content-Type") not in ("image/jpeg", "image/png"):
            return self._error(-201, "jpg/png up to 1 MB")
        self.state.uploads.append(bytes(data))
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"attachment_id": f"att-{len(self.state.uploads)}"}})

    def _pair(self) -> dict[str, str]:
        access = f"at-{next(_tokens)}-{secrets.token_hex(4)}"
        refresh = self.issue_refresh_token()
        self.state.access_tokens.add(access)
        return {"access_token": access, "refresh_token": refresh, "expires_in": "90000"}

    async def _oauth(self, request: web.Request) -> web.Response:
        if request.headers.get("secret_key") != self.app_secret:
            return web.json_response({"error": -14002, "error_name": "Invalid secret key"})
        form = await request.post()
        if form.get("app_id") != APP_ID:
            return web.json_response({"error": -14001, "error_name": "Invalid app id"})
        grant = form.get("grant_type")
        if grant == "refresh_token":
            self.state.refresh_calls += 1
            token = str(form.get("refresh_token", ""))
            await asyncio.sleep(self.refresh_delay)      # widen the window for racing refreshers
            if token not in self.state.refresh_tokens:
                self.state.invalid_refresh += 1
                return web.json_response({"error": -14014, "error_name": "Invalid refresh token",
                                          "error_description": "Invalid refresh token"})
            self.state.refresh_tokens.discard(token)      # single use
            return web.json_response(self._pair())
        if grant == "authorization_code":
            code, verifier = str(form.get("code", "")), str(form.get("code_verifier", ""))
            challenge = self.state.codes.pop(code, None)
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if challenge is None or challenge != expected:
                return web.json_response({"error": -14019, "error_name": "Invalid code or code verifier"})
            return web.json_response(self._pair())
        return web.json_response({"error": -14003, "error_name": "Invalid grant type"})


# --- the webhook side: events as Zalo sends them ----------------------------------------------

def sign(raw: bytes, timestamp: str, *, app_id: str = APP_ID, secret: str = OA_SECRET_KEY) -> str:
    """Zalo's signature header value: mac= + sha256(app_id + body + timestamp + OA secret key)."""
    return "mac=" + hashlib.sha256(app_id.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()


def user_event(event_name: str, user_id: str, timestamp_ms: int, *, message: dict[str, Any] | None = None,
               app_id: str = APP_ID, **extra: Any) -> dict[str, Any]:
    """An event from a user, with string ids and timestamp like Zalo's."""
    event: dict[str, Any] = {"app_id": app_id, "user_id_by_app": f"9{user_id}", "event_name": event_name,
                             "sender": {"id": user_id}, "recipient": {"id": OA_ID}, "timestamp": str(timestamp_ms)}
    if message is not None:
        event["message"] = {"msg_id": f"{secrets.token_hex(16)}", **message}
    event.update(extra)
    return event


def text_event(user_id: str, text: str, timestamp_ms: int, **extra: Any) -> dict[str, Any]:
    return user_event("user_send_text", user_id, timestamp_ms, message={"text": text}, **extra)


def group_text_event(user_id: str, group_id: str, text: str, timestamp_ms: int, *,
                     where: str = "recipient.group_id", quote: str = "") -> dict[str, Any]:
    """A member's text in an OA group; `where` puts the group id where that source says it is;
    `quote` is the id of the OA message it replies to (the field name is unconfirmed)."""
    event = user_event("user_send_group_text", user_id, timestamp_ms,
                       message={"text": text, **({"quote_msg_id": quote} if quote else {})})
    if where == "recipient.group_id":
        event["recipient"] = {"id": OA_ID, "group_id": group_id}
    elif where == "message.conversation_id":
        event["message"]["conversation_id"] = group_id
    else:
        event["recipient"] = {"id": group_id}
    return event


def image_event(user_id: str, url: str, timestamp_ms: int, *, caption: str = "") -> dict[str, Any]:
    message = {"text": caption, "attachments": [{"type": "image", "payload": {"url": url, "thumbnail": url}}]}
    return user_event("user_send_image", user_id, timestamp_ms, message=message)


def submit_info_event(user_id: str, timestamp_ms: int, *, name: str, phone: str, nested: bool = False) -> dict:
    address = {"address": "Thôn Mẫu 1", "city": "Tuyên Quang", "district": "", "ward": "Xuân Giang"}
    info: dict[str, Any] = {"name": name, "phone": phone}
    if nested:
        info["full_address"] = address
    else:
        info.update(address)
    return user_event("user_submit_info", user_id, timestamp_ms, info=info)


async def post_event(http: aiohttp.ClientSession, url: str, event: Any, *, signature: str | None = "good",
                     raw: bytes | None = None) -> int:
    """POST an event the way Zalo does; signature "good" signs the exact bytes, None sends none."""
    body = raw if raw is not None else json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "good":
        headers["X-ZEvent-Signature"] = sign(body, str(event.get("timestamp", "")))
    elif signature is not None:
        headers["X-ZEvent-Signature"] = signature
    async with http.post(url, data=body, headers=headers) as response:
        await response.read()
        return response.status
