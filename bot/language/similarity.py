"""Accent-insensitive text similarity for near-duplicate petitions ("Đường ngập" = "duong ngap").

Word overlap (soft Dice: a word matches a close spelling, so typos count) over content words:
function words, politeness formulas and hamlet names are dropped, because two unrelated
petitions from the same hamlet share exactly those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.language.normalize import expand_abbreviations, fold

_WORD = re.compile(r"\w+")
STOPWORDS = frozenset("""
a ah ba bac bi boi cac cai can cho chi chu chung co con cua cung da dang day de den di do duoc em gi giup
hay hien hoi hom ho khi khong kinh la lai lam len luc ma minh moi mot nay nen nghi ngay nguoi nhan nhieu nhu
nhung no o ong qua ra rang rat roi sau se sua ta tai thi the thon toi tren truoc tu va vao ve voi vi viec xa
xin xu ly dan uy ban nhan dan don kiem tra giai quyet phan anh kien nghi chinh quyen dia phuong hien nay tinh trang gay kho khan di lai
""".split())


def content_words(text: str, *, ignore: Iterable[str] = ()) -> frozenset[str]:
    """Folded, expanded words that carry the petition's subject."""
    words = set(_WORD.findall(expand_abbreviations(fold(text))))
    words -= _skipped(ignore if isinstance(ignore, frozenset) else frozenset(ignore))
    return frozenset(w for w in words if len(w) > 1 and not w.isdigit())


@lru_cache(maxsize=8)
def _skipped(ignore: frozenset[str]) -> frozenset[str]:
    """Stop words and the given words, built once (a hot-spot check reads thousands of descriptions)."""
    return STOPWORDS | ignore


def _matches(a: str, others: frozenset[str]) -> bool:
    """Same word, or a close spelling of a longer word (a typo, a missing letter)."""
    if a in others:
        return True
    return len(a) > 3 and process.extractOne(a, others, scorer=fuzz.ratio, score_cutoff=85) is not None


def similarity(a: frozenset[str], b: frozenset[str], *, near_a: dict[str, bool] | None = None) -> int:
    """0–100: soft Dice overlap of two word sets; 0 when they share fewer than three words.

    `near_a` caches, for one `a` compared with many `b`, whether a word is close to a word of `a`
    (a hot-spot check compares a new ticket with thousands of open ones, whose words repeat)."""
    if not a or not b:
        return 0
    # Shared words match on both sides; only the others need the fuzzy look-up.
    shared = len(a & b)
    left = shared + sum(1 for w in a - b if _matches(w, b))
    if near_a is None:
        right = shared + sum(1 for w in b - a if _matches(w, a))
    else:
        right = shared
        for w in b - a:
            found = near_a.get(w)
            if found is None:
                found = near_a[w] = _matches(w, a)
            right += found
    if min(left, right) < 3:
        return 0
    return round(100 * (left + right) / (len(a) + len(b)))


def hamlet_words(hamlets: Iterable[str]) -> frozenset[str]:
    """Words of the configured hamlet names (without the "(mẫu)" marker)."""
    words: set[str] = set()
    for name in hamlets:
        words.update(_WORD.findall(fold(name)))
    return frozenset(words)
