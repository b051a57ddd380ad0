"""What a local day commits to, in a deterministic order: every recording stored that day
(by stored_at, then id), every document added to an access request's file that day (by
uploaded_at, then id), then the day's last audit-chain entry."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

from backend.audit.models import AuditEvent
from backend.footage.models import Recording
from backend.integrity.models import LeafKind
from backend.review.models import AccessDocument
from provenance.statements import canonical


@dataclass(frozen=True)
class LeafData:
    kind: str
    object_id: str
    data: bytes


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[local midnight of `day`, local midnight of the next day)."""
    zone = local_zone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    return start, end


def local_date(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(local_zone()).date()


def _utc_text(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat()


def recording_leaf(recording: Recording) -> LeafData:
    assert recording.stored_at is not None
    return LeafData(
        LeafKind.RECORDING,
        str(recording.pk),
        canonical(
            {
                "kind": LeafKind.RECORDING.value,
                "recording": str(recording.pk),
                "sha256": recording.sha256,
                "size": recording.size_bytes,
                "device": str(recording.device_id),
                "clip_id": recording.clip_id,
                "stored_at": _utc_text(recording.stored_at),
            }
        ),
    )


def audit_leaf(event: AuditEvent) -> LeafData:
    return LeafData(
        LeafKind.AUDIT_CHAIN,
        str(event.sequence),
        canonical(
            {
                "kind": LeafKind.AUDIT_CHAIN.value,
                "sequence": event.sequence,
                "entry_hash": event.entry_hash,
                "occurred_at": _utc_text(event.occurred_at),
            }
        ),
    )


def document_leaf(document: AccessDocument) -> LeafData:
    return LeafData(
        LeafKind.ACCESS_DOCUMENT,
        str(document.pk),
        canonical(
            {
                "kind": LeafKind.ACCESS_DOCUMENT.value,
                "document": str(document.pk),
                "request": str(document.request_id),
                "document_kind": document.kind,
                "sha256": document.sha256,
                "size": document.size_bytes,
                "uploaded_at": _utc_text(document.uploaded_at),
            }
        ),
    )


def day_leaves(day: datetime.date) -> Iterator[LeafData]:
    """The day's leaves as the database holds them now."""
    start, end = day_bounds(day)
    recordings = (
        Recording.objects.filter(stored_at__gte=start, stored_at__lt=end)
        .only("id", "sha256", "size_bytes", "device_id", "clip_id", "stored_at")
        .order_by("stored_at", "id")
    )
    for recording in recordings.iterator(chunk_size=5000):
        yield recording_leaf(recording)
    documents = AccessDocument.objects.filter(uploaded_at__gte=start, uploaded_at__lt=end).order_by(
        "uploaded_at", "id"
    )
    for document in documents.iterator(chunk_size=5000):
        yield document_leaf(document)
    last_event = (
        AuditEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .order_by("-sequence")
        .first()
    )
    if last_event is not None:
        yield audit_leaf(last_event)


def first_day_with_leaves() -> datetime.date | None:
    moments = [
        Recording.objects.filter(stored_at__isnull=False)
        .order_by("stored_at")
        .values_list("stored_at", flat=True)
        .first(),
        AuditEvent.objects.order_by("sequence").values_list("occurred_at", flat=True).first(),
        AccessDocument.objects.order_by("uploaded_at")
        .values_list("uploaded_at", flat=True)
        .first(),
    ]
    known = [moment for moment in moments if moment is not None]
    return local_date(min(known)) if known else None
