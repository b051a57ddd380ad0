"""Recording timeliness (上传及时性) for supervisors: per unit, how long from a clip's end
to its storage (median, p90, share within 24 h) for clips recorded in a month, clips
announced but not stored after 24 h, and devices silent — assigned to an officer and not
heard from for N working days (the camera that never docks, which an announced-clips
count cannot see).

Reads are bounded by the month (recordings' indexed start time) and the user's units;
PostgreSQL computes the percentiles (percentile_cont), one grouped query per figure."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.db.models import Aggregate, Count, F, FloatField, Q
from django.db.models.functions import Extract
from django.utils import timezone

from backend.accounts.models import User
from backend.accounts.selectors import unit_scope_q
from backend.devices.models import Device, DeviceKind, DeviceState, LedgerState
from backend.footage.models import Recording, RecordingState
from backend.workcalendar.selectors import working_calendar

DAY_SECONDS = 86400
SILENT_WORKING_DAYS = 3
RECORDING_KINDS = (DeviceKind.BODY_CAMERA, DeviceKind.HANDHELD)


class Percentile(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: object, fraction: float) -> None:
        super().__init__(expression, fraction=float(fraction))


@dataclass(frozen=True)
class UnitTimeliness:
    unit: str
    recorded: int
    stored: int
    median_hours: float | None
    p90_hours: float | None
    within_24h_percent: float | None
    not_stored_after_24h: int


@dataclass(frozen=True)
class SilentDevice:
    device_id: uuid.UUID
    serial: str
    unit: str
    officer: str
    last_seen: datetime.datetime | None
    working_days_silent: int


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime(month.year, month.month, 1))
    following = datetime.datetime(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, timezone.make_aware(following)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def timeliness_by_unit(user: User, month: datetime.date) -> list[UnitTimeliness]:
    start, end = month_bounds(month)
    late = timezone.now() - datetime.timedelta(days=1)
    delay = Extract(F("stored_at") - F("ended_at"), "epoch")
    stored = Q(stored_at__isnull=False)
    rows = (
        Recording.objects.filter(
            unit_scope_q(user, unit_field="device__unit"),
            started_at__gte=start,
            started_at__lt=end,
        )
        .values("device__unit__name")
        .annotate(
            recorded=Count("id"),
            stored=Count("id", filter=stored),
            median=Percentile(delay, 0.5),
            p90=Percentile(delay, 0.9),
            within=Count(
                "id", filter=stored & Q(stored_at__lte=F("ended_at") + datetime.timedelta(days=1))
            ),
            missing=Count(
                "id",
                filter=Q(
                    state__in=(
                        RecordingState.ANNOUNCED,
                        RecordingState.RECEIVING,
                        RecordingState.MISMATCH,
                    ),
                    ended_at__lt=late,
                ),
            ),
        )
        .order_by("device__unit__name")
    )
    return [
        UnitTimeliness(
            unit=row["device__unit__name"] or "—",
            recorded=row["recorded"],
            stored=row["stored"],
            median_hours=_hours(row["median"]),
            p90_hours=_hours(row["p90"]),
            within_24h_percent=round(100 * row["within"] / row["stored"], 1)
            if row["stored"]
            else None,
            not_stored_after_24h=row["missing"],
        )
        for row in rows
    ]


def silent_devices(
    user: User, *, today: datetime.date | None = None, working_days: int = SILENT_WORKING_DAYS
) -> list[SilentDevice]:
    """Recording devices in use (token active, ledger 在用: one away for repair, lost or
    retired is not an alarm every day), assigned to an officer now, not heard from for
    `working_days` working days (never heard from: counted from enrolment)."""
    today = today or timezone.localdate()
    calendar = working_calendar()
    rows = (
        Device.objects.filter(
            unit_scope_q(user, unit_field="unit"),
            kind__in=RECORDING_KINDS,
            state=DeviceState.ACTIVE,
            ledger=LedgerState.IN_USE,
            assignments__ends_at__isnull=True,
        )
        .values(
            "id",
            "serial",
            "unit__name",
            "assignments__officer__name",
            "last_seen_at",
            "enrolled_at",
        )
        .order_by("last_seen_at", "serial")[:500]
    )
    found = []
    for row in rows:
        heard = row["last_seen_at"] or row["enrolled_at"]
        if heard is None:
            continue
        days = calendar.working_days_between(timezone.localtime(heard).date(), today)
        if days >= working_days:
            found.append(
                SilentDevice(
                    device_id=row["id"],
                    serial=row["serial"],
                    unit=row["unit__name"] or "—",
                    officer=row["assignments__officer__name"] or "—",
                    last_seen=row["last_seen_at"],
                    working_days_silent=days,
                )
            )
    return found


@dataclass(frozen=True)
class MonthCases:
    month: int
    cases_filed: int
    reviews_concluded: int


def cases_by_month(user: User, year: int) -> list[MonthCases]:
    """Cases filed and legal reviews concluded (an opinion given) per month of `year`
    (Asia/Shanghai), in the user's units: two grouped queries, twelve rows."""
    from django.db.models.functions import ExtractMonth

    from backend.cases.models import Case, LegalReview

    filed = dict(
        Case.objects.filter(unit_scope_q(user, unit_field="unit"), filed_on__year=year)
        .annotate(m=ExtractMonth("filed_on"))
        .values("m")
        .annotate(n=Count("pk"))
        .values_list("m", "n")
    )
    concluded = dict(
        LegalReview.objects.filter(
            unit_scope_q(user, unit_field="case__unit"),
            opinion_at__isnull=False,
            opinion_at__year=year,
        )
        .annotate(m=ExtractMonth("opinion_at"))
        .values("m")
        .annotate(n=Count("pk"))
        .values_list("m", "n")
    )
    return [MonthCases(m, filed.get(m, 0), concluded.get(m, 0)) for m in range(1, 13)]
