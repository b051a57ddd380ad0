"""The figures card on supervisors' dashboards: today's and this week's activities (checked,
compliant, not compliant) and recordings stored, and a small chart of the last seven days
(activities and compliant ones per day). Two grouped queries over the user's scope."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.enforcement.selectors import activities_visible_to
from backend.footage.selectors import recordings_visible_to
from backend.web.charts import BarChart, Series, bar_chart

FIGURE_ROLES = (Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN)
DAYS = 7
NOT_COMPLIANT = ("late_start", "early_stop", "gaps", "not_recorded", "insufficient_officers")


@dataclass
class Period:
    activities: int = 0
    checked: int = 0
    compliant: int = 0
    not_compliant: int = 0
    recordings: int = 0


@dataclass
class Figures:
    today: Period
    week: Period
    week_start: datetime.date
    chart: BarChart


def _start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def dashboard_figures(user: User) -> Figures | None:
    if user.role not in FIGURE_ROLES:
        return None
    today = timezone.localdate()
    week_start = today - datetime.timedelta(days=today.weekday())  # Monday
    first = min(week_start, today - datetime.timedelta(days=DAYS - 1))
    tz = timezone.get_current_timezone()
    rows = (
        activities_visible_to(user)
        .filter(started_at__gte=_start_of(first))
        .annotate(day=TruncDate("started_at", tzinfo=tz))
        .values("day")
        .annotate(
            total=Count("pk"),
            checked=Count("pk", filter=Q(coverage__isnull=False)),
            compliant=Count("pk", filter=Q(coverage__verdict="compliant")),
            not_compliant=Count("pk", filter=Q(coverage__verdict__in=NOT_COMPLIANT)),
        )
    )
    per_day: dict[datetime.date, dict[str, Any]] = {row["day"]: dict(row) for row in rows}
    stored = (
        recordings_visible_to(user)
        .filter(stored_at__gte=_start_of(first))
        .annotate(day=TruncDate("stored_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
    )
    stored_per_day = {row["day"]: row["n"] for row in stored}

    def period(since: datetime.date) -> Period:
        found = Period()
        for day, row in per_day.items():
            if day >= since:
                found.activities += row["total"]
                found.checked += row["checked"]
                found.compliant += row["compliant"]
                found.not_compliant += row["not_compliant"]
        found.recordings = sum(n for day, n in stored_per_day.items() if day >= since)
        return found

    days = [today - datetime.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    chart = bar_chart(
        title=_("近 7 天执法活动"),
        x_title=_("日期"),
        y_title=_("活动数（个）"),
        series=[Series(_("执法活动"), "s1"), Series(_("符合要求"), "s2")],
        groups=[f"{d:%m-%d}" for d in days],
        values=[
            [
                float(per_day.get(d, {}).get("total", 0)),
                float(per_day.get(d, {}).get("compliant", 0)),
            ]
            for d in days
        ],
        fmt=lambda v: f"{v:.0f}" if v == int(v) else f"{v:.1f}",
        y_max=float(_nice_count(max((r["total"] for r in per_day.values()), default=0))),
        chart_id="week-chart",
        tick_count=4,
    )
    return Figures(today=period(today), week=period(week_start), week_start=week_start, chart=chart)


def _nice_count(value: int) -> int:
    """An axis top for counts that divides into four whole ticks."""
    top = max(value, 4)
    return top + (-top % 4)
