"""Deadlines against hand-checked dates (tests/data/deadline_cases.csv) and the working calendar."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.core.deadlines import (
    Deadlines,
    Period,
    TypeRules,
    compute_deadlines,
    deadlines_to_json,
    rules_from_config,
)
from bot.core.workdays import WorkingCalendar

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
CASES_CSV = Path(__file__).resolve().parents[1] / "data" / "deadline_cases.csv"
TYPE_CODES = ("phan_anh", "kien_nghi", "gop_y", "khieu_nai", "to_cao")


def _to_date(value: object) -> date:
    """YAML gives a date for an unquoted ISO date and a str for a quoted one."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _optional_date(text: str) -> date | None:
    """An empty CSV cell means no date."""
    return date.fromisoformat(text) if text else None


def _config_calendar() -> WorkingCalendar:
    """The calendar exactly as the shipped config.yaml defines it."""
    section = CONFIG.get("calendar") or {}
    return WorkingCalendar(
        extra_days_off=[_to_date(d) for d in section.get("extra_days_off") or ()],
        extra_working_days=[_to_date(d) for d in section.get("extra_working_days") or ()],
    )


def _config_rules(code: str, rule_set: str) -> TypeRules:
    """Rules come from config.yaml so the test checks the shipped numbers, not a copy."""
    for ticket_type in CONFIG["ticket_types"]:
        if ticket_type["code"] == code:
            return rules_from_config(ticket_type["rules"][rule_set])
    raise KeyError(code)


def _load_cases() -> list[dict[str, str]]:
    """One row per hand-computed case."""
    with CASES_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


CASES = _load_cases()
CALENDAR = _config_calendar()


def test_case_table_covers_every_type_and_rule_set() -> None:
    """The brief asks for at least 30 cases over all five types and both rule sets."""
    assert len(CASES) >= 30
    assert len({row["case"] for row in CASES}) == len(CASES)
    covered = {(row["type"], row["rule_set"]) for row in CASES}
    assert covered == {(code, rs) for code in TYPE_CODES for rs in ("2011", "2026")}
    assert all(row["why"].strip() for row in CASES)


@pytest.mark.parametrize("row", CASES, ids=[row["case"] for row in CASES])
def test_deadline_case(row: dict[str, str]) -> None:
    """Each expected date was counted by hand on a printed calendar."""
    rules = _config_rules(row["type"], row["rule_set"])
    got = compute_deadlines(
        rules,
        received=date.fromisoformat(row["received"]),
        accepted=_optional_date(row["accepted"]),
        calendar=CALENDAR,
    )
    assert got == Deadlines(
        answer_due=date.fromisoformat(row["answer_due"]),
        accept_due=_optional_date(row["accept_due"]),
        resolve_due=date.fromisoformat(row["resolve_due"]),
    ), row["why"]


# --- WorkingCalendar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 8, 22), True),  # make-up working Saturday
        (date(2026, 8, 31), False),  # Monday off, swapped from 22/8
        (date(2026, 2, 17), False),  # mùng 1 Tết
        (date(2026, 2, 16), False),  # giao thừa
        (date(2026, 2, 23), True),  # first working day after Tết 2026
        (date(2026, 11, 24), False),  # Ngày Văn hóa Việt Nam
        (date(2026, 4, 27), False),  # Giỗ Tổ (Sun 26/4) observed on Monday
        (date(2026, 9, 1), False),  # day adjacent to Quốc khánh
        (date(2026, 10, 10), False),  # ordinary Saturday
        (date(2026, 10, 11), False),  # ordinary Sunday
        (date(2026, 10, 12), True),  # ordinary Monday
        (date(2027, 2, 4), False),  # 29 Tết 2027
        (date(2027, 2, 10), False),  # Tết 2027, Sunday moved to Wednesday
        (date(2027, 2, 11), True),  # first working day after Tết 2027
    ],
)
def test_is_working_day(day: date, expected: bool) -> None:
    """Spot checks against the 2026/2027 holiday list."""
    assert CALENDAR.is_working_day(day) is expected


def test_count_working_days() -> None:
    """(start, end] excludes start and includes end."""
    assert CALENDAR.count_working_days(date(2026, 2, 13), date(2026, 2, 23)) == 1
    assert CALENDAR.count_working_days(date(2026, 2, 13), date(2026, 3, 6)) == 10
    # Fri 21/8 .. Tue 8/9/2026: Sat 22/8 counts, 31/8 1/9 2/9 do not.
    assert CALENDAR.count_working_days(date(2026, 8, 21), date(2026, 9, 8)) == 10
    assert CALENDAR.count_working_days(date(2026, 10, 12), date(2026, 10, 12)) == 0
    assert CALENDAR.count_working_days(date(2026, 10, 16), date(2026, 10, 12)) == 0


def test_add_and_count_are_inverse() -> None:
    """count_working_days(d, add_working_days(d, n)) == n is what reminders rely on."""
    for start in (date(2026, 2, 13), date(2026, 8, 21), date(2027, 2, 3)):
        for n in (1, 7, 10, 15):
            assert CALENDAR.count_working_days(start, CALENDAR.add_working_days(start, n)) == n


def test_add_working_days_never_counts_the_start_day() -> None:
    """Received on a working Monday, day 1 is Tuesday."""
    assert CALENDAR.add_working_days(date(2026, 10, 12), 1) == date(2026, 10, 13)
    assert CALENDAR.add_working_days(date(2026, 8, 21), 1) == date(2026, 8, 22)


def test_add_calendar_days_rolls_forward() -> None:
    """Landing on a weekend or holiday moves to the next working day; otherwise no change."""
    assert CALENDAR.add_calendar_days(date(2026, 10, 11), 10) == date(2026, 10, 21)
    assert CALENDAR.add_calendar_days(date(2026, 2, 7), 10) == date(2026, 2, 23)
    assert CALENDAR.add_calendar_days(date(2026, 8, 21), 1) == date(2026, 8, 22)


def test_next_working_day() -> None:
    """A working day is its own next working day."""
    assert CALENDAR.next_working_day(date(2026, 10, 12)) == date(2026, 10, 12)
    assert CALENDAR.next_working_day(date(2026, 8, 29)) == date(2026, 9, 3)
    assert CALENDAR.next_working_day(date(2027, 2, 4)) == date(2027, 2, 11)


def test_config_extras_override_the_package() -> None:
    """The commune's config is the final word on a day."""
    cal = WorkingCalendar(
        extra_days_off=[date(2026, 10, 12)], extra_working_days=[date(2026, 11, 24)]
    )
    assert cal.is_working_day(date(2026, 10, 12)) is False
    assert cal.is_working_day(date(2026, 11, 24)) is True
    assert cal.is_working_day(date(2026, 10, 17)) is False


def test_calendar_rejects_bad_input() -> None:
    """A day both off and working, a zero period or a string date is a bug, not a deadline."""
    with pytest.raises(ValueError, match="both"):
        WorkingCalendar(extra_days_off=[date(2026, 8, 22)], extra_working_days=[date(2026, 8, 22)])
    with pytest.raises(ValueError):
        CALENDAR.add_working_days(date(2026, 10, 12), 0)
    with pytest.raises(ValueError):
        CALENDAR.add_calendar_days(date(2026, 10, 12), -1)
    with pytest.raises(TypeError):
        WorkingCalendar(extra_days_off=["2026-08-31"])  # type: ignore[list-item]


# --- rules_from_config and JSON ----------------------------------------------------------


def test_rules_from_config_reads_the_shipped_rules() -> None:
    """Spot-check the parsed khiếu nại rules for both sets."""
    assert _config_rules("khieu_nai", "2011") == TypeRules(
        answer=Period(10, "working"),
        accept=Period(10, "calendar"),
        resolve=Period(30, "calendar"),
        resolve_max=Period(45, "calendar"),
        resolve_from="acceptance",
    )
    assert _config_rules("khieu_nai", "2026").accept == Period(7, "working")
    assert _config_rules("gop_y", "2026").accept is None


_ANSWER = {"days": 10, "unit": "working"}
_RESOLVE = {"days": 15, "unit": "working"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"resolve": _RESOLVE}, "missing 'answer'"),
        ({"answer": {"days": 10, "unit": "workday"}, "resolve": _RESOLVE}, "answer.unit"),
        ({"answer": {"days": 0, "unit": "working"}, "resolve": _RESOLVE}, "answer.days"),
        ({"answer": {"days": "10", "unit": "working"}, "resolve": _RESOLVE}, "answer.days"),
        ({"answer": _ANSWER, "resolve": 15}, "'resolve' must be a mapping"),
        ({"answer": _ANSWER, "resolve": _RESOLVE, "resolv_max": {}}, "unknown key"),
        ({"answer": _ANSWER, "resolve": _RESOLVE, "resolve_from": "thu_ly"}, "resolve_from"),
        ({"answer": _ANSWER, "resolve": _RESOLVE, "resolve_from": "acceptance"}, "accept"),
        (
            {"answer": _ANSWER, "resolve": _RESOLVE, "resolve_max": {"days": 5, "unit": "working"}},
            "resolve_max",
        ),
        ("answer: 10", "mapping"),
    ],
)
def test_rules_from_config_rejects_bad_input(raw: object, message: str) -> None:
    """A typo in config.yaml must fail loudly and say where."""
    with pytest.raises(ValueError, match=message):
        rules_from_config(raw)  # type: ignore[arg-type]


def test_accepted_before_received_is_rejected() -> None:
    """Acceptance cannot precede receipt."""
    with pytest.raises(ValueError, match="before received"):
        compute_deadlines(
            _config_rules("to_cao", "2026"),
            received=date(2026, 10, 12),
            accepted=date(2026, 10, 9),
            calendar=CALENDAR,
        )


def test_deadlines_to_json() -> None:
    """ISO strings, with None kept for types that have no acceptance step."""
    assert deadlines_to_json(
        Deadlines(answer_due=date(2026, 3, 6), accept_due=None, resolve_due=date(2026, 3, 13))
    ) == {"answer_due": "2026-03-06", "accept_due": None, "resolve_due": "2026-03-13"}
    assert deadlines_to_json(
        Deadlines(
            answer_due=date(2026, 3, 6), accept_due=date(2026, 3, 3), resolve_due=date(2026, 4, 2)
        )
    )["accept_due"] == "2026-03-03"
