"""The classifier in use: the average of two different models' probabilities.

- the scikit-learn linear model (bot/language/linear.py): word and character n-grams, learns
  whatever the examples say, robust to misspellings;
- the hand-written one (bot/language/classifier.py): config keywords matched longest-first,
  naive Bayes, fuzzy repair; strong where a keyword decides.

Both are trained on the same examples (the shipped set plus the commune's corrections). Their
errors differ, so the average beats either alone on every exam set (bench/classifier_candidates.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from bot.language.classifier import FALLBACK_CATEGORY, TOP_N, CategorySpec, Classification, Classifier
from bot.language.linear import Example, LinearClassifier, examples_digest

LINEAR_WEIGHT = 0.5


class BlendedClassifier:
    """Linear model + hand-written model, probabilities averaged; fitted on first use."""

    def __init__(self, categories: Sequence[CategorySpec], *, examples: Sequence[Example]) -> None:
        self.categories = tuple(categories)
        self.linear = LinearClassifier(categories, examples=examples)
        self.examples = self.linear.examples
        self.version = "b" + examples_digest(self.examples)[:11]
        self._rules: Classifier | None = None

    @property
    def classes(self) -> list[str]:
        return self.linear.classes

    def fit(self) -> BlendedClassifier:
        self.linear.fit()
        if self._rules is None:
            seed: dict[str, list[str]] = defaultdict(list)
            for example in self.examples:
                seed[example.category].append(example.text)
            self._rules = Classifier(self.categories, seed=dict(seed))
        return self

    def classify(self, text: str) -> Classification:
        self.fit()
        assert self._rules is not None
        scores: dict[str, float] = defaultdict(float)
        for code, p in self.linear.classify(text).candidates:
            scores[code] += LINEAR_WEIGHT * p
        for code, p in self._rules.classify(text).candidates:
            scores[code] += (1 - LINEAR_WEIGHT) * p
        ranked = sorted(scores, key=lambda c: (-scores[c], c == FALLBACK_CATEGORY))
        candidates = tuple((code, round(scores[code], 4)) for code in ranked[:TOP_N])
        return Classification(category=candidates[0][0], candidates=candidates)
