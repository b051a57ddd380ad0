"""Working days (工作日) from China's official holiday calendar.

Uses the maintained `chinesecalendar` package (State Council notices, including make-up
working days 调休): a Saturday that is a make-up day counts, a weekday holiday does not.
The package only knows the years the State Council has announced; asking about another
year raises :class:`CalendarUnknownError` instead of guessing.
"""

from __future__ import annotations

import datetime

import chinese_calendar


class CalendarUnknownError(ValueError):
    """The official calendar for this year is not published (or not in the package yet)."""


def is_working_day(day: datetime.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise CalendarUnknownError(f"no official holiday calendar for {day.year}") from exc


def next_working_day_on_or_after(day: datetime.date) -> datetime.date:
    while not is_working_day(day):
        day += datetime.timedelta(days=1)
    return day


def add_working_days(day: datetime.date, count: int) -> datetime.date:
    """The `count`-th working day after `day` (count ≥ 1); with count 0, `day` itself when
    it is a working day, else the next working day (a deadline never falls on a holiday)."""
    if count < 0:
        raise ValueError("count must be ≥ 0")
    if count == 0:
        return next_working_day_on_or_after(day)
    while count:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """Working days in (start, end]: how many working days after `start` `end` is."""
    days = 0
    current = start
    while current < end:
        current += datetime.timedelta(days=1)
        if is_working_day(current):
            days += 1
    return days
