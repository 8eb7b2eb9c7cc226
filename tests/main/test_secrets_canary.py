"""Issue 7 row 16: secrets never appear in logs, URLs or error messages.

Every secret danvan reads from the environment (bot/config.py `_apply_secrets`, DANVAN_DATA_KEY,
DANVAN_PIN_PEPPER, DANVAN_WEB_SECRET, an Open311 API key, the DATABASE_URL password) is set to a
canary value. The real `danvan run` (a subprocess, --verbose) then starts against a fake Bot API and a
fake Zalo, and is exercised: genuine and forged Telegram and Zalo webhooks, a Bot API answering
500 and 401 and then unreachable, a Zalo refresh token Zalo refuses, /healthz, /metrics, web pages,
error pages, Open311 with a good and a bad key. Then `danvan run` starts against a Bot API that
rejects the token, and the CLI prints its configuration and its configuration errors.

Everything danvan wrote (stdout, stderr), every response it served (status line, headers, body) and
every request it made to the fakes is searched for each canary, raw, URL-encoded and base64-encoded.
The only places a secret may travel are where the other side needs it: the token in the Bot API path
and setWebhook's secret_token (Telegram's design), the app secret header and the refresh token in
Zalo's OAuth call.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import socket
import sys
import time
import urllib.parse
from pathlib import Path

import aiohttp
import pytest

from testkit.config import PG_URL, write_config
from testkit.fakes import zalo_api
from testkit.fakes.telegram_api import FakeTelegramAPI, text_update
from testkit.fakes.zalo_api import FakeZalo

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_canaries() -> dict[str, str]:
    tag = secrets.token_hex(6)
    key = base64.urlsafe_b64encode(b"CANARYdatakey-" + tag.encode() + secrets.token_bytes(12)).decode().rstrip("=")
    return {
        "TELEGRAM_BOT_TOKEN": f"7{int(tag[:6], 16)}:CANARYtgtoken{tag}AAbb",
        "TELEGRAM_WEBHOOK_SECRET": f"CANARYwhsecret{tag}",
        "ZALO_APP_SECRET": f"CANARYzaloappsecret{tag}",
        "ZALO_OA_SECRET_KEY": f"CANARYzalooakey{tag}",
        "ZALO_REFRESH_TOKEN": f"CANARYzalorefresh{tag}",      # Zalo does not know it: the refresh fails
        "DANVAN_DATA_KEY": key,
        "DANVAN_PIN_PEPPER": f"CANARYpepper{tag}",
        "DANVAN_WEB_SECRET": f"CANARYwebsecret{tag}",
        "DB_PASSWORD": f"CANARYdbpw{tag}",
    }


def forms(value: str) -> set[str]:
    """The canary as it could leak: raw, URL-encoded, base64 (and the secret half of a bot token)."""
    out = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        out.add(encode(value.encode()).decode())
        out.add(encode(value.encode()).decode().rstrip("="))
    if ":" in value:
        out.add(value.split(":", 1)[1])
    return {f for f in out if len(f) >= 12}


def find_leaks(canaries: dict[str, str], where: str, text: str) -> list[str]:
    leaks = []
    for name, value in canaries.items():
        for form in forms(value):
            if form in text:
                at = text.index(form)
                leaks.append(f"{name} in {where}: ...{text[max(0, at - 120):at + len(form) + 40]!r}...")
                break
    return leaks


def scrub_legitimate(canaries: dict[str, str], request, *, service: str) -> str:
    """A request to a fake as text, minus the one place the secret must travel by the API's design."""
    path = request.path_qs
    headers = dict(request.headers)
    body = request.body.decode("utf-8", "replace")
    if service == "telegram":
        path = path.replace(f"/bot{canaries['TELEGRAM_BOT_TOKEN']}/", "/bot<token>/", 1)
        if path.endswith("/setWebhook"):
            body = body.replace(canaries["TELEGRAM_WEBHOOK_SECRET"], "<webhook secret>")
    if service == "zalo" and path.startswith("/v4/oa/access_token"):
        if headers.get("secret_key") == canaries["ZALO_APP_SECRET"]:
            headers["secret_key"] = "<app secret>"
        for form in forms(canaries["ZALO_REFRESH_TOKEN"]):
            body = body.replace(f"refresh_token={form}", "refresh_token=<refresh token>")
    return f"{request.method} {path}\n{json.dumps(headers)}\n{body}"


class Served:
    """Every answer danvan gave, as text."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    async def record(self, where: str, response: aiohttp.ClientResponse) -> tuple[int, str]:
        body = await response.read()
        text = body.decode("utf-8", "replace")
        self.items.append((where, f"{response.status} {response.reason}\n{dict(response.headers)}\n{text}"))
        return response.status, text


def base_env(canaries: dict[str, str], database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "ZALO_", "DANVAN_", "DATABASE_URL"))}
    env.update({k: v for k, v in canaries.items() if k != "DB_PASSWORD"})
    env.update(DATABASE_URL=database_url, ZALO_APP_ID=zalo_api.APP_ID, DANVAN__WEB__PORT=str(port),
               PYTHONUNBUFFERED="1", DANVAN_TEST_DATABASE_URL="")
    return env


def with_password(url: str, password: str) -> str:
    """The PostgreSQL URL with a (canary) password; trust authentication ignores it."""
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.split("@", 1)
    return f"{scheme}://{userinfo.split(':', 1)[0]}:{password}@{host}"


async def run_cli(args: list[str], env: dict[str, str], cwd: Path, *, timeout: float = 60) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
                                                   stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, output.decode("utf-8", "replace")


async def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.2)
    return False


@pytest.fixture
def canaries() -> dict[str, str]:
    return make_canaries()


@pytest.mark.slow
async def test_no_secret_reaches_logs_urls_or_error_pages(tmp_path: Path, database_url: str, engine,
                                                          canaries: dict[str, str]):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db_url = with_password(database_url, canaries["DB_PASSWORD"]) if PG_URL else database_url
    outputs: list[tuple[str, str]] = []
    served = Served()
    tg = FakeTelegramAPI(canaries["TELEGRAM_BOT_TOKEN"])
    await tg.start()
    zalo = FakeZalo(app_secret=canaries["ZALO_APP_SECRET"])
    await zalo.__aenter__()

    def mutate(raw: dict) -> None:
        raw["telegram"].update(base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot",
                               webhook_url="https://danvan.example/telegram/webhook")
        raw.setdefault("zalo", {}).update(api_base_url=zalo.url, oauth_base_url=zalo.url, http_timeout=3)
        raw.setdefault("delivery", {}).update(base_delay=0.2, max_delay=1)

    config = write_config(tmp_path, mutate)
    env = base_env(canaries, db_url, port)
    env_file = {k: v for k, v in env.items()}
    code, out = await run_cli(["--config", str(config), "apikey", "create", "Cổng tỉnh"], env_file, tmp_path)
    assert code == 0, out
    api_key = out.strip().splitlines()[-1].strip()        # shown once by design: this output is not searched
    canaries["OPEN311_API_KEY"] = api_key

    log_path = tmp_path / "danvan-run.out"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--verbose", "--config", str(config), "run", env=env, cwd=tmp_path,
            stdout=log_file, stderr=asyncio.subprocess.STDOUT)
        try:
            async with aiohttp.ClientSession() as http:
                async def healthy() -> bool:
                    try:
                        async with http.get(f"{url}/healthz") as response:
                            return response.status == 200
                    except aiohttp.ClientError:
                        return False

                assert await wait_until(healthy, 60), log_path.read_text()
                assert await wait_until(lambda: asyncio.sleep(0, any(c.method == "setWebhook" and c.status == 200
                                                                      for c in tg.calls)), 10)
                await exercise(http, url, tg, zalo, canaries, served)
                # The Bot API goes away: sending fails with connection errors.
                await tg.stop()
                update = text_update(4242, "Đường thôn Mẫu 2 bị ngập sâu nhiều ngày nay")
                async with http.post(f"{url}/telegram/webhook", json=update, headers={
                        "X-Telegram-Bot-Api-Secret-Token": canaries["TELEGRAM_WEBHOOK_SECRET"]}) as response:
                    await served.record("webhook while Bot API down", response)
                await asyncio.sleep(4)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()
    outputs.append(("danvan run (stdout+stderr)", log_path.read_text("utf-8", "replace")))
    assert "danvan bot started (webhook)" in outputs[-1][1]
    assert zalo.state.invalid_refresh >= 1                  # the failing refresh really happened

    # Start-up against a Bot API that rejects the token (401 on getMe), then an unreachable one.
    tg_bad = FakeTelegramAPI(canaries["TELEGRAM_BOT_TOKEN"])
    await tg_bad.start()
    tg_bad.fail_next("getMe", 401, times=20, description="Unauthorized")

    def bad_mutate(raw: dict) -> None:
        mutate(raw)
        raw["telegram"].update(base_url=f"{tg_bad.url}/bot", base_file_url=f"{tg_bad.url}/file/bot")

    bad_config = write_config(tmp_path, bad_mutate)
    code, out = await run_cli(["--config", str(bad_config), "run"], env, tmp_path)
    outputs.append(("danvan run, token rejected", out))
    assert code != 0
    dead = free_port()

    def dead_mutate(raw: dict) -> None:
        mutate(raw)
        raw["telegram"].update(base_url=f"http://127.0.0.1:{dead}/bot", base_file_url=f"http://127.0.0.1:{dead}/f")

    code, out = await run_cli(["--config", str(write_config(tmp_path, dead_mutate)), "run"], env, tmp_path)
    outputs.append(("danvan run, Bot API unreachable", out))
    assert code != 0
    await tg_bad.stop()

    # CLI: the configuration as it is printed, and configuration errors.
    for label, extra, args in (
        ("check-config", {}, ["check-config"]),
        ("check-config, bad port", {"DANVAN__WEB__PORT": "banana"}, ["check-config"]),
        ("check-config, bad section", {"DANVAN__TELEGRAM": "oops"}, ["check-config"]),
        ("check-config, bad data key", {"DANVAN_DATA_KEY": "CANARYnotbase64!!" + canaries["DANVAN_PIN_PEPPER"]},
         ["check-config"]),
        ("zalo auth-url", {}, ["zalo", "auth-url"]),
        ("db upgrade, database down", {"DATABASE_URL": f"postgresql+psycopg://danvan:{canaries['DB_PASSWORD']}"
                                                       f"@127.0.0.1:{free_port()}/danvan"}, ["db", "upgrade"]),
        ("verbose apikey list", {}, ["--verbose", "apikey", "list"]),
    ):
        code, out = await run_cli(["--config", str(config), *args], {**env, **extra}, tmp_path)
        outputs.append((f"danvan {label} (exit {code})", out))
    await zalo.__aexit__(None, None, None)

    (tmp_path / "outputs.txt").write_text("\n\n".join(f"=== {w}\n{t}" for w, t in outputs + served.items),
                                          encoding="utf-8")             # for a human reading a failure
    leaks: list[str] = []
    for where, text in outputs + served.items:
        leaks += find_leaks(canaries, where, text)
    for service, fake in (("telegram", tg), ("telegram", tg_bad), ("zalo", zalo)):
        for request in fake.requests:
            leaks += find_leaks(canaries, f"request to {service}",
                                scrub_legitimate(canaries, request, service=service))
    for path in tmp_path.rglob("*.log"):
        leaks += find_leaks(canaries, str(path.name), path.read_text("utf-8", "replace"))
    assert not leaks, "\n".join(leaks)
    assert len(served.items) >= 20 and len(tg.requests) >= 5 and len(zalo.requests) >= 1


async def exercise(http: aiohttp.ClientSession, url: str, tg: FakeTelegramAPI, zalo: FakeZalo,
                   canaries: dict[str, str], served: Served) -> None:
    """Webhooks (genuine and forged), a failing Bot API, web pages, error pages, Open311."""
    secret = canaries["TELEGRAM_WEBHOOK_SECRET"]
    hook = f"{url}/telegram/webhook"
    good = {"X-Telegram-Bot-Api-Secret-Token": secret}
    tg.fail_next("sendMessage", 500, times=2)
    tg.fail_next("sendMessage", 401, times=1, description="Unauthorized")
    for label, kwargs in (
        ("telegram genuine", {"json": text_update(1111, "/start"), "headers": good}),
        ("telegram genuine 2", {"json": text_update(1112, "Đèn đường thôn Mẫu 1 hỏng lâu ngày"), "headers": good}),
        ("telegram no secret", {"json": text_update(1113, "/start")}),
        ("telegram wrong secret", {"json": text_update(1113, "/start"),
                                   "headers": {"X-Telegram-Bot-Api-Secret-Token": secret[:-1] + "x"}}),
        ("telegram secret+1", {"json": text_update(1113, "/start"),
                               "headers": {"X-Telegram-Bot-Api-Secret-Token": secret + "x"}}),
        ("telegram garbage", {"data": b"{not json", "headers": {**good, "Content-Type": "application/json"}}),
        ("telegram wrong shape", {"json": {"update_id": "x", "message": [1, 2]}, "headers": good}),
    ):
        async with http.post(hook, **kwargs) as response:
            await served.record(label, response)
    now_ms = int(time.time() * 1000)
    event = zalo_api.text_event("8800001", "Xin chào, tôi muốn gửi phản ánh", now_ms)
    zalo_hook = f"{url}/zalo/webhook"
    raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    signature = zalo_api.sign(raw, event["timestamp"], secret=canaries["ZALO_OA_SECRET_KEY"])
    for label, headers, body in (
        ("zalo genuine", {"X-ZEvent-Signature": signature}, raw),
        ("zalo unsigned", {}, raw),
        ("zalo bad signature", {"X-ZEvent-Signature": "mac=" + "0" * 64}, raw),
        ("zalo replay", {"X-ZEvent-Signature": signature}, raw),
        ("zalo garbage", {"X-ZEvent-Signature": signature}, b"\xff\xfe not json"),
    ):
        async with http.post(zalo_hook, data=body, headers={"Content-Type": "application/json", **headers}) as r:
            await served.record(label, r)
    for path in ("/healthz", "/metrics", "/", "/chat", "/tra-cuu", "/static/chat.js", "/khong-co-trang-nay",
                 "/static/../config.yaml", "/open311/v2/discovery.json", "/open311/v2/services.json",
                 "/open311/v2/requests.json", "/open311/v2/requests/XX-2026-000001.json",
                 "/open311/v2/tokens/abc.json", "/chat/api/messages", "/telegram/webhook", "/zalo/webhook"):
        async with http.get(f"{url}{path}") as response:
            await served.record(f"GET {path}", response)
    for label, path, data, headers in (
        ("lookup wrong pin", "/tra-cuu", {"code": "PA-2026-000001", "pin": "000000"}, {}),
        ("lookup no csrf", "/tra-cuu", {"code": "x"}, {"Origin": "https://evil.example"}),
        ("chat send", "/chat/api/send", {"text": "xin chào"}, {}),
        ("open311 good key", "/open311/v2/requests.json",
         {"api_key": canaries["OPEN311_API_KEY"], "service_code": "ha_tang", "jurisdiction_id": "x",
          "description": "Đèn đường thôn Mẫu 3 hỏng nhiều ngày"}, {}),
        ("open311 wrong key", "/open311/v2/requests.json",
         {"api_key": canaries["OPEN311_API_KEY"] + "x", "service_code": "ha_tang",
          "description": "Đèn đường thôn Mẫu 3 hỏng nhiều ngày"}, {}),
        ("open311 header key", "/open311/v2/requests.json",
         {"service_code": "khong_co", "description": "Đèn đường thôn Mẫu 3 hỏng nhiều ngày"},
         {"X-Api-Key": canaries["OPEN311_API_KEY"]}),
    ):
        async with http.post(f"{url}{path}", data=data, headers=headers) as response:
            await served.record(label, response)
    async with http.request("DELETE", f"{url}/") as response:
        await served.record("DELETE /", response)
    # Let the sender meet the 500s and the 401, and the Zalo token keeper its refused refresh token.
    await wait_until(lambda: asyncio.sleep(0, any(c.method == "sendMessage" and c.status == 200
                                                  for c in tg.calls)), 20)
    await wait_until(lambda: asyncio.sleep(0, zalo.state.invalid_refresh >= 1), 10)


def test_log_filter_removes_secrets_from_messages_arguments_and_tracebacks(canaries):
    """The filter itself, without a subprocess: every form a library might log is scrubbed."""
    import logging

    from bot.main.log_redaction import RedactingFilter

    environ = {k: v for k, v in canaries.items() if k != "DB_PASSWORD"}
    environ["DATABASE_URL"] = f"postgresql+psycopg://danvan:{canaries['DB_PASSWORD']}@db.example/danvan"
    record_list: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record_list.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter(environ))
    logger = logging.getLogger("danvan.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        token = canaries["TELEGRAM_BOT_TOKEN"]
        logger.warning("Set Bot API URL: https://api.telegram.org/bot%s", token)
        logger.warning("params %s", {"secret_token": canaries["TELEGRAM_WEBHOOK_SECRET"]})
        logger.warning("connect %s", environ["DATABASE_URL"])
        logger.warning("quoted %s", urllib.parse.quote(canaries["DANVAN_PIN_PEPPER"] + "/&"))
        logger.warning("another bot's token 123456:%s", "A" * 35)
        try:
            raise RuntimeError(f"The token `{token}` was rejected; key {canaries['DANVAN_DATA_KEY']}")
        except RuntimeError:
            logger.exception("failed with %s", canaries["ZALO_APP_SECRET"])
    finally:
        logger.removeHandler(handler)
    text = "\n".join(record_list)
    assert len(record_list) == 6 and "Traceback" in text and "***" in text
    assert not find_leaks({**canaries, "OTHER": "123456:" + "A" * 35}, "log", text), text
