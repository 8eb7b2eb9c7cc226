"""Learning from the commune: officials' corrections as examples, and the rule that decides
whether a retrained model replaces the one in use.

A model is the shipped labelled set plus the corrections up to some id; it is fitted again
from those rows whenever needed (deterministic), so nothing but the cut-off and the scores is
stored. A retrained model is switched to only when its top-1 accuracy is at least the current
one's on the held-out set and on the recent corrections (top-3 is recorded, not gated: one
message moving from third to fourth place should not block what officials taught it).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.language.classifier import CategorySpec, Classification
from bot.language.normalize import fold
from bot.language.blend import BlendedClassifier
from bot.language.linear import Example, heldout_examples, shipped_examples

# What a description may carry that identifies someone; replaced before it is kept.
_EMAIL = re.compile(r"\S+@\S+")
_DIGITS = re.compile(r"(?:\+?\d[\s.\-]?){6,}")
_WORD = re.compile(r"\w+", re.UNICODE)
# Compared accent-folded: ông/bà/anh/chị/em/cô/chú/bác/cháu/cụ; thôn/xóm/bản/tổ/làng/xã/huyện/tỉnh/phòng.
_HONORIFICS = frozenset("ong ba anh chi em co chu bac chau cu".split())
_PLACE_WORDS = frozenset("thon xom ban to lang xa huyen tinh phong".split())
MAX_KEPT_CHARS = 1000


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and not word.isupper()


def _names(text: str) -> list[tuple[int, int]]:
    """Spans of personal names: capitalised words after an honorific, or two or more
    capitalised words in a row not introduced by a place word (thôn Đồng Tâm stays)."""
    words = list(_WORD.finditer(text))
    spans, i = [], 0
    while i < len(words):
        if not _capitalised(words[i].group()):
            i += 1
            continue
        j = i
        while j + 1 < len(words) and _capitalised(words[j + 1].group()) and j - i < 3:
            j += 1
        before = fold(words[i - 1].group()) if i else ""
        if before in _HONORIFICS or (j > i and before not in _PLACE_WORDS):
            spans.append((words[i].start(), words[j].end()))
        i = j + 1
    return spans


def scrub(text: str) -> str:
    """The description without phone numbers, e-mails, long numbers or people's names."""
    text = _EMAIL.sub(" ", text)
    text = _DIGITS.sub(" # ", text)
    for start, end in reversed(_names(text)):
        text = f"{text[:start]}X{text[end:]}"
    return " ".join(text.split())[:MAX_KEPT_CHARS]


def ticket_ref(code: str) -> str:
    """A one-way reference to a ticket, so a second correction replaces the first."""
    return hashlib.sha256(f"danvan-correction:{code}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Scores:
    """How a model did on the held-out set and on recent corrections."""

    heldout_top1: float
    heldout_top3: float
    recent_top1: float
    recent_count: int

    def at_least(self, other: Scores) -> bool:
        """True when the score (top-1) is no worse on the held-out set nor on recent corrections."""
        return self.heldout_top1 >= other.heldout_top1 and self.recent_top1 >= other.recent_top1


def accuracy(model: BlendedClassifier, rows: Sequence[Example]) -> tuple[float, float]:
    """Top-1 and top-3 accuracy (1.0 on an empty set: nothing to get wrong)."""
    if not rows:
        return 1.0, 1.0
    top1 = top3 = 0
    for row in rows:
        ranked = [code for code, _ in model.classify(row.text).candidates]
        top1 += ranked[0] == row.category
        top3 += row.category in ranked[:3]
    return top1 / len(rows), top3 / len(rows)


def score(model: BlendedClassifier, recent: Sequence[Example], heldout: Sequence[Example] | None = None) -> Scores:
    held = heldout_examples() if heldout is None else heldout
    h1, h3 = accuracy(model, held)
    r1, _ = accuracy(model, recent)
    return Scores(heldout_top1=h1, heldout_top3=h3, recent_top1=r1, recent_count=len(recent))


def build_model(categories: Sequence[CategorySpec], corrections: Sequence[Example]) -> BlendedClassifier:
    """The shipped set plus the commune's corrections (fitted on first use)."""
    return BlendedClassifier(categories, examples=[*shipped_examples(), *corrections])


class ModelSlot:
    """The classifier in use. The first `classify` asks `factory` for it (the composition root
    fits the shipped set plus the active version's corrections); the retraining job puts a
    better model in with `replace`."""

    def __init__(self, categories: Sequence[CategorySpec],
                 factory: Callable[[], BlendedClassifier] | None = None) -> None:
        self.categories = tuple(categories)
        self._factory = factory or (lambda: build_model(self.categories, ()))
        self._model: BlendedClassifier | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> BlendedClassifier:
        with self._lock:
            if self._model is None:
                self._model = self._factory().fit()
            return self._model

    @property
    def ready(self) -> bool:
        """True once a fitted model is in place (classifying will not wait for a fit)."""
        return self._model is not None

    def shipped_version(self) -> str:
        """The version of the model built from the shipped set alone (nothing fitted)."""
        return build_model(self.categories, ()).version

    def classify(self, text: str) -> Classification:
        return self.model.classify(text)

    def replace(self, model: BlendedClassifier) -> None:
        with self._lock:
            self._model = model.fit()
