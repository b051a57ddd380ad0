"""Overdue alerts: scheduled contacts not done by their due date."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from backend.audit.services import Actor, audit_record
from backend.corrections.events import publish_overdue
from backend.corrections.models import (
    Contact,
    OverdueAlert,
    Subject,
)
from backend.corrections.schedules import PeriodDue, ScheduleSpec, periods_due
from backend.corrections.services.transfers import holder_on, subject_holders
from backend.workcalendar.selectors import working_calendar

# --- overdue alerts ----------------------------------------------------------------------

OVERDUE_LOOKBACK_DAYS = 120


def _contact_counts(
    subject_ids: list[uuid.UUID], since: datetime.date, until: datetime.date
) -> dict[tuple[uuid.UUID, str], list[tuple[datetime.date, int]]]:
    """Per subject and kind, contacts per local day in [since, until] (one query)."""
    rows = (
        Contact.objects.filter(
            subject_id__in=subject_ids,
            deleted_at__isnull=True,
            started_at__date__gte=since,
            started_at__date__lte=until,
        )
        .annotate(day=TruncDate("started_at"))
        .values("subject_id", "kind", "day")
        .annotate(n=Count("id"))
    )
    counts: dict[tuple[uuid.UUID, str], list[tuple[datetime.date, int]]] = {}
    for row in rows:
        counts.setdefault((row["subject_id"], row["kind"]), []).append((row["day"], row["n"]))
    return counts


def _done_in(days: list[tuple[datetime.date, int]], due: PeriodDue) -> int:
    return sum(n for day, n in days if due.period_start <= day <= due.period_end)


@dataclass(frozen=True)
class SubjectObligation:
    subject: Subject
    due: PeriodDue
    done: int


def obligations_due(
    subjects: list[Subject], *, due_from: datetime.date, due_to: datetime.date
) -> list[SubjectObligation]:
    """Every scheduled obligation whose due date lies in [due_from, due_to], with how many
    contacts were logged in its period. Subjects must have `schedules` prefetched."""
    earliest = due_from - datetime.timedelta(days=OVERDUE_LOOKBACK_DAYS)
    counts = _contact_counts([s.pk for s in subjects], earliest, due_to)
    working_days = working_calendar()
    result = []
    for subject in subjects:
        for schedule in subject.schedules.all():
            spec = ScheduleSpec(
                schedule.kind, schedule.frequency, schedule.times, schedule.grace_working_days
            )
            for due in periods_due(
                spec,
                term_start=subject.term_start,
                term_end=subject.term_end,
                due_from=due_from,
                due_to=due_to,
                working_days=working_days,
            ):
                days = counts.get((subject.pk, schedule.kind), [])
                result.append(SubjectObligation(subject, due, _done_in(days, due)))
    return result


def overdue_scan(*, today: datetime.date | None = None) -> list[OverdueAlert]:
    """Raise an alert for every obligation past its due date with too few contacts; resolve
    alerts whose contacts were logged late. Safe to run repeatedly (one alert per period).
    New alerts are pushed to the office's websocket group (and its supervisors')."""
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=OVERDUE_LOOKBACK_DAYS)
    subjects = list(
        Subject.objects.filter(term_end__gte=since, term_start__lte=today)
        .select_related("office", "responsible_officer")
        .prefetch_related("schedules")
    )
    yesterday = today - datetime.timedelta(days=1)
    # A transferred subject's obligation belongs to the office holding them on its due date.
    holders = subject_holders(subjects)
    raised: list[OverdueAlert] = []
    with transaction.atomic():
        for ob in obligations_due(subjects, due_from=since, due_to=yesterday):
            if ob.done >= ob.due.required:
                OverdueAlert.objects.filter(
                    subject=ob.subject,
                    kind=ob.due.kind,
                    period_start=ob.due.period_start,
                    resolved_at__isnull=True,
                ).update(resolved_at=timezone.now(), done=ob.done)
                continue
            office_id, officer_id = holder_on(ob.subject, ob.due.due_date, holders)
            alert, created = OverdueAlert.objects.get_or_create(
                subject=ob.subject,
                kind=ob.due.kind,
                period_start=ob.due.period_start,
                defaults={
                    "office_id": office_id,
                    "officer_id": officer_id,
                    "period_end": ob.due.period_end,
                    "due_date": ob.due.due_date,
                    "due_date_provisional": ob.due.provisional,
                    "required": ob.due.required,
                    "done": ob.done,
                },
            )
            if created:
                raised.append(alert)
        if raised:
            audit_record(
                actor=Actor.system(),
                action="correction_overdue.raised",
                object_type="overdue_alert",
                object_id="",
                data={"alert_ids": [a.pk for a in raised], "today": today.isoformat()},
            )
            events = [(a.subject.office.path, overdue_event(a), a.subject.name) for a in raised]
            transaction.on_commit(lambda: publish_overdue(events))
    return raised


def overdue_event(alert: OverdueAlert) -> dict[str, Any]:
    officer_user_id = getattr(alert.officer, "user_id", None)
    return {
        "type": "correction.overdue",
        "at": timezone.now().isoformat(),
        "alert_id": alert.pk,
        "subject_id": str(alert.subject_id),
        "office_id": alert.office_id,
        "officer_id": alert.officer_id,
        "officer_user_id": officer_user_id,
        "kind": alert.kind,
        "period_start": alert.period_start.isoformat(),
        "period_end": alert.period_end.isoformat(),
        "due_date": alert.due_date.isoformat(),
        "due_date_provisional": alert.due_date_provisional,
        "required": alert.required,
        "done": alert.done,
    }
