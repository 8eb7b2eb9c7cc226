"""Ticket PINs: shown once, stored only as a keyed hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from storage.crypto import local_secret

PIN_DIGITS = 6
DEFAULT_PEPPER_FILE = Path("data/.danvan-pin-pepper")


def new_pin() -> str:
    """A random 6-digit PIN."""
    return f"{secrets.randbelow(10 ** PIN_DIGITS):0{PIN_DIGITS}d}"


def _pepper() -> bytes:
    """DANVAN_PIN_PEPPER; outside production a random pepper kept in data/.danvan-pin-pepper;
    in production, unset, an error (never a constant)."""
    value = os.environ.get("DANVAN_PIN_PEPPER", "").strip()
    return value.encode() if value else _local_pepper()


@lru_cache(maxsize=1)
def _local_pepper() -> bytes:
    return local_secret("DANVAN_PIN_PEPPER", DEFAULT_PEPPER_FILE).encode()


def reset_pepper() -> None:
    """Forget the cached pepper (tests that switch it)."""
    _local_pepper.cache_clear()


def hash_pin(code: str, pin: str) -> str:
    """A keyed hash of the PIN, salted by the ticket code."""
    return hmac.new(_pepper(), f"{code.upper()}:{pin}".encode(), hashlib.sha256).hexdigest()


def check_pin(code: str, pin: str, pin_hash: str) -> bool:
    """True when `pin` is the ticket's PIN."""
    return hmac.compare_digest(hash_pin(code, pin.strip()).encode(), pin_hash.encode())
