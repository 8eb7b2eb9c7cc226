"""The hamlet named in a description ("… ở thôn Đồng Tâm"): found accent-insensitively, with
the word thôn/xóm/bản/tổ/làng before it or not, and tolerant of small misspellings, so the bot
can ask "Có phải ở thôn Đồng Tâm không?" instead of asking the hamlet from scratch.
The step `hamlet_confirm` (after the category, before the list) is registered on the intake flow here."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from bot.conversation.engine import Choice, Step, Turn
from bot.intake.flow import choose_hamlet, flow, type_hamlet
from bot.language.normalize import fold

PREFIXES = frozenset({"thon", "xom", "ban", "to", "lang", "khu", "doi"})
_NON_WORD = re.compile(r"[^\w]+|_")
WORD_CUTOFF = 75.0       # per word, after a prefix: "dong tamm" is Đồng Tâm, "tan lap" is not Tân Lập 2


def hamlet_core(name: str) -> list[str]:
    """'Thôn Mẫu 1 (mẫu)' → ['mau', '1']: folded words without the prefix or bracketed notes."""
    words = _NON_WORD.sub(" ", re.sub(r"\(.*?\)", " ", fold(name))).split()
    if len(words) > 1 and words[0] in PREFIXES:
        words = words[1:]
    return words


def display_name(name: str) -> str:
    """The hamlet as said in a sentence: 'Thôn Đồng Tâm (mẫu)' → 'thôn Đồng Tâm'."""
    plain = " ".join(re.sub(r"\(.*?\)", " ", name).split())
    first, _, rest = plain.partition(" ")
    return f"{first.lower()} {rest}" if rest and fold(first) in PREFIXES else plain


def _word_match(typed: str, wanted: str) -> float:
    if typed == wanted:
        return 100.0
    if wanted.isdigit() or typed.isdigit() or len(wanted) <= 2:
        return 0.0
    return fuzz.ratio(typed, wanted)


def find_hamlet(text: str, hamlets: Sequence[str]) -> int | None:
    """The index of the one hamlet the text names, or None (none, or two equally likely)."""
    words = _NON_WORD.sub(" ", fold(text)).split()
    best: dict[int, float] = {}
    for index, name in enumerate(hamlets):
        core = hamlet_core(name)
        n = len(core)
        if not core:
            continue
        for j in range(len(words) - n + 1):
            window = words[j:j + n]
            after_prefix = j > 0 and words[j - 1] in PREFIXES
            if window == core and (after_prefix or n >= 2):
                score = 100.0 + after_prefix
            elif after_prefix:
                scores = [_word_match(t, w) for t, w in zip(window, core)]
                score = min(scores) if min(scores) >= WORD_CUTOFF else 0.0
            else:
                continue
            best[index] = max(best.get(index, 0.0), score)
    if not best:
        return None
    top = max(best.values())
    winners = [i for i, s in best.items() if s == top]
    return winners[0] if len(winners) == 1 else None


def prompt_guess(turn: Turn) -> None:
    """After the category: when the description names a hamlet, ask whether that is it;
    otherwise show the list (the edit button of the summary goes to the list directly)."""
    index = find_hamlet(turn.draft.description, turn.settings.hamlets)
    if index is None:
        turn.goto("hamlet")
        return
    turn.data["hamlet_guess"] = index
    name = turn.settings.hamlets[index]
    turn.say("citizen/confirm_hamlet", place=display_name(name),
             choices=[Choice("yes", turn.texts.label("hamlet_confirm_yes", place=display_name(name))),
                      Choice("other", turn.texts.label("hamlet_confirm_other"))])


def choose_guess(turn: Turn, value: str) -> None:
    index = turn.data.pop("hamlet_guess", None)
    if value == "yes" and index is not None:
        choose_hamlet(turn, f"h{index}")
    else:
        turn.goto("hamlet")


flow.step("hamlet_confirm", Step(prompt=prompt_guess, on_choice=choose_guess, on_text=type_hamlet))
