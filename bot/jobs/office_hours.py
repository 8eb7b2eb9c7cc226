"""When scheduled messages may go out: working days outside quiet hours, in the commune's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from bot.config.settings import Settings
from bot.core.workdays import WorkingCalendar


def local_time(settings: Settings, now: datetime) -> datetime:
    """The commune's wall-clock time at a UTC moment."""
    return now.astimezone(settings.commune.tz)


def at_local(settings: Settings, day: date, at: time) -> datetime:
    """The UTC moment of a local date and time (Asia/Ho_Chi_Minh has no DST, so this is exact)."""
    return datetime.combine(day, at, tzinfo=settings.commune.tz).astimezone(timezone.utc)


def in_quiet_hours(settings: Settings, now: datetime) -> bool:
    """True between quiet_hours.start and quiet_hours.end (the window may span midnight)."""
    quiet = settings.reminders.quiet_hours
    clock = local_time(settings, now).time()
    if quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= clock < quiet.end
    return clock >= quiet.start or clock < quiet.end


def may_send(settings: Settings, calendar: WorkingCalendar, now: datetime) -> bool:
    """Officials get routine messages only on working days outside quiet hours."""
    return calendar.is_working_day(local_time(settings, now).date()) and not in_quiet_hours(settings, now)


def week_monday(day: date) -> date:
    """The Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


def week_label(day: date) -> str:
    """ISO week as 2026-W24."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(label: str) -> date:
    """The Monday of an ISO week given as 2026-W24."""
    try:
        year, week = label.upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValueError(f"not an ISO week (YYYY-Www): {label!r}") from None


def weekly_fire_day(calendar: WorkingCalendar, monday: date, weekday: int) -> date | None:
    """The configured weekday of that week, or the next working day within the same week."""
    day = monday + timedelta(days=weekday)
    while day < monday + timedelta(days=7):
        if calendar.is_working_day(day):
            return day
        day += timedelta(days=1)
    return None


def previous_working_day(calendar: WorkingCalendar, day: date) -> date:
    """The last working day strictly before `day`."""
    current = day - timedelta(days=1)
    for _ in range(366):
        if calendar.is_working_day(current):
            return current
        current -= timedelta(days=1)
    raise ValueError(f"no working day within a year before {day.isoformat()}")


def working_days_before(calendar: WorkingCalendar, day: date, n: int) -> date:
    """The n-th working day before `day` (the reminder day for "n working days left")."""
    current = day
    for _ in range(n):
        current = previous_working_day(calendar, current)
    return current
