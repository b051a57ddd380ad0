"""Reads for storage admins and approvers: storage facts (sizes, hashes, dates, units,
categories), never content. Capacity figures for the command, the API and the charts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from backend.footage.models import Recording, RecordingState
from backend.retention.models import DestructionRegisterEntry, RecordingRetention


def live_stored_recordings() -> QuerySet[Recording]:
    return Recording.objects.filter(state=RecordingState.STORED).filter(
        Q(retention__isnull=True) | Q(retention__destroyed_at__isnull=True)
    )


@dataclass
class CapacityReport:
    total_bytes: int = 0
    total_count: int = 0
    by_unit: list[dict[str, Any]] = field(default_factory=list)
    by_category: list[dict[str, Any]] = field(default_factory=list)
    by_month: list[dict[str, Any]] = field(default_factory=list)
    growth: list[dict[str, Any]] = field(default_factory=list)
    bytes_per_month: float = 0.0
    projected_12_months_bytes: int = 0
    projection: list[dict[str, Any]] = field(default_factory=list)
    # How the rate was measured: bytes stored from `rate_since` to today (`rate_days` days,
    # today included) — the last 12 months, or since the first original if that is later.
    rate_since: datetime.date | None = None
    rate_days: int = 0
    rate_bytes: int = 0


DAYS_PER_MONTH = 365.2425 / 12
SHORT_MEASUREMENT_DAYS = 30


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope and intercept (slope 0 with fewer than two points)."""
    if len(points) < 2:
        return 0.0, points[0][1] if points else 0.0
    n = len(points)
    mean_x = sum(p[0] for p in points) / n
    mean_y = sum(p[1] for p in points) / n
    var = sum((p[0] - mean_x) ** 2 for p in points)
    if var == 0:
        return 0.0, mean_y
    slope = sum((p[0] - mean_x) * (p[1] - mean_y) for p in points) / var
    return slope, mean_y - slope * mean_x


def capacity_report(*, today: datetime.date | None = None) -> CapacityReport:
    """Bytes and counts of the live originals by unit, retention category and month stored;
    growth over the last 12 months and a projection of the next 12 from the measured rate."""
    today = today or timezone.localdate()
    base = live_stored_recordings()
    report = CapacityReport()
    totals = base.aggregate(bytes=Sum("size_bytes"), count=Count("pk"))
    report.total_bytes = int(totals["bytes"] or 0)
    report.total_count = int(totals["count"] or 0)
    unit_name = Coalesce("officer__unit__name", "device__unit__name")
    report.by_unit = [
        {
            "unit": row["unit"] or "（未归属单位）",
            "bytes": int(row["bytes"] or 0),
            "count": row["count"],
        }
        for row in base.annotate(unit=unit_name)
        .values("unit")
        .annotate(bytes=Sum("size_bytes"), count=Count("pk"))
        .order_by("-bytes")
    ]
    report.by_category = [
        {
            "category": row["retention__policy__category"] or "default",
            "policy": row["retention__policy__name"] or "系统默认",
            "bytes": int(row["bytes"] or 0),
            "count": row["count"],
        }
        for row in base.values("retention__policy__category", "retention__policy__name")
        .annotate(bytes=Sum("size_bytes"), count=Count("pk"))
        .order_by("-bytes")
    ]
    months = {
        row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]: (
            int(row["bytes"] or 0),
            row["count"],
        )
        for row in base.annotate(month=TruncMonth("stored_at"))
        .values("month")
        .annotate(bytes=Sum("size_bytes"), count=Count("pk"))
        .order_by("month")
        if row["month"] is not None
    }
    first_stored_at = base.aggregate(first=Min("stored_at"))["first"]
    first_stored = timezone.localdate(first_stored_at) if first_stored_at else None
    report.by_month = [
        {"month": month.strftime("%Y-%m"), "bytes": b, "count": c}
        for month, (b, c) in sorted(months.items())
    ]
    this_month = _month_start(today)
    first = _add_months(this_month, -11)
    before = sum(b for m, (b, _c) in months.items() if m < first)
    cumulative = before
    for offset in range(12):
        month = _add_months(first, offset)
        added, count = months.get(month, (0, 0))
        cumulative += added
        report.growth.append(
            {
                "month": month.strftime("%Y-%m"),
                "added_bytes": added,
                "added_count": count,
                "total_bytes": cumulative,
            }
        )
    # The growth rate is measured, not fitted: what was stored over the window divided by
    # its days. (A line fitted to the 12 cumulative totals, as before, runs below today's
    # total whenever the holdings started within the year, so the projection came out
    # equal to today's.) The projection starts from today's total and adds the rate;
    # destructions are not subtracted (they are not planned ahead).
    window_start = min(max(today - datetime.timedelta(days=365), first_stored or today), today)
    report.rate_since = window_start
    report.rate_days = (today - window_start).days + 1
    report.rate_bytes = int(
        base.filter(stored_at__date__gte=window_start, stored_at__date__lte=today).aggregate(
            bytes=Sum("size_bytes")
        )["bytes"]
        or 0
    )
    per_day = report.rate_bytes / report.rate_days
    report.bytes_per_month = per_day * DAYS_PER_MONTH
    for ahead in range(1, 13):
        month = _add_months(this_month, ahead)
        # Projected at the end of that month.
        month_end = _add_months(month, 1) - datetime.timedelta(days=1)
        report.projection.append(
            {
                "month": month.strftime("%Y-%m"),
                "total_bytes": int(report.total_bytes + per_day * (month_end - today).days),
            }
        )
    report.projected_12_months_bytes = report.projection[-1]["total_bytes"]
    return report


def retention_rows_for_storage_admin() -> QuerySet[RecordingRetention]:
    return RecordingRetention.objects.select_related("recording", "policy").order_by(
        "retention_until"
    )


def register_entries() -> QuerySet[DestructionRegisterEntry]:
    return DestructionRegisterEntry.objects.order_by("number")
