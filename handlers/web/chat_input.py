"""What the web chat accepts from a browser, checked before anything is stored: a JSON object of
known fields and types, coordinates finite and in range, ids and queries within bounds. Anything
else is a :class:`BadInput` (answered 4xx with a Vietnamese message, never a 500)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from bot.core.domain import Location

CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{8,40}")
MAX_TEXT = 4000
MAX_PAYLOAD = 64
LARGEST_ROW_ID = 2**31 - 1
MAX_AFTER = 2 ** 53


class BadInput(Exception):
    """A request refused before processing; `reason` names the refusal template's case."""

    def __init__(self, reason: str = "format") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Message:
    client_id: str
    text: str
    payload: str | None
    location: Location | None


def client_id_of(value: Any) -> str:
    if not isinstance(value, str) or not CLIENT_ID_RE.fullmatch(value):
        raise BadInput("format")
    return value


def coordinate(value: Any, bound: float) -> float:
    """A finite number within ±bound (booleans and strings of numbers are not coordinates)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput("location")
    try:
        number = float(value)
    except OverflowError:
        raise BadInput("location") from None
    if not math.isfinite(number) or not -bound <= number <= bound:
        raise BadInput("location")
    return number


def location_of(value: Any) -> Location | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "latitude" not in value or "longitude" not in value:
        raise BadInput("location")
    return Location(coordinate(value["latitude"], 90.0), coordinate(value["longitude"], 180.0))


def parse_message(data: Any) -> Message:
    """The body of POST /chat/api/send: {"client_id", "text"?, "payload"?, "location"?}."""
    if not isinstance(data, dict):
        raise BadInput("format")
    client_id = client_id_of(data.get("client_id"))
    text = data.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise BadInput("format")
    payload = data.get("payload")
    if payload is not None and not isinstance(payload, str):
        raise BadInput("format")
    location = location_of(data.get("location"))
    text = text.replace("\x00", "")[:MAX_TEXT]
    if not text.strip() and payload is None and location is None:
        raise BadInput("empty")
    return Message(client_id, text, payload[:MAX_PAYLOAD] if payload is not None else None, location)


def after_of(raw: str | None) -> int:
    """?after= : a message id, 0 … 2**53."""
    if raw is None or raw == "":
        return 0
    if len(raw) > 20 or not raw.isascii() or not raw.isdigit():
        raise BadInput("format")
    value = int(raw)
    if value > MAX_AFTER:
        raise BadInput("format")
    return min(value, LARGEST_ROW_ID)      # ids are 32-bit on PostgreSQL: nothing lies beyond, and no overflow
