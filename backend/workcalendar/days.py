"""Working days (工作日) on one calendar: the official arrangement where it is entered,
a provisional count where it is not.

Django-free: :class:`WorkingCalendar` is built from the official days the installation
keeps (``backend.workcalendar.selectors.working_calendar`` loads them from the database).
For a year whose State Council arrangement (放假日 and 调休上班日) is not entered yet, a
deadline must not stop: it is counted provisionally — Monday to Friday minus the statutory
holidays of the national rule (the `holidays` package's China calendar, without its
guessed substitute days) — and every result says whether it is provisional.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import holidays

HOLIDAY = "holiday"  # 放假
WORKDAY = "workday"  # 调休上班


@dataclass(frozen=True)
class Deadline:
    """A date counted in working days; `provisional` when a year it crosses has no
    official arrangement yet (it is recomputed when one is entered)."""

    date: datetime.date
    provisional: bool


@functools.lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[datetime.date]:
    """The statutory holidays of the national rule (全国年节及纪念日放假办法) in `year`:
    New Year, Spring Festival Eve to 3rd day, Qingming, Labour Day (2 days), Dragon Boat,
    Mid-Autumn, National Day (3 days). Weekend shifts (调休) are not predictable."""
    calendar = holidays.country_holidays("CN", years=year, observed=False)
    return frozenset(
        day
        for day, name in calendar.items()
        if "substituted" not in name and "observed" not in name and day.year == year
    )


class WorkingCalendar:
    """Official days of the entered years, provisional rule for the others."""

    def __init__(self, *, official_years: Iterable[int], days: Mapping[datetime.date, str]) -> None:
        self.official_years = frozenset(official_years)
        self._days = dict(days)

    def is_official(self, year: int) -> bool:
        return year in self.official_years

    def is_working_day(self, day: datetime.date) -> bool:
        if day.year in self.official_years:
            kind = self._days.get(day)
            if kind == HOLIDAY:
                return False
            if kind == WORKDAY:
                return True
            return day.weekday() < 5
        return day.weekday() < 5 and day not in statutory_holidays(day.year)

    def add_working_days(self, day: datetime.date, count: int) -> Deadline:
        """The `count`-th working day after `day` (count ≥ 1); with count 0, `day` itself
        when it is a working day, else the next working day (a deadline never falls on a
        holiday). Provisional when any day counted lies in a year not entered."""
        if count < 0:
            raise ValueError("count must be ≥ 0")
        start = day
        if count == 0:
            while not self.is_working_day(day):
                day += datetime.timedelta(days=1)
        else:
            while count:
                day += datetime.timedelta(days=1)
                if self.is_working_day(day):
                    count -= 1
        provisional = any(not self.is_official(year) for year in range(start.year, day.year + 1))
        return Deadline(day, provisional)

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """Working days in (start, end]: how many working days after `start` `end` is."""
        days = 0
        current = start
        while current < end:
            current += datetime.timedelta(days=1)
            if self.is_working_day(current):
                days += 1
        return days
