"""Ticket PINs: shown once, stored only as a keyed hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

PIN_DIGITS = 6


def new_pin() -> str:
    """A random 6-digit PIN."""
    return f"{secrets.randbelow(10 ** PIN_DIGITS):0{PIN_DIGITS}d}"


def _pepper() -> bytes:
    return os.environ.get("DANVAN_PIN_PEPPER", "danvan").encode()


def hash_pin(code: str, pin: str) -> str:
    """A keyed hash of the PIN, salted by the ticket code."""
    return hmac.new(_pepper(), f"{code.upper()}:{pin}".encode(), hashlib.sha256).hexdigest()


def check_pin(code: str, pin: str, pin_hash: str) -> bool:
    """True when `pin` is the ticket's PIN."""
    return hmac.compare_digest(hash_pin(code, pin.strip()), pin_hash)
