"""The reads behind the metrics: small indexed sets only (states before `stored`, open
alerts, the last reconciliation), never a count of every recording."""

from __future__ import annotations

import datetime

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
