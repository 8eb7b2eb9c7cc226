"""Offline category classifier: maps a citizen's free text to one lĩnh vực code.

Three signals, all computed on accent-folded, abbreviation-expanded tokens:
1. keyword phrases from config.yaml, matched longest-first (longer phrases weigh more);
2. a binarised multinomial naive Bayes over word uni/bi-grams, fitted at start-up on
   bot/language/data/labelled.jsonl (plus the keywords and names as tiny extra examples);
3. rapidfuzz, to repair misspelt words before 1 and 2, and to match keyword phrases loosely.
No network, no model files, standard library + rapidfuzz only.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from rapidfuzz import fuzz, process

from bot.language.normalize import expand_abbreviations, fold, normalize_text

FALLBACK_CATEGORY = "khac"
SEED_PATH = Path(__file__).parent / "data" / "labelled.jsonl"
TOP_N = 5
# The topic of a petition is stated early; bounding the tokens keeps a 6,000-character
# message as cheap to classify as a short one.
MAX_TOKENS = 400

# Phrases that, once accents are gone, contain a keyword by accident ("trưởng thôn" folds to
# "truong thon" and would hit "trường"; "yêu cầu" would hit "cầu"). They consume their tokens
# during keyword matching and score for nobody.
_NEUTRAL_PHRASES = (
    "truong thon", "truong ban", "truong hop", "thi truong", "hien truong", "lap truong",
    "truong phong", "truong cong an", "pho truong", "truong xom", "quan truong",
    "dien thoai", "so dien thoai", "goi dien", "dien tich", "dai dien", "thuoc dien", "dien ho",
    "dat nuoc", "nuoc ngoai", "cam on", "yeu cau", "nhu cau", "cau hoi", "cau lac bo",
    "duong nhien", "lap dat", "dat loa", "dat hang", "dia phuong", "thuoc tham quyen",
    "giong nhu", "keo dai", "khong the", "xin loi", "bao gio", "bao nhieu", "thong bao",
    "bao cao", "bao ve", "con nguoi",
)

# Unigrams too common to carry topic information in naive Bayes.
_STOPWORDS = frozenset(
    """a ah ak anh ba bac bi cac cai can cha chi cho chu co con cua cung da dang day de den di do
    duoc em gi giup ha hay hoi hon khi khong kia la lai lam len luc ma minh moi mot nay nao ne
    nha nhe nhieu nhu nua o oi ong qua ra rat roi ruoi sao se ta tai the thi thoi toi tu va vay
    vi voi vua xin xa xem ca chung nhung nguoi ve nen bo me""".split()
)

_NON_WORD = re.compile(r"[^\w]+|_")
_ALPHA = re.compile(r"^[a-z]+$")
# A well-formed Vietnamese syllable once accents are stripped (onset, vowel nucleus, coda).
# Such a token is a real word, possibly just ambiguous, and must not be "corrected" into
# another one (thóc -> thuốc); only malformed tokens (duog, khogn, duongf) are repaired.
_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdghklmnprstvx])?"
    r"(uye|uya|uyu|ieu|yeu|uoi|uou|oai|oay|uay|oeo|ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|oo|ua|ue|ui"
    r"|uo|uu|uy|ye|a|e|i|o|u|y)"
    r"(ch|ng|nh|c|m|n|p|t)?$"
)


@dataclass(frozen=True)
class CategorySpec:
    """One lĩnh vực as configured: code, display name, keywords (with accents), default office."""

    code: str
    name: str
    keywords: tuple[str, ...]
    office: str


@dataclass(frozen=True)
class Classification:
    """The chosen category and the best candidates with scores in [0, 1], best first."""

    category: str
    candidates: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class _Phrase:
    tokens: tuple[str, ...]
    category: str | None  # None: neutral phrase, consumes tokens without scoring
    weight: float


def tokenize(text: str) -> list[str]:
    """Turn raw input into folded, expanded word tokens, the classifier's only view of text."""
    cleaned, _ = normalize_text(text)
    folded = _NON_WORD.sub(" ", fold(cleaned))
    return expand_abbreviations(folded).split()


def _phrase_weight(tokens: Sequence[str]) -> float:
    """Longer phrases are rarer and more specific, so they count more than single words."""
    return {1: 1.0, 2: 1.5}.get(len(tokens), 2.0)


def _features(tokens: Sequence[str]) -> list[str]:
    """Uni- and bigrams; stopwords are dropped from unigrams but kept inside bigrams."""
    # Numbers matter as a shape ("đòi 5 triệu"), not as a value.
    tokens = ["#" if t.isdigit() else t for t in tokens]
    feats = [t for t in tokens if t not in _STOPWORDS and t != "#"]
    feats += [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]
    # Presence, not frequency: binarised naive Bayes is steadier on short texts.
    return list(dict.fromkeys(feats))


def load_seed(path: Path = SEED_PATH) -> dict[str, list[str]]:
    """Read the shipped training examples (category code -> example messages)."""
    data: dict[str, list[str]] = defaultdict(list)
    for row in read_labelled(path):
        data[row[1]].append(row[0])
    return dict(data)


def read_labelled(path: Path) -> list[tuple[str, str]]:
    """(text, category) pairs from a JSON-lines file of {"text", "category"} objects."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            rows.append((str(item["text"]), str(item["category"])))
    return rows


class Classifier:
    """Keyword + naive Bayes + fuzzy classifier over the configured categories."""

    keyword_boost = 1.2      # log-odds added per unit of keyword weight
    nb_alpha = 0.5           # Laplace smoothing
    temperature = 0.5        # < 1 flattens naive Bayes' overconfidence into usable scores
    fuzzy_word_cutoff = 80.0
    fuzzy_phrase_cutoff = 88.0

    def __init__(
        self,
        categories: Sequence[CategorySpec],
        *,
        seed: dict[str, list[str]] | None = None,
    ) -> None:
        if not categories:
            raise ValueError("Classifier needs at least one category")
        self._codes = [c.code for c in categories]
        self._fallback = FALLBACK_CATEGORY if FALLBACK_CATEGORY in self._codes else self._codes[-1]
        examples = load_seed() if seed is None else seed
        examples = {code: list(examples.get(code, [])) for code in self._codes}

        self._phrases: list[_Phrase] = []
        for spec in categories:
            for kw in spec.keywords:
                toks = tuple(tokenize(kw))
                if toks:
                    self._phrases.append(_Phrase(toks, spec.code, _phrase_weight(toks)))
        for neutral in _NEUTRAL_PHRASES:
            self._phrases.append(_Phrase(tuple(neutral.split()), None, 0.0))
        self._by_first: dict[str, list[_Phrase]] = defaultdict(list)
        for ph in self._phrases:
            self._by_first[ph.tokens[0]].append(ph)
        for lst in self._by_first.values():
            lst.sort(key=lambda p: -len(p.tokens))
        # Only multi-word phrases are matched fuzzily: short words have too many near neighbours.
        self._fuzzy_phrases = [
            p for p in self._phrases if p.category and len(p.tokens) >= 2 and len(" ".join(p.tokens)) >= 9
        ]

        # Vocabulary for spelling repair: every word the classifier knows, most frequent first.
        freq: Counter[str] = Counter()
        for spec in categories:
            freq.update(tokenize(spec.name))
        for ph in self._phrases:
            freq.update(ph.tokens)
        for texts in examples.values():
            for t in texts:
                freq.update(tokenize(t))
        self._vocab = frozenset(freq)
        self._vocab_list = [w for w, _ in freq.most_common() if len(w) >= 3 and _ALPHA.match(w)]

        self._fit_naive_bayes(categories, examples)

    def _fit_naive_bayes(self, categories: Sequence[CategorySpec], examples: dict[str, list[str]]) -> None:
        """Count features per category; keywords and names count as extra short examples."""
        counts: dict[str, Counter[str]] = {code: Counter() for code in self._codes}
        for spec in categories:
            docs = list(examples.get(spec.code, [])) + list(spec.keywords) + [spec.name]
            for doc in docs:
                counts[spec.code].update(_features(tokenize(doc)))
        vocab = set().union(*counts.values())
        self._nb_known = frozenset(vocab)
        size = max(1, len(vocab))
        self._nb_logp: dict[str, dict[str, float]] = {}
        self._nb_default: dict[str, float] = {}
        for code, ctr in counts.items():
            total = sum(ctr.values())
            denom = total + self.nb_alpha * size
            self._nb_logp[code] = {f: math.log((n + self.nb_alpha) / denom) for f, n in ctr.items()}
            self._nb_default[code] = math.log(self.nb_alpha / denom)

    def _repair(self, tokens: list[str]) -> list[str]:
        """Replace unknown words with the closest known word (typos, telex leftovers)."""
        out = []
        for tok in tokens:
            if tok in self._vocab or len(tok) < 4 or not _ALPHA.match(tok) or _SYLLABLE.match(tok):
                out.append(tok)
                continue
            hit = process.extractOne(
                tok, self._vocab_list, scorer=fuzz.ratio, score_cutoff=self.fuzzy_word_cutoff
            )
            out.append(hit[0] if hit else tok)
        return out

    def _keyword_scores(self, tokens: list[str]) -> tuple[dict[str, float], dict[str, int]]:
        """Longest-first, non-overlapping phrase matching; returns weight and longest hit per code."""
        scores: dict[str, float] = defaultdict(float)
        longest: dict[str, int] = defaultdict(int)
        used = [False] * len(tokens)
        matches: list[tuple[int, int, _Phrase]] = []
        for i, tok in enumerate(tokens):
            for ph in self._by_first.get(tok, ()):
                n = len(ph.tokens)
                if tuple(tokens[i : i + n]) == ph.tokens:
                    matches.append((i, n, ph))
        matches.sort(key=lambda m: (-m[1], m[0]))
        taken: set[tuple[int, int]] = set()
        for i, n, ph in matches:
            span = (i, n)
            if any(used[i : i + n]) and span not in taken:
                continue
            for k in range(i, i + n):
                used[k] = True
            taken.add(span)
            if ph.category:
                scores[ph.category] += ph.weight
                longest[ph.category] = max(longest[ph.category], n)
        # Loose matching of multi-word phrases over the words exact matching left unused.
        free_runs = _free_runs(tokens, used)
        for run in free_runs:
            for ph in self._fuzzy_phrases:
                n = len(ph.tokens)
                if len(run) < n:
                    continue
                target = " ".join(ph.tokens)
                best = max(
                    fuzz.ratio(" ".join(run[j : j + n]), target) for j in range(len(run) - n + 1)
                )
                if best >= self.fuzzy_phrase_cutoff:
                    scores[ph.category] += ph.weight * 0.8
                    longest[ph.category] = max(longest[ph.category], n)
        return scores, longest

    def _nb_scores(self, tokens: list[str]) -> tuple[dict[str, float], int]:
        """Naive Bayes log-likelihoods (uniform prior) and how many known features were seen."""
        feats = [f for f in _features(tokens) if f in self._nb_known]
        scores = {}
        for code in self._codes:
            logp = self._nb_logp[code]
            default = self._nb_default[code]
            scores[code] = sum(logp.get(f, default) for f in feats)
        return scores, len(feats)

    def classify(self, text: str) -> Classification:
        """Pick the most likely category; 'khac' when the text carries no topical evidence."""
        tokens = self._repair(tokenize(text)[:MAX_TOKENS])
        kw, longest = self._keyword_scores(tokens) if tokens else ({}, {})
        nb, known = self._nb_scores(tokens) if tokens else ({c: 0.0 for c in self._codes}, 0)
        if not tokens or (not kw and known == 0):
            return self._fallback_result()
        combined = {
            code: self.temperature * (nb[code] + self.keyword_boost * kw.get(code, 0.0))
            for code in self._codes
        }
        top = max(combined.values())
        exp = {code: math.exp(v - top) for code, v in combined.items()}
        total = sum(exp.values())
        probs = {code: v / total for code, v in exp.items()}
        # Ties go to the more specific category: longer keyword hit first, 'khac' last.
        ranked = sorted(
            self._codes,
            key=lambda c: (-round(probs[c], 6), -longest.get(c, 0), c == self._fallback),
        )
        candidates = tuple((c, round(probs[c], 4)) for c in ranked[:TOP_N])
        return Classification(category=ranked[0], candidates=candidates)

    def _fallback_result(self) -> Classification:
        """Nothing recognisable: 'khac' first, the rest unranked at zero."""
        others = [c for c in self._codes if c != self._fallback][: TOP_N - 1]
        return Classification(
            category=self._fallback,
            candidates=((self._fallback, 1.0),) + tuple((c, 0.0) for c in others),
        )


def _free_runs(tokens: list[str], used: list[bool]) -> Iterable[list[str]]:
    """Maximal runs of tokens not claimed by an exact phrase match."""
    run: list[str] = []
    for tok, u in zip(tokens, used):
        if u:
            if run:
                yield run
            run = []
        else:
            run.append(tok)
    if run:
        yield run

