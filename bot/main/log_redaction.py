"""Keeping secrets out of logs: every log record (message, arguments, traceback) is scrubbed of the
secret values danvan reads from the environment, and of anything shaped like a bot token in a URL.

Libraries log what they hold: python-telegram-bot's debug log prints the Bot API URL (which carries
the token) and setWebhook's secret_token, and its InvalidToken error quotes the token. A filter on
the handlers catches all of them, whoever logs.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, urlsplit

MASK = "***"
SECRET_VARIABLES = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY",
                    "ZALO_REFRESH_TOKEN", "DANVAN_DATA_KEY", "DANVAN_PIN_PEPPER", "DANVAN_WEB_SECRET")
URL_VARIABLES = ("DATABASE_URL", "DANVAN__STORAGE__DATABASE_URL")
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "KEY")
MIN_LENGTH = 6                   # shorter values would mask ordinary words
BOT_TOKEN = re.compile(r"\b\d{3,}:[A-Za-z0-9_-]{20,}")
LOGIN_LINK = re.compile(r"(/can-bo/vao\?t=)[A-Za-z0-9_\-]+")   # back-office sign-in links (access log)


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The secret values of this environment (and their URL-encoded forms), longest first."""
    found: set[str] = set()
    for name, value in environ.items():
        if not value:
            continue
        if name in SECRET_VARIABLES or (name.startswith("DANVAN__") and any(w in name for w in SECRET_WORDS)):
            found.add(value)
        if name in URL_VARIABLES:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found.add(password)
    forms = {form for value in found for form in (value, quote(value, safe=""), quote_plus(value))}
    return sorted((v for v in forms if len(v) >= MIN_LENGTH), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value, and every bot token, replaced by ***."""
    for value in secrets:
        if value in text:
            text = text.replace(value, MASK)
    return LOGIN_LINK.sub(r"\g<1>" + MASK, BOT_TOKEN.sub(MASK, text))


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record without secrets (reads the environment lazily,
    so values loaded later from .env are covered too)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._environ = os.environ if environ is None else environ
        self._key: tuple[str, ...] = ()
        self._secrets: list[str] = []

    def secrets(self) -> list[str]:
        key = tuple(self._environ.get(n, "") for n in SECRET_VARIABLES + URL_VARIABLES) + tuple(
            sorted(f"{n}={v}" for n, v in self._environ.items() if n.startswith("DANVAN__")))
        if key != self._key:
            self._key, self._secrets = key, secret_values(self._environ)
        return self._secrets

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets()
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string still gets logged, scrubbed
            message = str(record.msg)
        record.msg, record.args = redact(message, secrets), None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, redact(text, secrets)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of `logger` (the root logger by default)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
