"""Provisional due dates of overdue alerts, recomputed once the official holiday
arrangement of a year they cross is entered (a hook of backend.workcalendar)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from backend.audit.services import Actor, AuditEntry, audit_record_many
from backend.corrections.events import publish_overdue
from backend.corrections.models import OverdueAlert
from backend.corrections.services import overdue_event
from backend.workcalendar.selectors import working_calendar


def overdue_alerts_recompute(year: int | None, actor: Actor) -> int:
    """Recount every provisional due date on the calendar as entered now. An alert whose
    due date moved is audited with the old and new date; one that is no longer past due is
    resolved; one that moved earlier is pushed again to its office and officer."""
    calendar = working_calendar()
    today = timezone.localdate()
    changed: list[AuditEntry] = []
    earlier: list[OverdueAlert] = []
    with transaction.atomic():
        alerts = (
            OverdueAlert.objects.select_for_update(of=("self",))
            .filter(due_date_provisional=True)
            .select_related("subject__office", "officer")
            .prefetch_related("subject__schedules")
            .order_by("pk")
        )
        for alert in alerts:
            grace = next(
                (
                    s.grace_working_days
                    for s in alert.subject.schedules.all()
                    if s.kind == alert.kind
                ),
                0,
            )
            new = calendar.add_working_days(alert.period_end, grace)
            old_date = alert.due_date
            if new.date == old_date and new.provisional:
                continue
            alert.due_date, alert.due_date_provisional = new.date, new.provisional
            fields = ["due_date", "due_date_provisional"]
            if alert.resolved_at is None and new.date >= today:
                alert.resolved_at = timezone.now()  # not past due on the official calendar
                fields.append("resolved_at")
            alert.save(update_fields=fields)
            changed.append(
                AuditEntry(
                    actor=actor,
                    action="correction_overdue.due_date_recomputed",
                    object_type="overdue_alert",
                    object_id=alert.pk,
                    data={
                        "year": year,
                        "old_due_date": old_date.isoformat(),
                        "new_due_date": new.date.isoformat(),
                        "provisional": new.provisional,
                    },
                )
            )
            if new.date < old_date and alert.resolved_at is None:
                earlier.append(alert)
        if changed:
            audit_record_many(changed)
        if earlier:
            events = [
                (
                    a.subject.office.path,
                    {**overdue_event(a), "due_date_moved_from": str(_old(changed, a.pk))},
                    a.subject.name,
                )
                for a in earlier
            ]
            transaction.on_commit(lambda: publish_overdue(events))
    return len(changed)


def _old(entries: list[AuditEntry], alert_id: int) -> object:
    for entry in entries:
        if entry.object_id == alert_id and entry.data:
            return entry.data["old_due_date"]
    return None
