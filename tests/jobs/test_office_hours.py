"""When scheduled messages may go out: quiet hours, days off, weekly slots (tables of fixed dates)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.jobs.office_hours import (in_quiet_hours, may_send, parse_week, previous_working_day, week_label,
                              weekly_fire_day, working_days_before)
from bot.core.workdays import WorkingCalendar

CAL = WorkingCalendar(extra_days_off=[date(2027, 2, 11)], extra_working_days=[date(2027, 2, 20)])


def hanoi(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.mark.parametrize("hh,mm,quiet", [(6, 59, True), (7, 0, False), (12, 0, False), (20, 59, False),
                                         (21, 0, True), (23, 30, True), (3, 0, True)])
def test_quiet_hours_default_21_to_7(settings, hh, mm, quiet):
    assert in_quiet_hours(settings, hanoi(2026, 11, 26, hh, mm)) is quiet


@pytest.mark.parametrize("moment,allowed,why", [
    (hanoi(2026, 11, 26, 9), True, "Thursday morning"),
    (hanoi(2026, 11, 28, 9), False, "Saturday"),
    (hanoi(2026, 11, 26, 22), False, "quiet hours"),
    (hanoi(2026, 8, 22, 9), True, "make-up Saturday 22/8/2026 in config.yaml"),
    (hanoi(2026, 8, 31, 9), False, "day off moved to Monday 31/8/2026"),
])
def test_may_send(settings, moment, allowed, why):
    calendar = WorkingCalendar(extra_days_off=settings.calendar.extra_days_off,
                               extra_working_days=settings.calendar.extra_working_days)
    assert may_send(settings, calendar, moment) is allowed, why


@pytest.mark.parametrize("monday,weekday,expected,why", [
    (date(2027, 2, 1), 0, date(2027, 2, 1), "an ordinary Monday"),
    (date(2027, 2, 8), 0, date(2027, 2, 12), "Tết 8–10/2 and the extra day off 11/2: Friday"),
    (date(2027, 2, 15), 3, date(2027, 2, 18), "a Thursday slot"),
    (date(2027, 2, 1), 3, None, "Thursday 4/2 to Sunday 7/2 are all days off: no slot that week"),
])
def test_weekly_fire_day(monday, weekday, expected, why):
    assert weekly_fire_day(CAL, monday, weekday) == expected, why


@pytest.mark.parametrize("due,n,expected", [
    (date(2027, 2, 22), 1, date(2027, 2, 20)),    # the make-up Saturday counts
    (date(2027, 2, 16), 3, date(2027, 2, 3)),     # back across Tết and the extra day off
    (date(2027, 2, 12), 1, date(2027, 2, 3)),
])
def test_working_days_before(due, n, expected):
    assert working_days_before(CAL, due, n) == expected
    assert CAL.add_working_days(expected, n) == due          # the inverse of counting forward
    assert previous_working_day(CAL, due) < due


def test_week_labels_round_trip():
    assert week_label(date(2026, 6, 8)) == "2026-W24"
    assert parse_week("2026-W24") == date(2026, 6, 8)
    assert parse_week("2027-w01") == date(2027, 1, 4)
    with pytest.raises(ValueError):
        parse_week("2026-24")
