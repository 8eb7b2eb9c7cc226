"""Vietnamese phone numbers in free text, found with the `phonenumbers` library (any grouping:
"(+84) 912 345 678", "0912 - 345 - 678", "(0912) 345678", landlines "024 3825 1234"), so a
published or re-shown text can have them masked."""

from __future__ import annotations

import re

import phonenumbers

REGION = "VN"
# What the library's VALID leniency may not know yet (new prefixes): 0/84 and 9–10 more digits.
FALLBACK_RE = re.compile(r"(?<![\w-])(?:\(?\+?84\)?|0)(?:[\s.\-()]{0,3}\d){8,10}(?![\w-])")


def phone_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every phone number in `text`, merged, in order."""
    spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(
        text, REGION, leniency=phonenumbers.Leniency.VALID, max_tries=1000)]
    spans += [(m.start(), m.end()) for m in FALLBACK_RE.finditer(text)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mask_phones(text: str, mask: str = "***") -> str:
    """`text` with every phone number replaced by `mask`."""
    out, last = [], 0
    for start, end in phone_spans(text):
        out.append(text[last:start])
        out.append(mask)
        last = end
    out.append(text[last:])
    return "".join(out)
