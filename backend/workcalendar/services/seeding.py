"""Seeding the years the `chinesecalendar` package knows (idempotent)."""

from __future__ import annotations

import datetime
from importlib.metadata import version

import chinese_calendar
from django.db import transaction
from django.utils import timezone

from backend.workcalendar.models import CalendarDay, CalendarSource, CalendarYear, DayKind

# chinese_calendar names its holidays in English; the notice names them in Chinese.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def _name(value: object) -> str:
    text = getattr(value, "value", None) or str(value or "")
    return HOLIDAY_NAMES.get(str(text), str(text))[:50]


def package_days() -> dict[int, list[tuple[datetime.date, str, str]]]:
    """Every year the package knows, with its holidays and make-up working days."""
    years: dict[int, list[tuple[datetime.date, str, str]]] = {}
    for day, name in chinese_calendar.holidays.items():
        years.setdefault(day.year, []).append((day, DayKind.HOLIDAY, _name(name)))
    for day, name in chinese_calendar.workdays.items():
        years.setdefault(day.year, []).append((day, DayKind.WORKDAY, _name(name)))
    return {year: sorted(days) for year, days in years.items()}


def calendar_seed_from_package(*, using: str = "default") -> list[int]:
    """Store the package's years that the database lacks; returns them. Years entered by an
    administrator (or seeded before) are left as they are."""
    known = package_days()
    with transaction.atomic(using=using):
        present = set(CalendarYear.objects.using(using).values_list("year", flat=True))
        missing = sorted(set(known) - present)
        if not missing:
            return []
        now = timezone.now()
        notice = f"chinesecalendar {version('chinesecalendar')}"
        CalendarYear.objects.using(using).bulk_create(
            [
                CalendarYear(year=y, source=CalendarSource.PACKAGE, notice=notice, entered_at=now)
                for y in missing
            ]
        )
        CalendarDay.objects.using(using).bulk_create(
            [
                CalendarDay(date=day, year_id=y, kind=kind, name=name)
                for y in missing
                for day, kind, name in known[y]
            ]
        )
    return missing
