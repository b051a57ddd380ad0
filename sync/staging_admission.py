"""Admission to the staging volume: one device (or one huge clip) cannot fill it for all.

A clip gets an upload URL from the manifest only when its announced size fits:
  * under FV_STAGING_UPLOAD_MAX_BYTES (the largest clip staged at all);
  * within the device's cap, FV_STAGING_DEVICE_MAX_BYTES, counting the announced sizes of
    the device's open uploads (a device that announces and vanishes blocks only its share);
  * within FV_STAGING_QUOTA_BYTES (0: no quota), counting every open upload's announced
    size and every verified clip still staged for S3;
  * within the free space of FV_STAGING_DIR less FV_STAGING_HEADROOM_BYTES, counting the
    bytes every open upload has still to send.
Otherwise the clip is answered `insufficient_storage` (no URL; the device keeps the clip
and asks again later). An upload already admitted is never taken back: its device can
always finish it. Abandoned partials are reclaimed by `staging_reclaim_abandoned`.

Admission is serialised across processes: the budget is read, spent and the admitted
uploads created under one lock held to the end of the transaction that creates them
(`ManifestAdmission`), so two manifests arriving together cannot both spend the same
free space.
"""

from __future__ import annotations

import datetime
import logging
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from backend.footage.models import RecordingState
from sync.models import Upload, UploadState

logger = logging.getLogger(__name__)


def _disk_free(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(directory).free


def _open_uploads(now: datetime.datetime) -> Any:
    return Upload.objects.filter(state=UploadState.RECEIVING, expires_at__gt=now)


def _awaiting_storage() -> Any:
    return Upload.objects.filter(
        state=UploadState.COMPLETE, recording__state=RecordingState.VERIFIED
    )


def _sum(queryset: Any, expression: Any) -> int:
    return int(queryset.aggregate(total=Coalesce(Sum(expression), 0))["total"])


@dataclass
class StagingBudget:
    """What is left to admit, read once per manifest and spent clip by clip."""

    upload_max: int
    device_left: int
    quota_left: int | None
    disk_left: int
    refused: list[tuple[str, str, int]] = field(default_factory=list)

    @classmethod
    def read(cls, *, device_id: Any, now: datetime.datetime) -> StagingBudget:
        open_uploads = _open_uploads(now)
        device_reserved = _sum(open_uploads.filter(device_id=device_id), "length")
        outstanding = _sum(open_uploads, F("length") - F("offset"))
        quota = settings.FV_STAGING_QUOTA_BYTES
        quota_left = None
        if quota:
            reserved = _sum(open_uploads, "length") + _sum(_awaiting_storage(), "length")
            quota_left = quota - reserved
        disk_left = (
            _disk_free(Path(settings.FV_STAGING_DIR))
            - settings.FV_STAGING_HEADROOM_BYTES
            - outstanding
        )
        return cls(
            upload_max=settings.FV_STAGING_UPLOAD_MAX_BYTES,
            device_left=settings.FV_STAGING_DEVICE_MAX_BYTES - device_reserved,
            quota_left=quota_left,
            disk_left=disk_left,
        )

    def admit(self, clip_id: str, needed: int) -> str | None:
        """Spend `needed` bytes, or say why not (None: admitted)."""
        if needed > self.upload_max:
            reason = "clip_larger_than_staging_limit"
        elif needed > self.device_left:
            reason = "device_staging_cap"
        elif self.quota_left is not None and needed > self.quota_left:
            reason = "staging_quota"
        elif needed > self.disk_left:
            reason = "staging_disk_full"
        else:
            self.device_left -= needed
            self.disk_left -= needed
            if self.quota_left is not None:
                self.quota_left -= needed
            return None
        self.refused.append((clip_id, reason, needed))
        return reason


# pg_advisory_xact_lock key of staging admission ("FVSTAGE" in ASCII).
ADMISSION_LOCK_KEY = 0x46565354414745


def staging_admission_lock() -> None:
    """Hold the admission lock until the current transaction ends.

    PostgreSQL: a transaction-scoped advisory lock (every process, every host). SQLite (the
    embedded stack): its transactions begin IMMEDIATE, which already takes the one write
    lock of the database, so admissions there are serialised by the transaction itself.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("staging admission must run inside the transaction that admits")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADMISSION_LOCK_KEY])


class ManifestAdmission:
    """Admission for one manifest, chunk by chunk: the first clip of a chunk that needs an
    upload takes the lock and reads a fresh budget; the lock is held until the chunk's
    transaction (which creates the admitted uploads) commits. A chunk opening no upload
    takes no lock."""

    def __init__(self, *, device_id: Any, now: datetime.datetime) -> None:
        self.device_id = device_id
        self.now = now
        self.refused: list[tuple[str, str, int]] = []
        self._budget: StagingBudget | None = None

    def begin_chunk(self) -> None:
        self._budget = None

    def admit(self, clip_id: str, needed: int) -> str | None:
        if self._budget is None:
            staging_admission_lock()
            self._budget = StagingBudget.read(device_id=self.device_id, now=self.now)
        reason = self._budget.admit(clip_id, needed)
        if reason is not None:
            self.refused.append((clip_id, reason, needed))
        return reason


REFUSAL_DETAILS = {
    "clip_larger_than_staging_limit": "the clip is larger than the server can stage; keep it "
    "and tell the administrator",
    "device_staging_cap": "this device's uploads in progress use its whole staging share; "
    "finish them, then sync again",
    "staging_quota": "the server's staging space is taken by uploads in progress; keep the "
    "clip and sync again later",
    "staging_disk_full": "the server's staging disk is nearly full; keep the clip and sync "
    "again later",
}


@dataclass(frozen=True)
class StagingUser:
    device_id: uuid.UUID
    serial: str
    uploads: int
    bytes: int


@dataclass(frozen=True)
class StagingPressure:
    """For the dashboard: how full staging is and who uses it."""

    disk_free: int
    headroom: int
    quota: int
    reserved: int
    staged_for_storage: int
    refusals_last_day: int
    top_devices: list[StagingUser]
    abandon_days: int

    @property
    def alarming(self) -> bool:
        if self.refusals_last_day:
            return True
        if self.disk_free < 2 * self.headroom:
            return True
        return bool(self.quota) and self.reserved + self.staged_for_storage > 0.8 * self.quota


def staging_pressure(*, now: datetime.datetime | None = None) -> StagingPressure:
    from backend.audit.models import AuditEvent

    now = now or timezone.now()
    open_uploads = _open_uploads(now)
    top = (
        open_uploads.values("device_id", "device__serial")
        .annotate(uploads=Count("pk"), reserved=Coalesce(Sum("length"), 0))
        .order_by("-reserved")[:5]
    )
    return StagingPressure(
        disk_free=_disk_free(Path(settings.FV_STAGING_DIR)),
        headroom=settings.FV_STAGING_HEADROOM_BYTES,
        quota=settings.FV_STAGING_QUOTA_BYTES,
        reserved=_sum(open_uploads, "length"),
        staged_for_storage=_sum(_awaiting_storage(), "length"),
        refusals_last_day=AuditEvent.objects.filter(
            action="staging.admission_refused", occurred_at__gte=now - datetime.timedelta(days=1)
        ).count(),
        top_devices=[
            StagingUser(
                device_id=row["device_id"],
                serial=row["device__serial"],
                uploads=row["uploads"],
                bytes=row["reserved"],
            )
            for row in top
        ],
        abandon_days=settings.FV_STAGING_ABANDON_DAYS,
    )
