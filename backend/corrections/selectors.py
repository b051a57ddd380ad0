"""Reads of the corrections app, scoped: subjects' personal data is visible only to their
justice office and the units above it (supervisors), for correction roles."""

from __future__ import annotations

import calendar
import datetime
import uuid
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy

from backend.accounts.models import Role, Unit, User
from backend.accounts.selectors import unit_scope_q
from backend.corrections.models import (
    IN_PERSON_KINDS,
    Contact,
    ContactKind,
    CrossCheckStatus,
    OverdueAlert,
    Position,
    PositionEvent,
    Subject,
)
from backend.corrections.services import holder_on, obligations_due, subject_holders

CORRECTION_READ_ROLES = {Role.CORRECTION_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN}
LOCATED_TARGET = 0.70
LOCATED_WINDOW_DAYS = 30
# A position counts toward 定位率 when its accuracy is known to be within this (or not
# reported, as base-station fixes often are) and it is not a tamper event.
VALID_ACCURACY_M = 1000.0
LOCATED_DEFINITION = gettext_lazy(
    "定位率 = 当日有有效定位（手机定位或电子腕带，精度 1000 米以内，非拆改报警）的矫正对象数 ÷ "
    "当日在册矫正对象数；月定位率按人日合计：各日有效定位人数之和 ÷ 各日在册人数之和。"
)


def _may_read(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in CORRECTION_READ_ROLES)


def subjects_visible_to(user: User) -> QuerySet[Subject]:
    base = Subject.objects.select_related("office", "responsible_officer")
    if not _may_read(user):
        return base.none()
    return base.filter(unit_scope_q(user, unit_field="office"))


def subject_get_visible(*, user: User, subject_id: str) -> Subject | None:
    try:
        key = uuid.UUID(subject_id)
    except ValueError:
        return None
    return subjects_visible_to(user).prefetch_related("schedules", "team").filter(pk=key).first()


def contacts_of_subject(subject: Subject, *, limit: int = 100) -> list[Contact]:
    return list(
        Contact.objects.filter(subject=subject, deleted_at__isnull=True)
        .select_related("officer")
        .prefetch_related("recordings")
        .order_by("-started_at")[:limit]
    )


def alerts_visible_to(user: User, *, open_only: bool = True) -> QuerySet[OverdueAlert]:
    base = OverdueAlert.objects.select_related("subject", "office", "officer").order_by(
        "due_date", "pk"
    )
    if not _may_read(user):
        return base.none()
    qs = base.filter(unit_scope_q(user, unit_field="office"))
    return qs.filter(resolved_at__isnull=True) if open_only else qs


def offices_visible_to(user: User) -> QuerySet[Unit]:
    if not _may_read(user):
        return Unit.objects.none()
    if user.role == Role.SYSTEM_ADMIN:
        return Unit.objects.all()
    if user.unit is None:
        return Unit.objects.none()
    return Unit.objects.filter(path__startswith=user.unit.path)


@dataclass(frozen=True)
class OfficeMonthFigures:
    office_id: int
    month: str
    as_of: datetime.date
    subjects_active: int
    # 定位率 of the as-of day (subjects with a valid position that day ÷ under correction).
    subjects_located_day: int
    located_day_share: float | None
    # 定位率 of the month to the as-of day, in subject-days.
    located_subject_days: int
    active_subject_days: int
    located_share: float | None
    located_target: float
    located_meets_target: bool | None
    # The former stand-in, kept as a figure of its own: in-person contact in 30 days.
    subjects_contacted_30d: int
    check_ins_due: int
    check_ins_missed: int
    check_ins_flagged: int  # check-ins of the month whose cross-check found a mismatch
    visits_due: int
    visits_done: int


def office_month_figures(
    *, office: Unit, year: int, month: int, today: datetime.date | None = None
) -> OfficeMonthFigures:
    """Figures of one office for one month (to date for the current month).

    定位率 (located): see `LOCATED_DEFINITION` and `located_by_day`. contacted: subjects
    under supervision on the as-of day with an in-person contact (check-in, visit or talk;
    not a check-in flagged by the cross-check) in the 30 days up to it; missed check-ins
    and visits due
    count the scheduled obligations of periods ending in the month whose due date passed.
    """
    today = today or timezone.localdate()
    first = datetime.date(year, month, 1)
    last = datetime.date(year, month, calendar.monthrange(year, month)[1])
    as_of = min(last, today)
    # A transferred subject counts under the office holding them on the day in question (the
    # new office from the transfer's effective date): as-of day for active/located, the due
    # date for obligations, the local day of a flagged check-in.
    subjects = list(
        Subject.objects.filter(
            Q(office=office) | Q(transfers__from_office=office) | Q(transfers__to_office=office),
            term_start__lte=last,
            term_end__gte=first,
        )
        .distinct()
        .prefetch_related("schedules")
    )
    holders = subject_holders(subjects)

    def held_on(subject: Subject, day: datetime.date) -> bool:
        return holder_on(subject, day, holders)[0] == office.pk

    by_id = {s.pk: s for s in subjects}
    active = [s for s in subjects if s.term_start <= as_of <= s.term_end and held_on(s, as_of)]
    window_start = as_of - datetime.timedelta(days=LOCATED_WINDOW_DAYS - 1)
    # A check-in whose footage contradicts it (the video-call spoof) locates nobody.
    located = set(
        Contact.objects.filter(
            subject_id__in=[s.pk for s in active],
            kind__in=IN_PERSON_KINDS,
            deleted_at__isnull=True,
            started_at__date__gte=window_start,
            started_at__date__lte=as_of,
        )
        .exclude(crosscheck_status=CrossCheckStatus.MISMATCH)
        .values_list("subject_id", flat=True)
    )
    flagged_rows = Contact.objects.filter(
        subject_id__in=list(by_id),
        kind=ContactKind.CHECK_IN,
        deleted_at__isnull=True,
        crosscheck_status=CrossCheckStatus.MISMATCH,
        started_at__date__gte=first,
        started_at__date__lte=last,
    ).values_list("subject_id", "started_at")
    flagged = sum(
        1
        for subject_id, started_at in flagged_rows
        if held_on(by_id[subject_id], timezone.localdate(started_at))
    )
    # Obligations of periods ending in the month whose deadline has passed (a deadline
    # can fall into the next month: holidays, grace days).
    due_to = min(last + datetime.timedelta(days=60), today - datetime.timedelta(days=1))
    candidates = obligations_due(subjects, due_from=first, due_to=due_to) if due_to >= first else []
    obligations = [
        o
        for o in candidates
        if first <= o.due.period_end <= last and held_on(o.subject, o.due.due_date)
    ]
    check_ins = [o for o in obligations if o.due.kind == ContactKind.CHECK_IN]
    visits = [o for o in obligations if o.due.kind == ContactKind.HOME_VISIT]
    days = located_by_day(
        office=office, subjects=subjects, holders=holders, first=first, last=as_of
    )
    located_days = sum(d.located for d in days)
    active_days = sum(d.active for d in days)
    share = located_days / active_days if active_days else None
    day = days[-1] if days else LocatedDay(as_of, 0, 0)
    return OfficeMonthFigures(
        office_id=office.pk,
        month=f"{year:04d}-{month:02d}",
        as_of=as_of,
        subjects_active=len(active),
        subjects_located_day=day.located,
        located_day_share=round(day.located / day.active, 4) if day.active else None,
        located_subject_days=located_days,
        active_subject_days=active_days,
        located_share=round(share, 4) if share is not None else None,
        located_target=LOCATED_TARGET,
        located_meets_target=share >= LOCATED_TARGET if share is not None else None,
        subjects_contacted_30d=len(located),
        check_ins_due=sum(o.due.required for o in check_ins),
        check_ins_missed=sum(max(0, o.due.required - o.done) for o in check_ins),
        check_ins_flagged=flagged,
        visits_due=sum(o.due.required for o in visits),
        visits_done=sum(min(o.done, o.due.required) for o in visits),
    )


@dataclass(frozen=True)
class LocatedDay:
    day: datetime.date
    located: int  # subjects under correction that day with a valid position that day
    active: int  # subjects under correction that day, held by the office


def _valid_positions() -> QuerySet[Position]:
    return Position.objects.filter(
        Q(accuracy_m__isnull=True) | Q(accuracy_m__lte=VALID_ACCURACY_M)
    ).exclude(event=PositionEvent.TAMPER)


def located_by_day(
    *,
    office: Unit,
    subjects: list[Subject],
    holders: dict[uuid.UUID, list[tuple[datetime.date | None, int, int]]],
    first: datetime.date,
    last: datetime.date,
) -> list[LocatedDay]:
    """定位率 per day from `first` to `last` (local days): a subject counts on a day when
    their term covers it and the office holds them that day (the new office from a
    transfer's effective day); they are located when a valid position of theirs was
    recorded that local day (one query: the distinct subject-days)."""
    if last < first or not subjects:
        return [
            LocatedDay(first + datetime.timedelta(days=i), 0, 0)
            for i in range((last - first).days + 1)
        ]
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(first, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        last + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    pairs = set(
        _valid_positions()
        .filter(
            subject_id__in=[s.pk for s in subjects], recorded_at__gte=start, recorded_at__lt=end
        )
        .annotate(day=TruncDate("recorded_at", tzinfo=zone))
        .values_list("subject_id", "day")
        .distinct()
    )
    result = []
    day = first
    while day <= last:
        active = [
            s
            for s in subjects
            if s.term_start <= day <= s.term_end and holder_on(s, day, holders)[0] == office.pk
        ]
        located = sum(1 for s in active if (s.pk, day) in pairs)
        result.append(LocatedDay(day, located, len(active)))
        day += datetime.timedelta(days=1)
    return result


def office_year_located(
    *, office: Unit, year: int, today: datetime.date | None = None
) -> LocatedDay:
    """The year's 定位率 of one office in subject-days (to date for the current year):
    `day` is the last day counted."""
    today = today or timezone.localdate()
    first = datetime.date(year, 1, 1)
    last = min(datetime.date(year, 12, 31), today)
    subjects = list(
        Subject.objects.filter(
            Q(office=office) | Q(transfers__from_office=office) | Q(transfers__to_office=office),
            term_start__lte=last,
            term_end__gte=first,
        ).distinct()
    )
    holders = subject_holders(subjects)
    located = active = 0
    month_start = first
    while month_start <= last:
        month_end = min(
            datetime.date(
                month_start.year,
                month_start.month,
                calendar.monthrange(month_start.year, month_start.month)[1],
            ),
            last,
        )
        for d in located_by_day(
            office=office, subjects=subjects, holders=holders, first=month_start, last=month_end
        ):
            located += d.located
            active += d.active
        month_start = month_end + datetime.timedelta(days=1)
    return LocatedDay(last, located, active)
