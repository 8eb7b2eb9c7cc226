"""Personal data sealed at rest: identity columns are stored encrypted with a key from the
environment, so a copy of the database file does not reveal names, phones or account ids.

Two column types, transparent to the code that reads and writes them:
- SealedText: AES-GCM with a random nonce, for free values (names, phones, drafts, payloads).
- SealedId: AES-SIV (deterministic), for ids we look up by equality (channel user and chat ids):
  the same id always seals to the same text, so `WHERE user_id = :id` still works.
Empty strings stay empty (so "has a phone?" filters work); values without a prefix are read
as legacy plain text.

The key: DANVAN_DATA_KEY (URL-safe base64 of at least 32 random bytes). Without it, a key file
(DANVAN_DATA_KEY_FILE, default ./data/.danvan-data-key) is created once with mode 0600 — fine for
a laptop, not for production, where the key must live outside the database's machine backup.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String, Text, text
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
GCM_PREFIX = "g1:"
SIV_PREFIX = "s1:"
DEFAULT_KEY_FILE = Path("data/.danvan-data-key")


class DataKeyError(RuntimeError):
    """The data key is missing or malformed."""


def _decode_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError as exc:
        raise DataKeyError("DANVAN_DATA_KEY is not base64") from exc
    if len(raw) < 32:
        raise DataKeyError("DANVAN_DATA_KEY must hold at least 32 bytes")
    return raw


def new_key() -> str:
    """A fresh key in the format DANVAN_DATA_KEY expects."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


# Secrets that must come from the environment when DANVAN_ENV=production: (variable, what it protects).
PRODUCTION_SECRETS = (
    ("DANVAN_DATA_KEY", "personal data sealed at rest"),
    ("DANVAN_PIN_PEPPER", "the keyed hash of ticket PINs"),
    ("DANVAN_WEB_SECRET", "web sessions and CSRF tokens"),
)


def is_production(environ: dict[str, str] | None = None) -> bool:
    return (environ if environ is not None else os.environ).get("DANVAN_ENV", "").strip().lower() == "production"


def missing_secrets(environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The production secrets not set in `environ` (default: this process's environment)."""
    env = environ if environ is not None else os.environ
    return [(name, purpose) for name, purpose in PRODUCTION_SECRETS if not env.get(name, "").strip()]


def local_secret(name: str, default_file: Path) -> str:
    """The secret `name` from the environment; outside production, else a random one created once in
    a file (`<name>_FILE`, default `default_file`, mode 0600) — never a constant. In production a
    missing secret is an error (`danvan check-config` lists them)."""
    if os.environ.get(name, "").strip():
        return os.environ[name].strip()
    if is_production():
        raise DataKeyError(f"{name} must be set when DANVAN_ENV=production")
    path = Path(os.environ.get(f"{name}_FILE") or default_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key())
        log.warning("no %s: created a local secret file %s (set the variable in production)", name, path)
    return path.read_text().strip()


def _master_key() -> bytes:
    return _decode_key(local_secret("DANVAN_DATA_KEY", DEFAULT_KEY_FILE))


@lru_cache(maxsize=1)
def _ciphers() -> tuple[AESGCM, AESSIV]:
    master = _master_key()

    def derive(label: bytes, length: int) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(master)

    return AESGCM(derive(b"danvan sealed text", 32)), AESSIV(derive(b"danvan sealed id", 64))


def reset_keys() -> None:
    """Forget the cached key (tests that switch keys)."""
    _ciphers.cache_clear()


def seal_text(value: str) -> str:
    gcm, _ = _ciphers()
    nonce = secrets.token_bytes(12)
    return GCM_PREFIX + base64.b64encode(nonce + gcm.encrypt(nonce, value.encode(), None)).decode()


def open_text(value: str) -> str:
    if not value.startswith(GCM_PREFIX):
        return value
    gcm, _ = _ciphers()
    raw = base64.b64decode(value[len(GCM_PREFIX):])
    try:
        return gcm.decrypt(raw[:12], raw[12:], None).decode()
    except InvalidTag:
        raise DataKeyError("sealed personal data cannot be opened with this data key: run with the "
                           "DANVAN_DATA_KEY (or the key file, DANVAN_DATA_KEY_FILE, default ./data/.danvan-data-key) "
                           "the data was sealed with") from None


def seal_id(value: str) -> str:
    _, siv = _ciphers()
    return SIV_PREFIX + base64.urlsafe_b64encode(siv.encrypt(value.encode(), [b"id"])).decode().rstrip("=")


def open_id(value: str) -> str:
    if not value.startswith(SIV_PREFIX):
        return value
    _, siv = _ciphers()
    body = value[len(SIV_PREFIX):]
    return siv.decrypt(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), [b"id"]).decode()


def rewrite_column(connection, table: str, column: str, transform, *, key: str = "id") -> int:  # noqa: ANN001
    """Migrations: apply `transform` (seal or open) to every non-empty value of one column."""
    rows = connection.execute(text(f"SELECT {key}, {column} FROM {table}")).fetchall()
    changed = 0
    for row_key, value in rows:
        if value:
            connection.execute(text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"),
                               {"v": transform(value), "k": row_key})
            changed += 1
    return changed


class SealedText(TypeDecorator[str]):
    """Text stored encrypted (random nonce); '' and NULL stay as they are."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        return value if not value else seal_text(value)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        return value if not value else open_text(value)


class SealedId(TypeDecorator[str]):
    """An id stored encrypted deterministically, so equality lookups keep working."""

    impl = String
    cache_ok = True

    def __init__(self, length: int = 96) -> None:
        super().__init__(length=length)

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        return value if not value else seal_id(str(value))

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        return value if not value else open_id(value)
