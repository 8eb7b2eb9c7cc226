"""Ticket codes: XG-2026-000123. One format and one parser for every door (chat, web, Open311, commands).

Citizens and officials type codes loosely ("xg-2026-123", "XG - 2026 - 000123"); every reader goes
through `find_code` / `parse_code` so they all accept the same spellings.
"""

from __future__ import annotations

import re

_CODE = r"([A-Za-z]{1,6})\s*-\s*(\d{4})\s*-\s*(\d{1,9})"
CODE_RE = re.compile(r"\b" + _CODE + r"\b")
_WHOLE_CODE_RE = re.compile(r"^\s*" + _CODE + r"\s*$")


def format_code(prefix: str, year: int, number: int) -> str:
    """XG-2026-000123."""
    return f"{prefix}-{year}-{number:06d}"


def _canonical(match: re.Match[str]) -> str:
    return format_code(match.group(1).upper(), int(match.group(2)), int(match.group(3)))


def find_code(text: str | None) -> tuple[str, str] | None:
    """The first code in a text, canonical, and the text without it; None when there is none."""
    match = CODE_RE.search(text or "")
    if match is None:
        return None
    rest = (text or "")[:match.start()] + " " + (text or "")[match.end():]
    return _canonical(match), rest.strip()


def parse_code(text: str | None) -> str | None:
    """The first ticket code anywhere in a text, canonical ('xg-2026-12' → 'XG-2026-000012')."""
    found = find_code(text)
    return found[0] if found else None


def normalize_code(raw: str | None) -> str | None:
    """A field that must hold a code and nothing else (the web lookup form), canonical, or None."""
    match = _WHOLE_CODE_RE.match(raw or "")
    return _canonical(match) if match else None


def contains_code(text: str | None) -> bool:
    return CODE_RE.search(text or "") is not None
