"""Reads of the corrections app, scoped: subjects' personal data is visible only to their
justice office and the units above it (supervisors), for correction roles."""

from __future__ import annotations

import calendar
import datetime
import uuid
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from backend.accounts.models import Role, Unit, User
from backend.accounts.selectors import unit_scope_q
from backend.corrections.models import (
    IN_PERSON_KINDS,
    Contact,
    ContactKind,
    CrossCheckStatus,
    OverdueAlert,
    Subject,
)
from backend.corrections.services import holder_on, obligations_due, subject_holders

CORRECTION_READ_ROLES = {Role.CORRECTION_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN}
LOCATED_TARGET = 0.70
LOCATED_WINDOW_DAYS = 30


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
    subjects_located_30d: int
    located_share: float | None
    located_target: float
    located_meets_target: bool | None
    check_ins_due: int
    check_ins_missed: int
    check_ins_flagged: int  # check-ins of the month whose cross-check found a mismatch
    visits_due: int
    visits_done: int


def office_month_figures(
    *, office: Unit, year: int, month: int, today: datetime.date | None = None
) -> OfficeMonthFigures:
    """Figures of one office for one month (to date for the current month).

    located: subjects under supervision on the as-of day with an in-person contact
    (check-in, visit or talk; not a check-in flagged by the cross-check) in the 30 days up
    to it; missed check-ins and visits due
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
    share = len(located) / len(active) if active else None
    return OfficeMonthFigures(
        office_id=office.pk,
        month=f"{year:04d}-{month:02d}",
        as_of=as_of,
        subjects_active=len(active),
        subjects_located_30d=len(located),
        located_share=round(share, 4) if share is not None else None,
        located_target=LOCATED_TARGET,
        located_meets_target=share >= LOCATED_TARGET if share is not None else None,
        check_ins_due=sum(o.due.required for o in check_ins),
        check_ins_missed=sum(max(0, o.due.required - o.done) for o in check_ins),
        check_ins_flagged=flagged,
        visits_due=sum(o.due.required for o in visits),
        visits_done=sum(min(o.done, o.due.required) for o in visits),
    )
