"""Publication deadlines of inspections (双随机抽查结果 20 个工作日内公示): counted on the one
working-day calendar, provisional while a year they cross has no official arrangement, and
recomputed when it is entered (a hook of backend.workcalendar)."""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backend.audit.services import Actor, AuditEntry, audit_record_many
from backend.inspections.models import Inspection, InspectionStatus
from backend.workcalendar.days import Deadline
from backend.workcalendar.selectors import working_calendar
from sync.events import groups_for_unit_path, publish
from sync.records.services import records_commit, records_lock

PUBLICATION_WORKING_DAYS = 20  # 双随机抽查结果 20 个工作日内公示 (shared/DOMAIN.md)


def publication_deadline(departed_at: datetime.datetime) -> Deadline:
    """20 working days after the visit (its local day in Asia/Shanghai)."""
    local_day = timezone.localtime(departed_at).date()
    return working_calendar().add_working_days(local_day, PUBLICATION_WORKING_DAYS)


def publication_deadlines_recompute(year: int | None, actor: Actor) -> int:
    """Recount every provisional (or missing) publication deadline. Each change is audited
    with the old and new date and reaches the tablets' copies; a deadline that moved earlier
    is pushed to the live view of the unit and the units above it (its managers) and to the
    inspectors' tablets. Idempotent; returns how many deadlines changed."""
    from backend.inspections.services import _with_detail, inspection_copy

    pending = list(
        Inspection.objects.filter(
            Q(publish_by_provisional=True) | Q(publish_by__isnull=True),
            status=InspectionStatus.CONCLUDED,
            departed_at__isnull=False,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not pending:
        return 0
    changed: list[AuditEntry] = []
    earlier: list[tuple[str, dict[str, object]]] = []
    with transaction.atomic():
        records_lock(pending)
        rows = Inspection.objects.select_for_update().select_related("unit").filter(pk__in=pending)
        for inspection in rows.order_by("pk"):
            assert inspection.departed_at is not None
            new = publication_deadline(inspection.departed_at)
            old = inspection.publish_by
            if old == new.date and inspection.publish_by_provisional == new.provisional:
                continue
            Inspection.objects.filter(pk=inspection.pk).update(
                publish_by=new.date, publish_by_provisional=new.provisional
            )
            changed.append(
                AuditEntry(
                    actor=actor,
                    action="inspection.publish_by_recomputed",
                    object_type="inspection",
                    object_id=inspection.pk,
                    data={
                        "year": year,
                        "old_publish_by": old.isoformat() if old else None,
                        "new_publish_by": new.date.isoformat(),
                        "provisional": new.provisional,
                    },
                )
            )
            if old is not None and new.date < old and inspection.published_at is None:
                earlier.append((inspection.unit.path, _earlier_event(inspection.pk, old, new.date)))
        if changed:
            audit_record_many(changed)
            ids = [uuid.UUID(str(entry.object_id)) for entry in changed]
            records_commit([inspection_copy(_with_detail(pk)) for pk in ids])
        if earlier:
            transaction.on_commit(lambda: _publish(earlier))
    return len(changed)


def _earlier_event(
    inspection_id: uuid.UUID, old: datetime.date, new: datetime.date
) -> dict[str, object]:
    return {
        "type": "inspection.publish_by_earlier",
        "at": timezone.now().isoformat(),
        "inspection_id": str(inspection_id),
        "old_publish_by": old.isoformat(),
        "publish_by": new.isoformat(),
    }


def _publish(events: list[tuple[str, dict[str, object]]]) -> None:
    for path, event in events:
        publish(groups_for_unit_path(path), event)
