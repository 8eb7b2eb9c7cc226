"""Half of the category classifier in use (bot/language/blend.py): a scikit-learn linear model
over word and character n-grams.

Every message is seen twice: as written (lower-cased, accents kept, which separates lợn/lớn and
thuốc/thuộc) and accent-folded with abbreviations expanded (how a quarter of citizens type).
Word uni/bi-grams of both views and character 2–5-grams of the folded view (misspellings and
telex leftovers share most of their character n-grams with the right word) feed one
linear model with logistic loss, whose probabilities are the candidates' scores.

Training (about a second on the shipped set) happens on the first `classify`, never at import
or construction, so commands that do not classify do not pay for it. Fitting is deterministic:
the same examples always give the same model, which is how a model version is reproduced.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.language.classifier import (
    FALLBACK_CATEGORY, MAX_TOKENS, TOP_N, CategorySpec, Classification, read_labelled, tokenize,
)
from bot.language.normalize import normalize_text

DATA_DIR = Path(__file__).parent / "data"
LABELLED_PATH = DATA_DIR / "labelled.jsonl"
HELDOUT_PATH = DATA_DIR / "heldout.jsonl"
_NON_WORD = re.compile(r"[^\w]+|_")
# With fewer known words than this the text carries no topic: say 'khac'.
MIN_EVIDENCE = 1


def default_estimator() -> Estimator:
    """Chosen by measurement (bench/classifier_candidates.py): logistic loss by stochastic
    gradient descent, elastic-net penalty; a fixed seed keeps retraining reproducible."""
    # scikit-learn is imported on first use, not with the module: it costs most of a second and
    # commands that never classify (documents, migrations) must not pay for it.
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", penalty="elasticnet", alpha=2e-5, max_iter=50, tol=1e-4,
                         random_state=0)


class Estimator(Protocol):
    """What the classifier needs of a scikit-learn model: fit, class list, probabilities."""

    classes_: Sequence[str]

    def fit(self, x: object, y: Sequence[str]) -> object: ...

    def predict_proba(self, x: object) -> Sequence[Sequence[float]]: ...


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    category: str


def shipped_examples(path: Path = LABELLED_PATH) -> list[Example]:
    """The labelled set kept in the repository (never the held-out file)."""
    return [Example(text, code) for text, code in read_labelled(path)]


def heldout_examples(path: Path = HELDOUT_PATH) -> list[Example]:
    """The held-out exam: used to accept or reject a model, never to train one."""
    return [Example(text, code) for text, code in read_labelled(path)]


def examples_digest(examples: Sequence[Example]) -> str:
    """A short, order-independent fingerprint of a training set (the model's version)."""
    h = hashlib.sha256()
    for line in sorted(f"{e.category}\t{e.text}" for e in examples):
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()[:12]


def original_view(text: str) -> str:
    """Lower-cased words with their accents, for the accent-aware word n-grams."""
    cleaned, _ = normalize_text(text)
    return " ".join(_NON_WORD.sub(" ", cleaned.lower()).split()[:MAX_TOKENS])


def folded_view(text: str) -> str:
    """Accent-folded, abbreviation-expanded words: the classifier's view of unaccented typing."""
    return " ".join(tokenize(text)[:MAX_TOKENS])


class LinearClassifier:
    """TF-IDF n-grams of both views + a logistic-loss linear model; same API as Classifier."""

    def __init__(self, categories: Sequence[CategorySpec], *, examples: Sequence[Example] | None = None,
                 estimator: Callable[[], Estimator] | None = None) -> None:
        if not categories:
            raise ValueError("Classifier needs at least one category")
        self._codes = [cat.code for cat in categories]
        self._fallback = FALLBACK_CATEGORY if FALLBACK_CATEGORY in self._codes else self._codes[-1]
        known = set(self._codes)
        base = list(shipped_examples() if examples is None else examples)
        self.examples = [e for e in base if e.category in known]
        # Keywords and category names are short extra examples, as in the hand-written model.
        self._extra = [Example(kw, cat.code) for cat in categories for kw in (*cat.keywords, cat.name)]
        self.version = examples_digest(self.examples)
        self._estimator = estimator or default_estimator
        self._fitted = False

    def fit(self) -> LinearClassifier:
        """Fit the vectorisers and the model (idempotent)."""
        if self._fitted:
            return self
        # Imported here for the reason given in default_estimator.
        from scipy.sparse import hstack
        from sklearn import config_context
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._hstack = hstack
        # Per message, scikit-learn's input checks cost more than the arithmetic: our inputs are
        # our own strings and matrices, so they are skipped when classifying.
        self._fast = lambda: config_context(assume_finite=True, skip_parameter_validation=True)
        rows = self.examples + self._extra
        originals = [original_view(e.text) for e in rows]
        foldeds = [folded_view(e.text) for e in rows]
        self._word_orig = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                                          token_pattern=r"(?u)\b\w+\b")
        self._word_fold = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                                          token_pattern=r"(?u)\b\w+\b")
        self._char_fold = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                          min_df=2)
        matrix = hstack([self._word_orig.fit_transform(originals), self._word_fold.fit_transform(foldeds),
                         self._char_fold.fit_transform(foldeds)]).tocsr()
        self._model = self._estimator()
        with warnings.catch_warnings():
            # A capped number of epochs is part of the measured configuration, not a defect.
            warnings.filterwarnings("ignore", message="Maximum number of iteration")
            self._model.fit(matrix, [e.category for e in rows])
        self._known = frozenset(self._word_fold.vocabulary_)
        self._fitted = True
        return self

    @property
    def classes(self) -> list[str]:
        """Every category code the model can answer."""
        return list(self._codes)

    def classify(self, text: str) -> Classification:
        """The most likely category and the top candidates with probabilities."""
        self.fit()
        folded = folded_view(text)
        if sum(tok in self._known for tok in folded.split()) < MIN_EVIDENCE:
            return self._fallback_result()
        with self._fast():
            matrix = self._hstack([self._word_orig.transform([original_view(text)]),
                                   self._word_fold.transform([folded]), self._char_fold.transform([folded])]).tocsr()
            probs = self._model.predict_proba(matrix)[0]
        ranked = sorted(zip(self._model.classes_, probs), key=lambda kv: (-kv[1], kv[0] == self._fallback))
        candidates = tuple((str(code), round(float(p), 4)) for code, p in ranked[:TOP_N])
        return Classification(category=candidates[0][0], candidates=candidates)

    def _fallback_result(self) -> Classification:
        others = [c for c in self._codes if c != self._fallback][: TOP_N - 1]
        return Classification(category=self._fallback,
                              candidates=((self._fallback, 1.0),) + tuple((c, 0.0) for c in others))
