"""Fixity checks (完整性校验): re-read stored originals and compare their SHA-256.

Oldest-checked first; every live original is due again after `FV_FIXITY_PERIOD_DAYS`, so a
full sweep completes within that period as long as the periodic job's runs keep up (the
report says how many are overdue). A mismatch or a missing object raises an alert: a row,
an audit event and a live event to the unit's supervisors and storage admins.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, Gone, NotFound
from backend.footage.models import Recording, RecordingState
from backend.footage.storage import object_store, original_version
from backend.retention import conf
from backend.retention.models import FixityAlert, FixityCheck, FixityOutcome, RecordingRetention
from media.object_store import READ_CHUNK
from sync.events import groups_for_unit_path, publish

logger = logging.getLogger(__name__)


@dataclass
class FixityRunReport:
    checked: int = 0
    ok: int = 0
    failed: list[str] = field(default_factory=list)
    bytes_read: int = 0
    seconds: float = 0.0
    overdue_remaining: int = 0

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes_read / 1e6 / self.seconds if self.seconds else 0.0


def fixity_quota(*, interval_seconds: float) -> int:
    """How many originals one run checks when runs come every `interval_seconds`, so that
    every live original is re-read within FV_FIXITY_PERIOD_DAYS (10 % headroom); never fewer
    than FV_FIXITY_RUN_LIMIT."""
    live = (
        RecordingRetention.objects.filter(destroyed_at__isnull=True)
        .exclude(recording__storage_key="")
        .count()
    )
    period_seconds = conf.fixity_period_days() * 86400
    runs = max(period_seconds / max(interval_seconds, 1.0), 1.0)
    return max(conf.fixity_run_limit(), math.ceil(live / runs * 1.1))


def fixity_due_queryset(*, now: datetime.datetime | None = None):  # type: ignore[no-untyped-def]
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=conf.fixity_period_days())
    return (
        # destroyed_at is set in the transaction that makes the recording `destroyed`.
        RecordingRetention.objects.filter(destroyed_at__isnull=True)
        .exclude(recording__storage_key="")
        .filter(Q(last_fixity_at__isnull=True) | Q(last_fixity_at__lt=cutoff))
        .order_by(F("last_fixity_at").asc(nulls_first=True), "recording__stored_at")
    )


@dataclass(frozen=True)
class _Reading:
    outcome: str
    actual: str
    bytes_read: int
    seconds: float
    detail: str


def _missing_detail(key: str) -> str:
    """Why the key reads as missing: gone entirely, or hidden by a delete marker (a plain
    DELETE on a versioned bucket, allowed even under COMPLIANCE) over versions that remain
    and can be brought back by deleting the marker."""
    try:
        listing = object_store().client.list_object_versions(
            Bucket=settings.FV_ORIGINALS_BUCKET, Prefix=key
        )
    except Exception:  # the listing is a hint only
        return str(_("存储中找不到该对象"))
    versions = [v for v in listing.get("Versions", []) if v.get("Key") == key]
    markers = [m for m in listing.get("DeleteMarkers", []) if m.get("Key") == key]
    if versions and markers:
        return (
            _(
                "对象被删除标记遮盖（%(markers)s 个删除标记），原版本仍在（%(versions)s 个，"
                "最早版本 %(version)s）：删除该删除标记即可恢复"
            )
            % {
                "markers": len(markers),
                "versions": len(versions),
                "version": versions[-1].get("VersionId"),
            }
        )[:500]
    return str(_("存储中找不到该对象，也没有任何版本"))


def _read_and_hash(key: str, expected: str, version_id: str | None = None) -> _Reading:
    """Stream one original (the version written at ingest) from S3 and hash it. No database
    access: runs in worker threads."""
    store = object_store()
    started = time.perf_counter()
    digest = hashlib.sha256()
    read = 0
    try:
        try:
            request: dict[str, Any] = {"Bucket": settings.FV_ORIGINALS_BUCKET, "Key": key}
            if version_id:
                request["VersionId"] = version_id
            body = store.client.get_object(**request)["Body"]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}:
                return _Reading(
                    FixityOutcome.MISSING,
                    "",
                    0,
                    time.perf_counter() - started,
                    _missing_detail(key),
                )
            raise
        try:
            for chunk in body.iter_chunks(READ_CHUNK):
                digest.update(chunk)
                read += len(chunk)
        finally:
            body.close()
    except Exception as exc:  # unreachable store: an error result, not a verdict on the bytes
        return _Reading(
            FixityOutcome.ERROR, "", read, time.perf_counter() - started, str(exc)[:500]
        )
    actual = digest.hexdigest()
    if actual != expected:
        return _Reading(
            FixityOutcome.MISMATCH,
            actual,
            read,
            time.perf_counter() - started,
            str(_("重新计算的 SHA-256 与入库时不一致")),
        )
    return _Reading(FixityOutcome.OK, actual, read, time.perf_counter() - started, "")


def _record(recording: Recording, reading: _Reading) -> FixityCheck:
    with transaction.atomic():
        check = FixityCheck.objects.create(
            recording=recording,
            outcome=reading.outcome,
            expected_sha256=recording.sha256,
            actual_sha256=reading.actual,
            bytes_read=reading.bytes_read,
            seconds=reading.seconds,
            detail=reading.detail,
        )
        RecordingRetention.objects.filter(recording_id=recording.pk).update(
            last_fixity_at=check.checked_at, last_fixity_outcome=reading.outcome
        )
        if reading.outcome in {FixityOutcome.MISMATCH, FixityOutcome.MISSING}:
            _raise_alert(recording, check)
    return check


def _load(recording_ids: list[uuid.UUID]) -> list[Recording]:
    by_id = Recording.objects.select_related("device__unit", "officer__unit").in_bulk(recording_ids)
    return [by_id[i] for i in recording_ids if i in by_id]


def fixity_check_recording(*, recording_id: uuid.UUID) -> FixityCheck:
    """Re-read one original from S3, hash it, record the result (and alert on failure).
    A destroyed recording has no original left: 410 `recording_destroyed`, nothing
    recorded (a check would only raise a false "missing" alert)."""
    (recording,) = _load([recording_id])
    if recording.state == RecordingState.DESTROYED:
        raise Gone(
            _("该记录已按保存期限销毁，没有可校验的原始文件"),
            code="recording_destroyed",
            details={"recordings": [str(recording.pk)]},
        )
    return _record(
        recording,
        _read_and_hash(recording.storage_key, recording.sha256, original_version(recording)),
    )


def _raise_alert(recording: Recording, check: FixityCheck) -> None:
    message = (
        _("完整性校验失败：%(file)s（%(outcome)s）")
        % {"file": recording.file_name, "outcome": check.get_outcome_display()}
    )[:500]
    alert = FixityAlert.objects.create(
        recording=recording, check_result=check, outcome=check.outcome, message=message
    )
    audit_record(
        actor=Actor.system(),
        action="fixity.alert",
        object_type="recording",
        object_id=recording.pk,
        data={
            "outcome": check.outcome,
            "expected_sha256": check.expected_sha256,
            "actual_sha256": check.actual_sha256,
            "key": recording.storage_key,
            "alert_id": alert.pk,
            "check_id": check.pk,
        },
    )
    unit = recording.officer.unit if recording.officer else recording.device.unit
    groups = groups_for_unit_path(unit.path if unit else None)
    event = {
        "type": "fixity_alert",
        "recording_id": str(recording.pk),
        "outcome": check.outcome,
        "alert_id": alert.pk,
        "message": message,
        "at": timezone.now().isoformat(),
    }
    transaction.on_commit(lambda: publish(groups, event))
    logger.error("fixity alert for recording %s: %s", recording.pk, check.outcome)


def fixity_sweep(*, limit: int | None = None, workers: int | None = None) -> FixityRunReport:
    """Check the due originals, oldest-checked first. Reading and hashing run in a few
    threads (S3 latency and SHA-256 overlap); results are recorded in this thread."""
    limit = limit if limit is not None else conf.fixity_run_limit()
    workers = workers or conf.fixity_workers()
    report = FixityRunReport()
    started = time.perf_counter()
    due = list(fixity_due_queryset().values_list("recording_id", flat=True)[:limit])
    recordings = _load(due)
    pending: list[tuple[Recording, _Reading]] = []

    def flush() -> None:
        # One commit per few checks: under load a commit costs more than hashing 8 MB.
        with transaction.atomic():
            for recording, reading in pending:
                check = _record(recording, reading)
                report.checked += 1
                report.bytes_read += check.bytes_read
                if check.outcome == FixityOutcome.OK:
                    report.ok += 1
                else:
                    report.failed.append(f"{recording.pk}:{check.outcome}")
        pending.clear()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fixity") as pool:
        readings = pool.map(
            lambda r: _read_and_hash(r.storage_key, r.sha256, original_version(r)), recordings
        )
        for recording, reading in zip(recordings, readings, strict=True):
            pending.append((recording, reading))
            if len(pending) >= 25:
                flush()
        flush()
    report.seconds = time.perf_counter() - started
    report.overdue_remaining = fixity_due_queryset().count()
    return report


def fixity_alert_acknowledge(*, actor: User, alert_id: int) -> FixityAlert:
    """Mark an alert as seen by a storage admin; the check and the alert stay on record."""
    with transaction.atomic():
        alert = FixityAlert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise NotFound(_("没有该告警"), code="alert_not_found")
        if alert.acknowledged_at is not None:
            raise Conflict(_("该告警已确认"), code="alert_already_acknowledged")
        alert.acknowledged_by = actor
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        audit_record(
            actor=Actor.user(actor),
            action="fixity.alert_acknowledged",
            object_type="recording",
            object_id=alert.recording_id,
            data={"alert_id": alert.pk, "outcome": alert.outcome},
        )
    return alert
