"""Reading the calendar: the one working-day calendar every deadline is counted on, and
what the system administrators' pages show."""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass

from django.db.models import Count, Q

from backend.accounts.models import Role, User
from backend.config.errors import PermissionDenied
from backend.workcalendar.days import Deadline, WorkingCalendar
from backend.workcalendar.models import CalendarDay, CalendarYear

# From this day of the year on, next year's arrangement is expected (the State Council
# usually publishes it in October–December) and its absence is shown as a warning.
WARN_FROM = (11, 1)

_cache_lock = threading.Lock()
_cache: tuple[tuple[object, ...], WorkingCalendar] | None = None


def working_calendar() -> WorkingCalendar:
    """The calendar as the database holds it now. One small query checks whether it
    changed since it was last loaded (by this process or another), so an import in the web
    process is seen at once by workers and the scheduler."""
    global _cache
    version = tuple(
        CalendarYear.objects.annotate(n=Count("days"))
        .order_by("year")
        .values_list("year", "entered_at", "n")
    )
    cached = _cache
    if cached is not None and cached[0] == version:
        return cached[1]
    calendar = WorkingCalendar(
        official_years=[row[0] for row in version],
        days=dict(CalendarDay.objects.values_list("date", "kind")),
    )
    with _cache_lock:
        _cache = (version, calendar)
    return calendar


def is_working_day(day: datetime.date) -> bool:
    return working_calendar().is_working_day(day)


def add_working_days(day: datetime.date, count: int) -> Deadline:
    return working_calendar().add_working_days(day, count)


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    return working_calendar().working_days_between(start, end)


def require_system_admin(user: User) -> None:
    if user.role != Role.SYSTEM_ADMIN and not user.is_superuser:
        raise PermissionDenied("只有系统管理员可以维护节假日安排", code="system_admin_only")


@dataclass(frozen=True)
class YearSummary:
    year: int
    source: str
    source_label: str
    notice: str
    entered_at: datetime.datetime
    holidays: int
    workdays: int


def calendar_years() -> list[YearSummary]:
    rows = CalendarYear.objects.annotate(
        holidays=Count("days", filter=_kind("holiday")),
        workdays=Count("days", filter=_kind("workday")),
    ).order_by("-year")
    return [
        YearSummary(
            r.year,
            r.source,
            r.get_source_display(),
            r.notice,
            r.entered_at,
            r.holidays,  # type: ignore[attr-defined]
            r.workdays,  # type: ignore[attr-defined]
        )
        for r in rows
    ]


def _kind(kind: str) -> Q:
    return Q(days__kind=kind)


def calendar_days(year: int) -> list[CalendarDay]:
    return list(CalendarDay.objects.filter(year_id=year).order_by("date"))


def next_year_missing(today: datetime.date) -> int | None:
    """Next year, when it is 1 November or later and its arrangement is not entered. (One
    query whatever the date, so a page's query count does not depend on the clock.)"""
    year = today.year + 1
    entered = CalendarYear.objects.filter(year=year).exists()
    return None if entered or (today.month, today.day) < WARN_FROM else year
