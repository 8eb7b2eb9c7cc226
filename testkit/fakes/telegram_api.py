"""A fake Telegram Bot API on 127.0.0.1: tests drive the real python-telegram-bot client over HTTP.

Point PTB at it with `.base_url(f"{fake.url}/bot").base_file_url(f"{fake.url}/file/bot")`.
It answers in the real envelope, validates like Telegram where our code can go wrong (HTML,
lengths, callback_data, rate limits), records every call, and can inject faults.
"""

import asyncio
import collections
import copy
import itertools
import json
import math
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web

DEFAULT_TOKEN = "123:ABC"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

# Shared by the update builders and every fake, so a citizen's message and the bot's reply never
# share a message_id, and ids still grow within each chat.
_update_ids = itertools.count(1)
_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)
_file_numbers = itertools.count(1)

_dumps = partial(json.dumps, ensure_ascii=False)


@dataclass(frozen=True)
class Call:
    """One Bot API request as the fake received it, for asserting on what the bot did."""

    method: str
    params: dict[str, Any]
    chat_id: int | str | None
    timestamp: float
    status: int = 200


@dataclass(frozen=True)
class RawRequest:
    """One HTTP request as it arrived at a fake, before any parsing."""

    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes


async def record_request(requests: list[RawRequest], request: web.Request,
                         handler: Callable) -> web.StreamResponse:
    """Run the handler and keep the request: raw bytes, or for multipart (whose stream the handler
    consumes) its text fields and file names as aiohttp parsed them."""
    try:
        return await handler(request)
    finally:
        # Read after the handler, so its own can_read_body/post() see an untouched request.
        if request.content_type.startswith("multipart/"):
            form = await request.post()                     # cached by the handler's own post()
            body = json.dumps([[k, v if isinstance(v, str) else f"<file {getattr(v, 'filename', '')}>"]
                               for k, v in form.items()], ensure_ascii=False).encode()
        else:
            body = await request.read()                     # cached when the handler read it
        requests.append(RawRequest(request.method, request.path_qs, dict(request.headers), body))


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request, kept so a test can check the bytes that were sent."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes


@dataclass(frozen=True)
class _Fault:
    status: int
    retry_after: int | None
    description: str | None


class ApiError(Exception):
    """A Bot API error answer, raised by a method handler and sent as Telegram's error envelope."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict:
        """Telegram's error shape, which PTB reads `description` and `parameters` from."""
        body = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class FakeTelegramAPI:
    """An aiohttp server that speaks enough of the Bot API for python-telegram-bot 22."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        enforce_limits: bool = False,
        strict_ampersand: bool = True,
        clock: Callable[[], float] = time.monotonic,
        bot_username: str = "danvan_test_bot",
    ) -> None:
        self.token = token
        self.enforce_limits = enforce_limits
        # Telegram keeps a bare "&" literally; strict mode still refuses it, so unescaped user
        # text fails a test even when it happens to contain no "<".
        self.strict_ampersand = strict_ampersand
        self.calls: list[Call] = []
        self.requests: list[RawRequest] = []
        self.rate_limit_hits = 0
        self.commands: list[dict] = []
        self.webhook: dict[str, Any] = {}
        self.bot_user = {
            "id": _bot_id(token),
            "is_bot": True,
            "first_name": "Dân Vận",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._clock = clock
        self._sent: list[dict] = []
        self._messages: dict[tuple[int, int], dict] = {}
        self._files: dict[str, _StoredFile] = {}
        self._paths: dict[str, str] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._updates: list[dict] = []
        self._faults: dict[str, collections.deque[_Fault]] = collections.defaultdict(
            collections.deque
        )
        self._delay = 0.0
        self._chat_sends: dict[int, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._all_sends: collections.deque[float] = collections.deque()
        self._new_update = asyncio.Event()
        self._sent_changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, tuple[str, Callable]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "editMessageCaption": self._edit_message_caption,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendLocation": self._send_location,
                "getFile": self._get_file,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getUpdates": self._get_updates,
                "setMyCommands": self._set_my_commands,
                "getChat": self._get_chat,
                "leaveChat": self._true,
                "sendChatAction": self._true,
                "getChatMember": self._get_chat_member,
            }.items()
        }

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base address, e.g. http://127.0.0.1:41234; PTB appends /bot<token>/<method>."""
        if self._port is None:
            raise RuntimeError("FakeTelegramAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1 (bound by us, so there is no race for the port)."""
        self._stopping.clear()
        app = web.Application(client_max_size=50 * 2**20,  # Telegram's upload limit for bots
                              middlewares=[self._record_request])
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Wake long polls and delayed answers so shutdown does not wait for them."""
        self._stopping.set()
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeTelegramAPI":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- test controls -----------------------------------------------------------------------

    def push_update(self, update: dict) -> None:
        """Queue an update for getUpdates, as if a user had just written to the bot."""
        update = copy.deepcopy(update)
        update.setdefault("update_id", next(_update_ids))
        message = update.get("message")
        if message:  # so the bot may delete it, as Telegram allows in private chats
            self._messages[(message["chat"]["id"], message["message_id"])] = message
        self._updates.append(update)
        self._new_update.set()

    def add_file(self, file_id: str, data: bytes, file_path: str | None = None) -> None:
        """Make getFile know file_id and serve data at /file/bot<token>/<file_path>."""
        path = file_path or f"photos/{file_id}.jpg"
        self._files[file_id] = _StoredFile(file_id, f"u{file_id}"[:16], path, data)
        self._paths[path] = file_id

    def set_chat_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Set what getChatMember answers: creator, administrator, member, left or kicked."""
        self._members[(chat_id, user_id)] = status

    def fail_next(
        self,
        method: str,
        status: int = 500,
        retry_after: int | None = None,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next `times` calls of method with an error; a 429 always has retry_after."""
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = _Fault(status, retry_after, description)
        self._faults[method.lower()].extend([fault] * times)

    def set_delay(self, seconds: float) -> None:
        """Answer every API call this much later, to exercise client timeouts."""
        self._delay = seconds

    def clear(self) -> None:
        """Forget recorded calls and sent messages; chats keep their messages, so edits work."""
        self.calls.clear()
        self._sent.clear()
        self.rate_limit_hits = 0

    def sent_messages(self, chat_id: int | None = None) -> list[dict]:
        """Messages the bot sent, as sent: the results plus any reply keyboard it asked for."""
        return [
            copy.deepcopy(m) for m in self._sent if chat_id is None or m["chat"]["id"] == chat_id
        ]

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """The message as it is now, after edits; None once deleted."""
        found = self._messages.get((chat_id, message_id))
        return copy.deepcopy(found)

    async def wait_for_messages(self, chat_id: int, count: int, timeout: float = 5.0) -> list[dict]:
        """Wait until the bot has sent at least count messages to chat_id, and return them all."""

        def enough() -> bool:
            return len(self.sent_messages(chat_id)) >= count

        async with self._sent_changed:
            try:
                await asyncio.wait_for(self._sent_changed.wait_for(enough), timeout)
            except TimeoutError:
                texts = [m.get("text", m.get("caption")) for m in self.sent_messages(chat_id)]
                raise AssertionError(
                    f"expected {count} message(s) to chat {chat_id} within {timeout}s, got {texts}"
                ) from None
        return self.sent_messages(chat_id)

    # -- HTTP --------------------------------------------------------------------------------

    @web.middleware
    async def _record_request(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        """Keep every request (path, headers, body), for leak checks."""
        return await record_request(self.requests, request, handler)

    async def _handle_api(self, request: web.Request) -> web.Response:
        """Authenticate, apply faults, delay and rate limits, run the method, record the call."""
        arrived = time.time()
        name = request.match_info["method"]
        entry = self._methods.get(name.lower())
        method = entry[0] if entry else name
        params: dict[str, Any] = {}
        try:
            params = await _read_params(request)
            _check_token(request.match_info["token"], self.token)
            if entry is None:
                raise ApiError(404, "Not Found")
            await self._pause(self._delay)
            self._apply_fault(method)
            body = {"ok": True, "result": await entry[1](params)}
            status = 200
        except ApiError as err:
            body, status = err.body(), err.status
        self.calls.append(Call(method, params, params.get("chat_id"), arrived, status))
        return web.json_response(body, status=status, dumps=_dumps)

    async def _handle_file(self, request: web.Request) -> web.Response:
        """Serve registered file bytes, as Telegram's file server does."""
        file_id = self._paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or file_id is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=self._files[file_id].data)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at stop() so a slow answer never holds up shutdown."""
        if seconds > 0:
            try:
                await asyncio.wait_for(self._stopping.wait(), seconds)
            except TimeoutError:
                pass

    def _apply_fault(self, method: str) -> None:
        """Raise the next injected error for method, if any."""
        queue = self._faults.get(method.lower())
        if not queue:
            return
        fault = queue.popleft()
        description = fault.description or _default_description(fault.status, fault.retry_after)
        parameters = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
        raise ApiError(fault.status, description, parameters)

    def _check_rate(self, chat_id: int) -> None:
        """Refuse a send with 429 beyond Telegram's documented limits (edits are not counted)."""
        if not self.enforce_limits:
            return
        now = self._clock()
        chat_sends, all_sends = self._chat_sends[chat_id], self._all_sends
        while chat_sends and now - chat_sends[0] >= 60:
            chat_sends.popleft()
        while all_sends and now - all_sends[0] >= 1:
            all_sends.popleft()
        waits = []
        if chat_sends and now - chat_sends[-1] < 1:
            waits.append(1 - (now - chat_sends[-1]))
        if chat_id < 0 and len(chat_sends) >= 20:
            waits.append(60 - (now - chat_sends[-20]))
        if len(all_sends) >= 30:
            waits.append(1 - (now - all_sends[-30]))
        if waits:
            self.rate_limit_hits += 1
            retry_after = max(1, math.ceil(max(waits)))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        chat_sends.append(now)
        all_sends.append(now)

    # -- messages ----------------------------------------------------------------------------

    async def _deliver(self, params: dict, content: dict) -> dict:
        """Rate-limit, store and record one sent message; return it as Telegram would."""
        chat_id = _chat_id(params)
        markup = _reply_markup(params)
        self._check_rate(chat_id)
        message = {
            "message_id": next(_message_ids),
            "from": self.bot_user,
            "chat": _chat(chat_id),
            "date": int(time.time()),
            **{key: value for key, value in content.items() if value is not None},
        }
        if params.get("message_thread_id"):
            message["message_thread_id"] = params["message_thread_id"]
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        self._messages[(chat_id, message["message_id"])] = message
        record = copy.deepcopy(message)
        if markup:
            record["reply_markup"] = markup
        async with self._sent_changed:
            self._sent.append(record)
            self._sent_changed.notify_all()
        return message

    async def _send_message(self, p: dict) -> dict:
        return await self._deliver(p, self._text(p))

    async def _send_photo(self, p: dict) -> dict:
        caption = self._caption(p)
        photo = self._input_file(p.get("photo"), "photos", ".jpg") | {"width": 1280, "height": 960}
        return await self._deliver(p, {"photo": [photo], **caption})

    async def _send_document(self, p: dict) -> dict:
        caption, upload = self._caption(p), p.get("document")
        file = self._input_file(upload, "documents", "")
        if isinstance(upload, Upload):
            file.update(file_name=upload.filename, mime_type=upload.content_type)
        return await self._deliver(p, {"document": file, **caption})

    async def _send_location(self, p: dict) -> dict:
        try:
            location = {"latitude": float(p["latitude"]), "longitude": float(p["longitude"])}
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: wrong latitude or longitude") from None
        return await self._deliver(p, {"location": location})

    def _text(self, p: dict) -> dict:
        """Parse and check a message text; the limits apply to the text after HTML parsing."""
        text = _formatted(p, "text", "entities", self.strict_ampersand)
        if text is None or not text["text"].strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text["text"]) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _caption(self, p: dict) -> dict:
        """Parse and check an optional caption."""
        caption = _formatted(p, "caption", "caption_entities", self.strict_ampersand)
        if caption is None:
            return {}
        if _utf16_len(caption["caption"]) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        return caption

    def _input_file(self, value: Any, folder: str, suffix: str) -> dict:
        """Register an uploaded file so getFile can serve it back; pass ids and URLs through."""
        if isinstance(value, Upload):
            number = next(_file_numbers)
            file_id = f"fake-{folder}-{number}"
            self.add_file(file_id, value.data, f"{folder}/file_{number}{suffix}")
            size = len(value.data)
            return {"file_id": file_id, "file_unique_id": f"u{number}", "file_size": size}
        if not isinstance(value, str) or not value:
            raise ApiError(400, "Bad Request: there is no file in the request")
        if value.startswith(("http://", "https://")):
            value = f"fake-url-{next(_file_numbers)}"
        stored = self._files.get(value)
        file = {"file_id": value, "file_unique_id": f"u{value}"[:16]}
        return file | ({"file_size": len(stored.data)} if stored else {})

    def _editable(self, p: dict) -> dict:
        """The bot's own message that an edit names, or Telegram's refusal."""
        chat_id = _chat_id(p)
        message = self._messages.get((chat_id, p.get("message_id")))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _apply_edit(self, message: dict, changes: dict, markup: dict | None) -> dict:
        """Apply an edit, refusing a no-op edit exactly as Telegram does."""
        inline = markup if markup and "inline_keyboard" in markup else None
        unchanged = all(message.get(key) == value for key, value in changes.items())
        if unchanged and message.get("reply_markup") == inline:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        if inline is None:  # an edit without reply_markup removes the inline keyboard
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = inline
        message["edit_date"] = int(time.time())
        return message

    async def _edit_message_text(self, p: dict) -> dict | bool:
        text = self._text(p)
        markup = _reply_markup(p)
        if p.get("inline_message_id"):
            return True
        message = self._editable(p)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        return self._apply_edit(message, {"entities": None} | text, markup)

    async def _edit_message_caption(self, p: dict) -> dict | bool:
        caption = self._caption(p)
        markup = _reply_markup(p)
        if p.get("inline_message_id"):
            return True
        message = self._editable(p)
        if "text" in message or "location" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        changes = {"caption": None, "caption_entities": None} | caption
        return self._apply_edit(message, changes, markup)

    async def _edit_message_reply_markup(self, p: dict) -> dict | bool:
        markup = _reply_markup(p)
        if p.get("inline_message_id"):
            return True
        return self._apply_edit(self._editable(p), {}, markup)

    async def _delete_message(self, p: dict) -> bool:
        if self._messages.pop((_chat_id(p), p.get("message_id")), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    # -- other methods -----------------------------------------------------------------------

    async def _true(self, p: dict) -> bool:
        return True

    async def _get_me(self, p: dict) -> dict:
        return self.bot_user

    async def _answer_callback_query(self, p: dict) -> bool:
        if not p.get("callback_query_id"):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        return True

    async def _get_file(self, p: dict) -> dict:
        stored = self._files.get(str(p.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _set_webhook(self, p: dict) -> bool:
        url = p.get("url") or ""
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {"url": url, **{k: v for k, v in p.items() if k != "url"}} if url else {}
        return True

    async def _delete_webhook(self, p: dict) -> bool:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {}
        return True

    async def _get_webhook_info(self, p: dict) -> dict:
        info = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            info["ip_address"] = "127.0.0.1"
        return info

    async def _get_updates(self, p: dict) -> list[dict]:
        """Long-poll like Telegram: confirm ids below offset, wait up to timeout for new ones."""
        if self.webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        deadline = asyncio.get_running_loop().time() + float(p.get("timeout") or 0)
        while True:
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            if self._updates or self._stopping.is_set():
                return self._updates[:limit]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                return []

    async def _set_my_commands(self, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands = commands
        return True

    async def _get_chat(self, p: dict) -> dict:
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return {
            **_chat(_chat_id(p)),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys((*gifts, "gifts_from_channels"), False),
        }

    async def _get_chat_member(self, p: dict) -> dict:
        chat_id, user_id = _chat_id(p), p.get("user_id")
        if not isinstance(user_id, int):
            raise ApiError(400, "Bad Request: PARTICIPANT_ID_INVALID")
        status = self._members.get((chat_id, user_id), "member")
        user = self.bot_user if user_id == self.bot_user["id"] else _user(user_id)
        member = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            rights = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats")
            rights += ("can_restrict_members", "can_promote_members", "can_change_info")
            rights += ("can_invite_users", "can_post_stories", "can_edit_stories")
            rights += ("can_delete_stories", "can_manage_topics")
            member |= {"can_be_edited": False, "is_anonymous": False} | dict.fromkeys(rights, True)
        elif status == "kicked":
            member["until_date"] = 0
        return member


# -- request parsing and validation ---------------------------------------------------------

# Parameters that stay strings even when they look like numbers or JSON ("123" as a text).
_STRING_PARAMS = frozenset(
    {"text", "caption", "parse_mode", "callback_query_id", "file_id", "photo", "document"}
    | {"url", "secret_token", "action", "inline_message_id", "title", "description"}
)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Accept query, JSON, form and multipart bodies; decode JSON-encoded values like Telegram."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json" and request.can_read_body:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
        if isinstance(body, dict):
            params.update(body)
    elif request.can_read_body:
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                value = Upload(value.filename, value.content_type, value.file.read())
            params[name] = value
    return {name: _decode(name, value) for name, value in params.items()}


def _decode(name: str, value: Any) -> Any:
    """Turn "123", "true" or '{"inline_keyboard": ...}' into values; PTB sends them so in forms."""
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _check_token(token: str, expected: str) -> None:
    """Telegram answers 404 to a malformed token and 401 to a well-formed wrong one."""
    if token == expected:
        return
    if not re.fullmatch(r"\d+:[\w-]+", token):
        raise ApiError(404, "Not Found")
    raise ApiError(401, "Unauthorized")


def _bot_id(token: str) -> int:
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 1


def _chat_id(params: dict) -> int:
    """The numeric chat id; usernames are not resolved, so they are 'not found'."""
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        raise ApiError(400, "Bad Request: chat not found")
    return chat_id


def _reply_markup(params: dict) -> dict | None:
    """The reply_markup, refusing callback_data over Telegram's 64 bytes."""
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _formatted(params: dict, key: str, entities_key: str, strict_ampersand: bool) -> dict | None:
    """Text or caption as Telegram stores it: HTML parsed into plain text plus entities."""
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    raw = str(raw)
    parse_mode = str(params.get("parse_mode") or "").lower()
    if parse_mode == "html":
        try:
            text, entities = parse_html(raw, strict_ampersand=strict_ampersand)
        except HtmlError as err:
            raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
    elif parse_mode in ("", "markdown", "markdownv2"):  # Markdown is passed through unparsed
        text, entities = raw, params.get(entities_key) or []
    else:
        raise ApiError(400, "Bad Request: unsupported parse_mode")
    result: dict[str, Any] = {key: text}
    if entities:
        result[entities_key] = entities
    return result


def _utf16_len(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    if status == 403:
        return "Forbidden: bot was blocked by the user"
    if status == 400:
        return "Bad Request"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


# -- Telegram's HTML parser ------------------------------------------------------------------


class HtmlError(ValueError):
    """Why Telegram would refuse this HTML; the message follows tdlib's wording."""


_HTML_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del"}
    | {"span", "tg-spoiler", "tg-emoji", "code", "pre", "blockquote"}
)
_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_SPACES = " \t\r\n\v\0"
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the parsed text
    position: int  # index in the parsed text, for an <a> without href


def parse_html(text: str, *, strict_ampersand: bool = False) -> tuple[str, list[dict]]:
    """Parse Telegram HTML into (plain text, entities), following tdlib's parse_html."""
    parser = _HtmlParser(text, strict_ampersand)
    return parser.parse()


class _HtmlParser:
    """tdlib's parse_html: the same tags, references, nesting rules and error messages."""

    def __init__(self, text: str, strict_ampersand: bool) -> None:
        self.text = text
        self.strict_ampersand = strict_ampersand
        self.i = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[dict] = []
        self.decoded_surrogate = False

    def at(self, k: int) -> str:
        """The character at k, or NUL past the end, as tdlib reads its C string."""
        return self.text[k] if k < len(self.text) else "\0"

    def byte_offset(self, k: int) -> int:
        return len(self.text[:k].encode("utf-8", "surrogatepass"))

    def parse(self) -> tuple[str, list[dict]]:
        stack: list[_OpenTag] = []
        while self.i < len(self.text):
            c = self.text[self.i]
            if c == "&":
                if self.read_reference():
                    continue
                if self.strict_ampersand:
                    raise HtmlError(
                        f'Character "&" at byte offset {self.byte_offset(self.i)} must be escaped '
                        "as &amp; (the fake is stricter than Telegram here)"
                    )
            if c != "<":
                self.append(c)
                self.i += 1
                continue
            begin = self.i
            self.i += 1
            if self.at(self.i) != "/":
                stack.append(self.read_start_tag(begin))
            else:
                self.read_end_tag(begin, stack)
            self.i += 1  # past ">"
        if stack:
            raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
        if self.decoded_surrogate:
            raise HtmlError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)  # a language counts only inside <pre>
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def append(self, char: str) -> None:
        self.out.append(char)
        self.utf16 += 2 if ord(char) > 0xFFFF else 1

    def read_reference(self) -> bool:
        """Decode &lt; &gt; &amp; &quot; or &#NN; / &#xNN; (the ';' is optional, as in tdlib)."""
        code, end = _decode_reference(self.text, self.i)
        if code is None:
            return False
        # tdlib reports this only after the whole text parsed, so tag errors win.
        self.decoded_surrogate |= 0xD800 <= code <= 0xDFFF
        self.append(chr(code))
        self.i = end
        return True

    def read_start_tag(self, begin: int) -> _OpenTag:
        at = self.at
        while at(self.i) not in _SPACES and at(self.i) != ">":
            self.i += 1
        if self.i >= len(self.text):
            raise HtmlError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = self.text[begin + 1 : self.i].lower()
        if name not in _HTML_TAGS:
            raise HtmlError(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}'
            )
        argument = ""
        while at(self.i) != ">":
            while self.i < len(self.text) and at(self.i) in _SPACES:
                self.i += 1
            if at(self.i) == ">":
                break
            attribute_begin = self.i
            while at(self.i) not in _SPACES and at(self.i) not in "=>/\"'":
                self.i += 1
            attribute = self.text[attribute_begin : self.i].lower()
            if not attribute:
                raise HtmlError(
                    f'Empty attribute name in the tag "{name}" at byte offset '
                    f"{self.byte_offset(begin)}"
                )
            while self.i < len(self.text) and at(self.i) in _SPACES:
                self.i += 1
            if at(self.i) != "=":
                if self.i >= len(self.text):
                    raise HtmlError(
                        f'Unclosed start tag "{name}" at byte offset {self.byte_offset(begin)}'
                    )
                if name == "blockquote" and attribute == "expandable":
                    argument = "1"
                continue
            self.i += 1
            while self.i < len(self.text) and at(self.i) in _SPACES:
                self.i += 1
            if self.i >= len(self.text):
                raise HtmlError(
                    f'Unclosed start tag "{name}" at byte offset {self.byte_offset(begin)}'
                )
            value = self.read_attribute_value()
            if self.i >= len(self.text):
                raise HtmlError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            if (name, attribute) in (("a", "href"), ("tg-emoji", "emoji-id")):
                argument = value
            elif (name, attribute) == ("code", "class") and value.startswith("language-"):
                argument = value[len("language-") :]
            elif (name, attribute) == ("span", "class") and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif (name, attribute) == ("blockquote", "expandable"):
                argument = "1"
        if name == "span" and argument != "spoiler":
            raise HtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}'
            )
        return _OpenTag(name, argument, self.utf16, len(self.out))

    def read_attribute_value(self) -> str:
        """A lowercased name token, or a quoted string with its references decoded."""
        at = self.at
        quote = at(self.i)
        if quote not in "\"'":
            token_begin = self.i
            while at(self.i).isascii() and (at(self.i).isalnum() or at(self.i) in ".-"):
                self.i += 1
            if at(self.i) not in _SPACES and at(self.i) != ">":
                raise HtmlError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(token_begin)}"
                )
            return self.text[token_begin : self.i].lower()
        self.i += 1
        value: list[str] = []
        while self.i < len(self.text) and at(self.i) != quote:
            if at(self.i) == "&":
                code, end = _decode_reference(self.text, self.i)
                if code is not None:
                    value.append(chr(code))
                    self.i = end
                    continue
            value.append(at(self.i))
            self.i += 1
        if at(self.i) == quote:
            self.i += 1
        return "".join(value)

    def read_end_tag(self, begin: int, stack: list[_OpenTag]) -> None:
        at = self.at
        if not stack:
            raise HtmlError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        while at(self.i) not in _SPACES and at(self.i) != ">":
            self.i += 1
        end_name = self.text[begin + 2 : self.i].lower()
        while self.i < len(self.text) and at(self.i) in _SPACES:
            self.i += 1
        if at(self.i) != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        tag = stack[-1]
        if end_name and end_name != tag.name:
            raise HtmlError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{tag.name}>", found "</{end_name}>"'
            )
        stack.pop()
        if self.utf16 > tag.offset:
            self.add_entity(tag, self.utf16 - tag.offset)

    def add_entity(self, tag: _OpenTag, length: int) -> None:
        """Turn a closed tag into an entity; <pre><code class="language-x"> becomes one pre."""
        entity: dict[str, Any] = {"type": "", "offset": tag.offset, "length": length}
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last["offset"], last["length"]) == (tag.offset, length)
        if tag.name in _SIMPLE_ENTITY_TYPES:
            entity["type"] = _SIMPLE_ENTITY_TYPES[tag.name]
        elif tag.name == "a":
            url = tag.argument or "".join(self.out[tag.position :])
            if not url:
                return
            entity |= {"type": "text_link", "url": url}
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or int(tag.argument) <= 0:
                raise HtmlError("Invalid custom emoji identifier specified")
            entity |= {"type": "custom_emoji", "custom_emoji_id": tag.argument}
        elif tag.name == "blockquote":
            entity["type"] = "expandable_blockquote" if tag.argument else "blockquote"
        elif tag.name == "pre":
            if same_span and last["type"] == "code" and "language" in last:
                last["type"] = "pre"
                return
            entity["type"] = "pre"
        elif tag.name == "code":
            if same_span and last["type"] == "pre" and tag.argument:
                last["language"] = tag.argument
                return
            entity["type"] = "code"
            if tag.argument:
                entity["language"] = tag.argument
        self.entities.append(entity)


def _decode_reference(text: str, start: int) -> tuple[int | None, int]:
    """tdlib's decode_html_entity: (code point, index after it), or (None, start) if not one."""

    def at(k: int) -> str:
        return text[k] if k < len(text) else "\0"

    end = start + 1
    if at(end) == "#":
        end += 1
        hexadecimal = at(end) == "x"
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        end += hexadecimal
        digits_begin = end
        while at(end) in digits:
            end += 1
        if end == digits_begin or end - start >= 10:
            return None, start
        code = int(text[digits_begin:end], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF:
            return None, start
    else:
        while at(end).isascii() and at(end).isalpha():
            end += 1
        char = _NAMED_REFERENCES.get(text[start + 1 : end])
        if char is None:
            return None, start
        code = ord(char)
    return code, end + 1 if at(end) == ";" else end


# -- update builders -------------------------------------------------------------------------

_DEFAULT_BOT = {"id": _bot_id(DEFAULT_TOKEN), "is_bot": True, "first_name": "Dân Vận"}


def _user(user_id: int, first_name: str = "Dân", username: str | None = None) -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}
    if username:
        user["username"] = username
    return user


def _chat(chat_id: int, user: dict | None = None, chat_type: str | None = None) -> dict:
    """A Chat object: private for positive ids, a (super)group for negative ones, like Telegram."""
    if chat_type is None:
        chat_type = "private" if chat_id > 0 else "group"
        if str(chat_id).startswith("-100"):
            chat_type = "supergroup"
    if chat_type == "private":
        first_name = (user or {}).get("first_name", "Dân")
        chat = {"id": chat_id, "type": "private", "first_name": first_name}
        if user and user.get("username"):
            chat["username"] = user["username"]
        return chat
    return {"id": chat_id, "type": chat_type, "title": f"Group {chat_id}"}


def _message_update(
    user_id: int,
    content: dict,
    *,
    chat_id: int | None = None,
    first_name: str = "Dân",
    username: str | None = None,
    update_id: int | None = None,
) -> dict:
    user = _user(user_id, first_name, username)
    message = {
        "message_id": next(_message_ids),
        "from": user,
        "chat": _chat(user_id if chat_id is None else chat_id, user),
        "date": int(time.time()),
        **{key: value for key, value in content.items() if value is not None},
    }
    return {"update_id": next(_update_ids) if update_id is None else update_id, "message": message}


def text_update(
    user_id: int,
    text: str,
    *,
    chat_id: int | None = None,
    first_name: str = "Dân",
    username: str | None = None,
    update_id: int | None = None,
) -> dict:
    """A text message; a leading /command gets the bot_command entity PTB's CommandHandler needs."""
    content: dict[str, Any] = {"text": text}
    command = re.match(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_])", text)
    if command:
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
    return _message_update(
        user_id,
        content,
        chat_id=chat_id,
        first_name=first_name,
        username=username,
        update_id=update_id,
    )


def group_text_update(
    chat_id: int, user_id: int, text: str, *, update_id: int | None = None
) -> dict:
    """A text message written in a group the bot is in."""
    return text_update(user_id, text, chat_id=chat_id, update_id=update_id)


def callback_update(
    user_id: int,
    data: str,
    *,
    message_id: int,
    chat_id: int | None = None,
    chat_type: str = "private",
    message_text: str | None = None,
    first_name: str = "Dân",
    update_id: int | None = None,
) -> dict:
    """A tap on an inline button of the bot's message message_id."""
    user = _user(user_id, first_name)
    chat_id = user_id if chat_id is None else chat_id
    message = {
        "message_id": message_id,
        "from": _DEFAULT_BOT,
        "chat": _chat(chat_id, user, chat_type),
        "date": int(time.time()),
    }
    if message_text is not None:
        message["text"] = message_text
    query = {
        "id": str(next(_callback_ids)),
        "from": user,
        "chat_instance": str(abs(chat_id)),
        "data": data,
        "message": message,
    }
    update_id = next(_update_ids) if update_id is None else update_id
    return {"update_id": update_id, "callback_query": query}


def contact_update(
    user_id: int,
    phone: str,
    *,
    contact_user_id: int | None,
    first_name: str = "Dân",
    update_id: int | None = None,
) -> dict:
    """A shared contact; contact_user_id differs from user_id when someone else's card is sent."""
    contact = {"phone_number": phone, "first_name": first_name, "user_id": contact_user_id}
    contact = {key: value for key, value in contact.items() if value is not None}
    content = {"contact": contact}
    return _message_update(user_id, content, first_name=first_name, update_id=update_id)


def location_update(user_id: int, lat: float, lon: float, *, update_id: int | None = None) -> dict:
    """A shared location."""
    location = {"latitude": lat, "longitude": lon}
    return _message_update(user_id, {"location": location}, update_id=update_id)


def photo_update(
    user_id: int,
    file_id: str,
    *,
    caption: str | None = None,
    file_size: int = 1234,
    update_id: int | None = None,
) -> dict:
    """A photo in two sizes, as Telegram sends them; the largest, photo[-1], has file_id."""
    sizes = [
        {"file_id": f"{file_id}-thumb", "file_unique_id": f"t{file_id}"[:16], "width": 90,
         "height": 68, "file_size": min(file_size, 999)},
        {"file_id": file_id, "file_unique_id": f"u{file_id}"[:16], "width": 1280, "height": 960,
         "file_size": file_size},
    ]
    content = {"photo": sizes, "caption": caption}
    return _message_update(user_id, content, update_id=update_id)


def voice_update(
    user_id: int, file_id: str, *, caption: str | None = None, update_id: int | None = None
) -> dict:
    """A voice note (OGG/Opus, as Telegram records them)."""
    voice = {
        "file_id": file_id,
        "file_unique_id": f"u{file_id}"[:16],
        "duration": 3,
        "mime_type": "audio/ogg",
        "file_size": 4321,
    }
    return _message_update(user_id, {"voice": voice, "caption": caption}, update_id=update_id)


# -- webhook driver --------------------------------------------------------------------------


async def post_update(
    session: aiohttp.ClientSession, url: str, update: dict, *, secret: str | None
) -> int:
    """POST an update to our webhook the way Telegram does, and return the HTTP status."""
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with session.post(url, json=update, headers=headers) as response:
        await response.read()
        return response.status
