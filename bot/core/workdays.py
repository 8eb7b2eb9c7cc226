"""Vietnamese working-day calendar used to count legal deadlines (domain brief §1)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import holidays

# A year never has this many consecutive non-working days; guards against a broken config.
_MAX_SCAN_DAYS = 366


class WorkingCalendar:
    """Vietnamese working days: Mon–Fri minus public holidays (holidays package, country VN) minus config extra_days_off, plus weekend days that are working days (config extra_working_days and the holidays package's own `weekend_workdays`)."""

    def __init__(
        self, *, extra_days_off: Iterable[date] = (), extra_working_days: Iterable[date] = ()
    ) -> None:
        self._days_off = frozenset(_as_date(d, field="extra_days_off") for d in extra_days_off)
        self._working_days = frozenset(
            _as_date(d, field="extra_working_days") for d in extra_working_days
        )
        clash = sorted(self._days_off & self._working_days)
        if clash:
            listed = ", ".join(d.isoformat() for d in clash)
            raise ValueError(f"dates both in extra_days_off and extra_working_days: {listed}")
        self._by_year: dict[int, holidays.HolidayBase] = {}
        self._by_day: dict[date, bool] = {}         # the answers never change for one calendar

    def _holidays(self, year: int) -> holidays.HolidayBase:
        """Build one year of VN holidays on first use, since most runs touch one or two years."""
        found = self._by_year.get(year)
        if found is None:
            found = holidays.country_holidays("VN", years=year)
            self._by_year[year] = found
        return found

    def is_working_day(self, day: date) -> bool:
        """Config wins over the package, so the commune can correct a wrong or missing day."""
        day = _as_date(day, field="day")
        known = self._by_day.get(day)
        if known is None:
            known = self._by_day[day] = self._is_working_day(day)
        return known

    def _is_working_day(self, day: date) -> bool:
        if day in self._working_days:
            return True
        if day in self._days_off:
            return False
        year_holidays = self._holidays(day.year)
        if day in year_holidays:
            return False
        if day in year_holidays.weekend_workdays:
            return True
        return day.weekday() < 5

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after day: the event day itself is never counted (BLDS art. 147)."""
        _check_positive(n)
        current = _as_date(day, field="day")
        left = n
        idle = 0
        while left:
            current += timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
                idle = 0
            else:
                idle += 1
                if idle > _MAX_SCAN_DAYS:
                    raise ValueError(f"no working day within a year after {current.isoformat()}")
        return current

    def add_calendar_days(self, day: date, n: int) -> date:
        """day + n, rolled forward because a deadline cannot end on a day off (BLDS art. 148)."""
        _check_positive(n)
        return self.next_working_day(_as_date(day, field="day") + timedelta(days=n))

    def next_working_day(self, day: date) -> date:
        """day itself if working, else the next one: a due date must be a day the office is open."""
        current = _as_date(day, field="day")
        for _ in range(_MAX_SCAN_DAYS + 1):
            if self.is_working_day(current):
                return current
            current += timedelta(days=1)
        raise ValueError(f"no working day within a year after {day.isoformat()}")

    def count_working_days(self, start: date, end: date) -> int:
        """Working days in (start, end]: how much of a period has elapsed; 0 if end <= start."""
        start = _as_date(start, field="start")
        end = _as_date(end, field="end")
        count = 0
        current = start + timedelta(days=1)
        while current <= end:
            if self.is_working_day(current):
                count += 1
            current += timedelta(days=1)
        return count


def _as_date(value: object, *, field: str) -> date:
    """Reject datetimes and strings, which would silently never match a date in a set."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{field} must be a datetime.date, got {value!r}")
    return value


def _check_positive(n: int) -> None:
    """Periods of zero or negative length are a config or caller bug, not a deadline."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
