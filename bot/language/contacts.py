"""A name and a Vietnamese phone number typed in one line ("Nguyễn Văn An 0912 345 678"): one parser
for every door that takes contact details (the citizen's intake, the officials' paper intake)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PHONE_RE = re.compile(r"(?:\+?84|0)(?:[\s.\-]?\d){9,10}")


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str


def normalize_phone(raw: str) -> str:
    """A Vietnamese phone number as 0xxxxxxxxx, or '' when it is not one."""
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits if re.fullmatch(r"0\d{9,10}", digits) else ""


def parse_contact(text: str, *, max_name: int = 80) -> Contact | None:
    """Name and phone from one line (in either order, commas allowed), or None when either is missing."""
    match = PHONE_RE.search(text or "")
    if match is None:
        return None
    phone = normalize_phone(match.group(0))
    name = " ".join((text[:match.start()] + " " + text[match.end():]).replace(",", " ").split())
    if not phone or not name or not any(ch.isalpha() for ch in name):
        return None
    return Contact(name=name[:max_name], phone=phone)
