"""Category classifier and text hygiene: accuracy on a hand-labelled set, plus unit checks."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.language.classifier import Classifier, CategorySpec, load_seed
from bot.language.normalize import expand_abbreviations, fold, is_meaningful, normalize_text

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "config.yaml"
LABELLED_PATH = Path(__file__).resolve().parents[1] / "data" / "classify_labelled.jsonl"


def _load_categories() -> list[CategorySpec]:
    """Read the `categories` list from config.yaml, as the bot does."""
    raw = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))["categories"]
    return [
        CategorySpec(
            code=item["code"],
            name=item["name"],
            keywords=tuple(item.get("keywords") or ()),
            office=item["office"],
        )
        for item in raw
    ]


def _load_labelled() -> list[dict]:
    """The hand-written exam set, one {"text", "category"} object per line."""
    lines = LABELLED_PATH.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese accent (or đ)."""
    return fold(text) != " ".join(text.lower().split())


@pytest.fixture(scope="module")
def categories() -> list[CategorySpec]:
    return _load_categories()


@pytest.fixture(scope="module")
def classifier(categories: list[CategorySpec]) -> Classifier:
    return Classifier(categories)


# --- the labelled set ------------------------------------------------------------------------


def test_labelled_set_is_broad_enough(categories: list[CategorySpec]) -> None:
    rows = _load_labelled()
    codes = {c.code for c in categories}
    assert len(codes) == 14
    assert len(rows) >= 240
    per_code = Counter(r["category"] for r in rows)
    assert set(per_code) == codes, f"unknown or missing codes: {set(per_code) ^ codes}"
    assert min(per_code.values()) >= 8, per_code
    plain = sum(not _has_diacritics(r["text"]) for r in rows)
    assert plain / len(rows) >= 0.35, f"only {plain}/{len(rows)} lines typed without diacritics"
    assert len({r["text"] for r in rows}) == len(rows), "duplicate lines"


def test_seed_is_not_the_exam() -> None:
    seed = {fold(text) for examples in load_seed().values() for text in examples}
    overlap = [r["text"] for r in _load_labelled() if fold(r["text"]) in seed]
    assert not overlap, f"labelled lines copied into the training seed: {overlap}"


def test_accuracy_on_labelled_set(classifier: Classifier) -> None:
    rows = _load_labelled()
    top1 = top3 = 0
    confusion: Counter[tuple[str, str]] = Counter()
    for row in rows:
        result = classifier.classify(row["text"])
        ranked = [code for code, _ in result.candidates]
        top1 += result.category == row["category"]
        top3 += row["category"] in ranked[:3]
        if result.category != row["category"]:
            confusion[(row["category"], result.category)] += 1
            print(f"MISS {row['category']:>11} -> {result.category:<11} {row['text']}")
    acc1, acc3 = top1 / len(rows), top3 / len(rows)
    print(f"top-1 {acc1:.3f}  top-3 {acc3:.3f}  on {len(rows)} lines")
    for (want, got), n in confusion.most_common():
        print(f"  {want} -> {got}: {n}")
    assert acc1 >= 0.90
    assert acc3 >= 0.97


# --- classifier behaviour --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Đường vào thôn bị sạt lở không đi được",
        "Nhà hàng xóm lấn chiếm đất vườn nhà tôi",
        "Trạm y tế không có bác sĩ trực đêm",
        "Cán bộ một cửa thái độ hách dịch với người dân",
        "Con tôi năm nay đi khám nghĩa vụ quân sự",
        "Lợn nhà tôi bị dịch tả, nhờ thú y xuống xem",
    ],
)
def test_accent_insensitive(classifier: Classifier, text: str) -> None:
    plain = fold(text)
    decomposed = unicodedata.normalize("NFD", text)
    expected = classifier.classify(text).category
    assert expected != "khac"
    assert classifier.classify(plain).category == expected
    assert classifier.classify(decomposed).category == expected
    assert classifier.classify(text.upper()).category == expected


def test_chat_abbreviations_are_understood(classifier: Classifier) -> None:
    assert classifier.classify("duong bi sat lo khong di duoc").category == "ha_tang"
    assert classifier.classify("duong bi sat lo k di dc").category == "ha_tang"
    assert classifier.classify("cb xa hach dich vs dan, hoi j cung ko tra loi").category == "can_bo"


def test_typos_are_tolerated(classifier: Classifier) -> None:
    # Telex tone letters left in and swapped letters still land on the right topic.
    assert classifier.classify("nha toi bi matt trom con trauf").category == "an_ninh"
    assert classifier.classify("lam giay khaii sinhf cho con can gi").category == "hanh_chinh"


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "?!...", "xqzw vbnm"])
def test_nothing_recognisable_falls_back_to_khac(classifier: Classifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.category == "khac"
    assert result.candidates[0][0] == "khac"


def test_candidates_are_ranked_probabilities(classifier: Classifier) -> None:
    result = classifier.classify("mất điện cả ngày, cột điện đổ ra đường")
    assert result.category == result.candidates[0][0] == "ha_tang"
    assert len(result.candidates) == 5
    scores = [score for _, score in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len({code for code, _ in result.candidates}) == 5


def test_works_with_other_category_lists() -> None:
    specs = [
        CategorySpec("duong", "Đường", ("đường", "ổ gà"), "KT"),
        CategorySpec("khac", "Khác", (), "VP"),
    ]
    clf = Classifier(specs, seed={})
    assert clf.classify("đường nhiều ổ gà").category == "duong"
    assert clf.classify("xin chào").category == "khac"


# --- text hygiene ----------------------------------------------------------------------------


def test_normalize_text_nfd_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Đường sạt lở")
    text, truncated = normalize_text(decomposed)
    assert text == "Đường sạt lở"
    assert unicodedata.is_normalized("NFC", text)
    assert truncated is False


def test_normalize_text_removes_invisible_characters() -> None:
    dirty = "\ufeffđường\u200b bị\u200c sạt\u202e lở\u2066\u2069\x00\x07"
    text, _ = normalize_text(dirty)
    assert text == "đường bị sạt lở"


def test_normalize_text_keeps_emoji_tabs_and_lines() -> None:
    text, _ = normalize_text("cảm ơn 👍\tđã giúp\r\nthôn 👨\u200d👩\u200d👧")
    assert text == "cảm ơn 👍\tđã giúp\nthôn 👨\u200d👩\u200d👧"


def test_normalize_text_collapses_blank_lines_and_strips() -> None:
    text, _ = normalize_text("  \n\ndòng 1\r\n\r\n\r\n\r\n\r\ndòng 2   \n\n ")
    assert text == "dòng 1\n\ndòng 2"


def test_normalize_text_truncates_at_word_boundary() -> None:
    text, truncated = normalize_text("đường liên thôn bị sạt lở nặng", max_chars=20)
    assert truncated is True
    assert len(text) <= 20
    assert text == "đường liên thôn bị"
    assert normalize_text("ngắn", max_chars=20) == ("ngắn", False)


def test_fold() -> None:
    assert fold("ĐƯỜNG  bị\tSạt   lở") == "duong bi sat lo"
    assert fold(unicodedata.normalize("NFD", "Đề nghị xã")) == "de nghi xa"
    assert fold("Ủy ban nhân dân") == "uy ban nhan dan"
    assert fold("") == ""


def test_expand_abbreviations() -> None:
    assert expand_abbreviations("ko di dc") == "khong di duoc"
    assert expand_abbreviations("ng ta noi j vs cb ubnd xa") == (
        "nguoi ta noi gi voi can bo uy ban nhan dan xa"
    )
    assert expand_abbreviations("ngta bt nhiu roi") == "nguoi ta biet nhieu roi"
    assert expand_abbreviations("mat 5 tr, tr hoc xa") == "mat 5 trieu, truong hoc xa"
    # Real words and amounts are left alone: "hong" is hỏng (broken), "500k" is money.
    assert expand_abbreviations("may bom hong, het 500k") == "may bom hong, het 500k"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("   \n ", False),
        ("😀😀😀", False),
        ("👍", False),
        ("?!...", False),
        ("aaaaaa", False),
        ("ạạạạ", False),
        ("\u200b\u200b", False),
        ("đường hỏng", True),
        ("ok", True),
        ("👍 cảm ơn", True),
    ],
)
def test_is_meaningful(text: str, expected: bool) -> None:
    assert is_meaningful(text) is expected
