"""Text hygiene for everything citizens type: normalisation, accent folding, chat abbreviations."""

from __future__ import annotations

from types import MappingProxyType

import re
import unicodedata

# Invisible characters that break matching or can spoof display (zero-width, bidi controls, BOM).
_INVISIBLE = frozenset(
    [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\uFEFF", "\u00AD", "\u2060"]
)
_ZWJ = "\u200D"
_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029|\x85|\x0b|\x0c")
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_SPACES = re.compile(r"\s+")
_LETTER_RUNS = re.compile(r"([a-z])\1{2,}")


def _is_pictograph(ch: str) -> bool:
    """Tell emoji-like symbols apart, so a ZWJ joining two of them survives."""
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


def _keep_char(text: str, i: int) -> bool:
    """Decide whether the character at i is visible content worth keeping."""
    ch = text[i]
    if ch in ("\n", "\t"):
        return True
    if ch == _ZWJ:
        # Keep ZWJ only inside an emoji sequence (family, profession emoji); elsewhere it hides text.
        prev = text[i - 1] if i > 0 else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        prev_base = prev if prev != "\uFE0F" else (text[i - 2] if i > 1 else "")
        return bool(prev_base and nxt) and _is_pictograph(prev_base) and _is_pictograph(nxt)
    if ch in _INVISIBLE:
        return False
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs", "Co"):
        return False
    if category == "Cf":
        # Emoji tag sequences (subdivision flags) use Cf tag characters; anything else is invisible.
        return 0xE0020 <= ord(ch) <= 0xE007F
    return True


def normalize_text(s: str, *, max_chars: int | None = None) -> tuple[str, bool]:
    """Clean citizen input so storage, display and matching all see the same canonical text."""
    text = unicodedata.normalize("NFC", s or "")
    text = _LINE_BREAKS.sub("\n", text)
    text = "".join(ch for i, ch in enumerate(text) if _keep_char(text, i))
    # Exotic spaces (NBSP, thin space, ideographic space) become plain spaces.
    text = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    text = text.strip()
    if max_chars is None or len(text) <= max_chars:
        return text, False
    if max_chars <= 0:
        return "", True
    cut = text[:max_chars]
    boundary = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
    # Only back off to a word boundary if it does not throw away most of the allowance.
    if boundary >= max_chars // 2 and not text[max_chars].isspace():
        cut = cut[:boundary]
    return cut.rstrip(), True


def fold(s: str) -> str:
    """Lower-case and strip diacritics so 'Đường' and 'duong' compare equal."""
    decomposed = unicodedata.normalize("NFD", s or "")
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    stripped = stripped.replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", unicodedata.normalize("NFC", stripped).lower()).strip()


# Chat abbreviations, keyed by their folded form. Ambiguous shorthands ("hong" = hỏng, "dk",
# "dg" = đang/đường, "gd") are left alone: a wrong expansion is worse than none.
_ABBREVIATIONS: dict[str, str] = MappingProxyType({
    # negation
    "ko": "khong", "k": "khong", "kg": "khong", "kh": "khong", "khg": "khong", "kgh": "khong",
    "hok": "khong", "hk": "khong", "k0": "khong", "khum": "khong", "khog": "khong",
    # common function words
    "dc": "duoc", "dcj": "duoc",
    "ng": "nguoi", "ngta": "nguoi ta", "ngt": "nguoi ta", "nguoita": "nguoi ta",
    "j": "gi", "ji": "gi", "vs": "voi", "bt": "biet", "bik": "biet", "bjt": "biet",
    "nc": "nuoc", "nhiu": "nhieu", "nhju": "nhieu", "mk": "minh", "mn": "moi nguoi",
    "ms": "moi", "cx": "cung", "cug": "cung", "lm": "lam", "trc": "truoc", "ns": "noi",
    "bn": "bao nhieu", "bh": "bao gio", "bjo": "bao gio", "r": "roi", "wa": "qua", "z": "vay",
    "ntn": "nhu the nao", "hnay": "hom nay", "hqua": "hom qua", "hum": "hom", "e": "em",
    "ae": "anh em", "vk": "vo", "ck": "chong", "ktra": "kiem tra", "ktr": "kiem tra",
    "nt": "nhan tin", "dt": "dien thoai", "dthoai": "dien thoai", "sdt": "so dien thoai",
    "tks": "cam on", "thks": "cam on", "thanks": "cam on", "thank": "cam on", "thanhks": "cam on",
    "camon": "cam on", "ad": "admin", "tk": "tai khoan", "dky": "dang ky",
    "dki": "dang ky", "qd": "quyet dinh", "xd": "xay dung", "gdinh": "gia dinh",
    # institutions and programmes
    "ubnd": "uy ban nhan dan", "ubx": "uy ban xa", "hdnd": "hoi dong nhan dan",
    "mttq": "mat tran to quoc", "cb": "can bo", "cbo": "can bo", "cbx": "can bo xa",
    "cq": "co quan", "bhyt": "bao hiem y te", "bhxh": "bao hiem xa hoi", "gcn": "giay chung nhan",
    "qsdd": "quyen su dung dat", "gcnqsdd": "giay chung nhan quyen su dung dat",
    "nvqs": "nghia vu quan su", "dvc": "dich vu cong", "tthc": "thu tuc hanh chinh",
    "csgt": "canh sat giao thong", "tyt": "tram y te", "bv": "benh vien", "gv": "giao vien",
    "cccd": "can cuoc cong dan", "cmnd": "chung minh nhan dan", "hcc": "hanh chinh cong",
})

_SCHOOL_NEXT = frozenset(
    "hoc mam tieu trung thcs thpt cap noi ban lop dan pho co nha diem".split()
)
_RECORD_PREV = frozenset("nop lam xet thu tra bo ho".split())


def _expand_contextual(tokens: list[str], i: int) -> str | None:
    """Resolve shorthands whose meaning depends on the neighbouring word."""
    tok = tokens[i]
    prev = tokens[i - 1] if i > 0 else ""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    after_number = prev.replace(",", "").replace(".", "").isdigit()
    if after_number and tok in ("k", "kg"):
        # "50 k" is money and "5 kg" is weight, not "không".
        return "nghin" if tok == "k" else tok
    if tok == "tr":
        if after_number:
            return "trieu"
        if nxt in _SCHOOL_NEXT:
            return "truong"
        return "troi"
    if tok == "hs":
        return "ho so" if prev in _RECORD_PREV else "hoc sinh"
    if tok.startswith("dd") and len(tok) > 2:
        # Telex typed without an input method: "dduong" means "đường".
        return tok[1:]
    return None


def expand_abbreviations(folded: str) -> str:
    """Expand chat shorthand (ko, dc, ng, ubnd, cb...) so matching sees full words."""
    text = _LETTER_RUNS.sub(r"\1", folded)
    parts = re.split(r"(\w+)", text)
    words = parts[1::2]
    out: list[str] = []
    w = 0
    for idx, part in enumerate(parts):
        if idx % 2 == 0:
            out.append(part)
            continue
        expanded = _expand_contextual(words, w)
        if expanded is None:
            expanded = _ABBREVIATIONS.get(part, part)
        out.append(expanded)
        w += 1
    return "".join(out)


def is_meaningful(s: str) -> bool:
    """Reject input with no words in it (emoji, punctuation, 'aaaa') before asking more questions."""
    text, _ = normalize_text(s)
    alnum = fold("".join(ch for ch in text if ch.isalnum()))
    return len(set(alnum)) > 1
