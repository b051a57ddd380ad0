"""The reads behind the metrics: small indexed sets only (states before `stored`, open
alerts, the last reconciliation), never a count of every recording."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Min

from backend.footage.models import Recording, RecordingState
from backend.retention.models import FixityAlert, LegalHold, StorageReconciliation

IN_FLIGHT = (RecordingState.ANNOUNCED, RecordingState.RECEIVING, RecordingState.VERIFIED)


def recordings_in_flight() -> dict[str, int]:
    """Recordings not yet stored, by state (the (state, …) index; one query)."""
    counts = {state.value: 0 for state in IN_FLIGHT}
    rows = (
        Recording.objects.filter(state__in=IN_FLIGHT)
        .values("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["state"]] = row["n"]
    return counts


def oldest_waiting_for_storage() -> datetime.datetime | None:
    """When the oldest verified (not yet stored) recording was last changed: the age of the
    storage queue, i.e. how long a device has been waiting to be told `stored`."""
    found: datetime.datetime | None = Recording.objects.filter(
        state=RecordingState.VERIFIED
    ).aggregate(oldest=Min("updated_at"))["oldest"]
    return found


def fixity_alerts_open() -> int:
    return FixityAlert.objects.filter(acknowledged_at__isnull=True).count()


def legal_holds_active() -> int:
    return LegalHold.objects.filter(released_at__isnull=True).count()


def last_reconciliation() -> StorageReconciliation | None:
    return StorageReconciliation.objects.order_by("-finished_at", "-pk").first()


# -- issue 29: processing queue, leases, latency, fixity, destruction -------------------------


def jobs_ready_by_queue() -> dict[str, tuple[int, datetime.datetime | None]]:
    """Queued jobs (django-tasks-db, status READY: its partial index) by queue: how many and
    the oldest enqueue time."""
    from django_tasks_db.models import DBTaskResult

    rows = (
        DBTaskResult.objects.filter(status="READY")
        .values("queue_name")
        .annotate(n=Count("pk"), oldest=Min("enqueued_at"))
        .order_by()
    )
    return {row["queue_name"]: (row["n"], row["oldest"]) for row in rows}


def processing_by_state() -> dict[str, int]:
    """Media processing not yet final (pending, processing), by state ((state, …) index)."""
    from backend.footage.models import ProcessingState, RecordingProcessing

    counts = {ProcessingState.PENDING.value: 0, ProcessingState.PROCESSING.value: 0}
    rows = (
        RecordingProcessing.objects.filter(state__in=list(counts))
        .values("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["state"]] = row["n"]
    return counts


def leases_expired(now: datetime.datetime) -> dict[str, int]:
    """Leases whose holder did not renew them: storage (a verified recording being written)
    and media processing; each (state, lease) indexed."""
    from backend.footage.models import ProcessingState, RecordingProcessing

    return {
        "storage": Recording.objects.filter(
            state=RecordingState.VERIFIED, storage_lease_until__lt=now
        ).count(),
        "processing": RecordingProcessing.objects.filter(
            state=ProcessingState.PROCESSING, lease_until__lt=now
        ).count(),
    }


def safe_to_delete_seconds(since: datetime.datetime, window: int = 500) -> tuple[int, float, float]:
    """For the latest `window` recordings created since `since` ((created_at, id) index)
    and stored: how many, and the mean and longest time from their upload completing (the
    device has sent every byte) to `stored` (the device may delete)."""
    from sync.models import Upload

    latest = (
        Recording.objects.filter(created_at__gte=since, state=RecordingState.STORED)
        .order_by("-created_at", "-id")
        .values_list("pk", "stored_at")[:window]
    )
    stored_at = {pk: at for pk, at in latest if at is not None}
    completed: dict[Any, datetime.datetime] = {}
    rows = Upload.objects.filter(
        recording_id__in=list(stored_at), completed_at__isnull=False
    ).values_list("recording_id", "completed_at")
    for recording_id, at in rows:
        if at is not None and (recording_id not in completed or at < completed[recording_id]):
            completed[recording_id] = at
    waits = [(stored_at[pk] - at).total_seconds() for pk, at in completed.items()]
    if not waits:
        return 0, 0.0, 0.0
    return len(waits), sum(waits) / len(waits), max(waits)


def fixity_outcomes_recent(since: datetime.datetime, window: int = 5000) -> dict[str, int]:
    """Fixity results since `since` among the latest `window` checks (by primary key: no
    scan of the whole history)."""
    from backend.retention.models import FixityCheck, FixityOutcome

    counts = {outcome.value: 0 for outcome in FixityOutcome}
    latest = FixityCheck.objects.order_by("-pk").values("outcome", "checked_at")[:window]
    for row in latest:
        if row["checked_at"] >= since:
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    return counts


def destructions_recorded() -> int:
    """Entries of the destruction register (one per destroyed original; a small table)."""
    from backend.retention.models import DestructionRegisterEntry

    return DestructionRegisterEntry.objects.count()
