"""Object locks in the store: bringing them up to each recording's retention date, and
checking them."""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Count,
    F,
    Max,
    Min,
    Q,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.audit.services import Actor, audit_record
from backend.footage.storage import object_store
from backend.retention import conf
from backend.retention.services.base import live_retentions, whole_seconds

logger = logging.getLogger(__name__)


# -- object locks ------------------------------------------------------------------------
@dataclass
class LockSyncReport:
    extended: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    holds_changed: list[str] = field(default_factory=list)
    checked: int = 0


def _key_target(key: str) -> tuple[datetime.datetime | None, bool]:
    """Expected lock date and legal-hold status of one object: the latest retention date and
    any hold over every live recording stored under that key (content-addressed keys are
    shared by identical recordings)."""
    rows = live_retentions().filter(recording__storage_key=key)
    agg = rows.aggregate(until=Max("retention_until"))
    return agg["until"], rows.filter(held=True).exists()


@dataclass
class _ObjectState:
    """What the database wants of one object, and what it last applied."""

    until: datetime.datetime
    held: bool
    applied_until: datetime.datetime | None
    applied_held: bool
    version_id: str = ""  # the version written at ingest; blank: the current one


@dataclass
class _ObjectResult:
    outcome: str  # "ok" | "missing" | "failed"
    extended_from: datetime.datetime | None = None
    extended: bool = False
    applied_until: datetime.datetime | None = None
    hold_set: bool = False
    error: str = ""


def _object_states(keys: list[str]) -> dict[str, _ObjectState]:
    rows = (
        live_retentions()
        .filter(recording__storage_key__in=keys)
        .values("recording__storage_key")
        .annotate(
            until=Max("retention_until"),
            held_count=Count("pk", filter=Q(held=True)),
            applied_until=Min("lock_until_applied"),
            unapplied=Count("pk", filter=Q(lock_until_applied__isnull=True)),
            applied_held_count=Count("pk", filter=Q(legal_hold_applied=True)),
            version_id=Max("recording__storage_version_id"),
        )
    )
    return {
        row["recording__storage_key"]: _ObjectState(
            until=row["until"],
            held=row["held_count"] > 0,
            applied_until=None if row["unapplied"] else row["applied_until"],
            applied_held=row["applied_held_count"] > 0,
            version_id=row["version_id"] or "",
        )
        for row in rows
    }


def _client_error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _sync_object(key: str, state: _ObjectState) -> _ObjectResult:
    """The S3 side for one object (no database access: runs in worker threads). Extends the
    COMPLIANCE lock of the current version when the database's date is later than what it
    last applied; only when S3 refuses (already later, missing) is the object read back."""
    store = object_store()
    bucket = settings.FV_ORIGINALS_BUCKET
    result = _ObjectResult(outcome="ok", applied_until=state.applied_until)
    version = {"VersionId": state.version_id} if state.version_id else {}
    try:
        if state.applied_until is None or whole_seconds(state.applied_until) < state.until:
            try:
                store.client.put_object_retention(
                    Bucket=bucket,
                    Key=key,
                    Retention={"Mode": "COMPLIANCE", "RetainUntilDate": state.until},
                    **version,
                )
                result.extended, result.extended_from = True, state.applied_until
                result.applied_until = state.until
            except Exception as exc:
                # Refused: the lock may already be later (the database was behind), or the
                # object is gone. Read it back to tell.
                head = store.head(bucket, key, version_id=state.version_id or None)
                if head is None:
                    return _ObjectResult(outcome="missing", error=_client_error_code(exc))
                current = head.get("ObjectLockRetainUntilDate")
                if current is None or whole_seconds(current) < state.until:
                    raise
                result.applied_until = whole_seconds(current)
        if state.held != state.applied_held:
            store.client.put_object_legal_hold(
                Bucket=bucket,
                Key=key,
                LegalHold={"Status": "ON" if state.held else "OFF"},
                **version,
            )
            result.hold_set = True
    except Exception as exc:  # S3 down or refusing: the next pass retries
        return _ObjectResult(outcome="failed", error=str(exc)[:300])
    return result


def retention_sync_locks(
    *,
    limit: int = 500,
    recording_ids: Iterable[uuid.UUID] | None = None,
    checked_before: datetime.datetime | None = None,
) -> LockSyncReport:
    """Make each object's COMPLIANCE lock and legal hold follow the database: extend the
    lock when a retention date moved later (S3 refuses a shorter date, so we never ask),
    and set the legal hold ON/OFF to match the holds. Least recently tried first;
    `checked_before` skips objects already tried since then (one pass of a loop). S3 calls
    run in FV_LOCK_SYNC_WORKERS threads; the batch's audit events and row updates are
    written in one transaction."""
    report = LockSyncReport()
    pending = (
        live_retentions()
        .exclude(recording__storage_key="")
        .filter(
            Q(lock_until_applied__isnull=True)
            | Q(retention_until__gt=F("lock_until_applied"))
            | ~Q(held=F("legal_hold_applied"))
        )
    )
    if recording_ids is not None:
        # Only those of these recordings whose object is behind (no S3 call for the rest).
        pending = pending.filter(recording_id__in=list(recording_ids))
    if checked_before is not None:
        pending = pending.filter(
            Q(lock_checked_at__isnull=True) | Q(lock_checked_at__lt=checked_before)
        )
    keys = [
        k
        for k in dict.fromkeys(
            pending.order_by(F("lock_checked_at").asc(nulls_first=True)).values_list(
                "recording__storage_key", flat=True
            )[:limit]
        )
        if k
    ]
    if not keys:
        return report
    states = _object_states(keys)
    keys = [k for k in keys if k in states]
    report.checked = len(keys)
    workers = min(conf.lock_sync_workers(), len(keys))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="locks") as pool:
            results = list(pool.map(lambda k: _sync_object(k, states[k]), keys))
    else:
        results = [_sync_object(k, states[k]) for k in keys]
    now = timezone.now()
    with transaction.atomic():
        for key, result in zip(keys, results, strict=True):
            state = states[key]
            rows = live_retentions().filter(recording__storage_key=key)
            if result.outcome != "ok":
                (report.missing if result.outcome == "missing" else report.failed).append(key)
                logger.warning("lock sync for %s: %s %s", key, result.outcome, result.error)
                rows.update(lock_checked_at=now)
                continue
            if result.extended:
                report.extended.append(key)
                audit_record(
                    actor=Actor.system(),
                    action="retention.lock_extended",
                    object_type="object",
                    object_id=key[-64:],
                    data={
                        "key": key,
                        "from": result.extended_from.isoformat() if result.extended_from else None,
                        "to": state.until.isoformat(),
                    },
                )
            if result.hold_set:
                report.holds_changed.append(key)
                audit_record(
                    actor=Actor.system(),
                    action="retention.legal_hold_object",
                    object_type="object",
                    object_id=key[-64:],
                    data={"key": key, "status": "ON" if state.held else "OFF"},
                )
            rows.update(
                lock_until_applied=whole_seconds(result.applied_until)
                if result.applied_until
                else None,
                legal_hold_applied=state.held,
                lock_checked_at=now,
            )
    return report


@dataclass
class LockDisagreement:
    key: str
    recording_ids: list[str]
    database_until: datetime.datetime
    object_until: datetime.datetime | None
    database_held: bool
    object_held: bool | None
    problem: str


def retention_check_locks(*, limit: int | None = None) -> list[LockDisagreement]:
    """Compare, object by object, the latest database retention date (and hold) with the
    lock date (and legal hold) read from S3. Returns every disagreement."""
    store = object_store()
    bucket = settings.FV_ORIGINALS_BUCKET
    keys_qs = (
        live_retentions()
        .exclude(recording__storage_key="")
        .values("recording__storage_key")
        .annotate(until=Max("retention_until"), version_id=Max("recording__storage_version_id"))
        .order_by("recording__storage_key")
    )
    if limit:
        keys_qs = keys_qs[:limit]
    problems = []
    for entry in keys_qs:
        key = entry["recording__storage_key"]
        target, held = _key_target(key)
        if target is None:
            continue
        ids = [
            str(i)
            for i in live_retentions()
            .filter(recording__storage_key=key)
            .values_list("recording_id", flat=True)
        ]
        head = store.head(bucket, key, version_id=entry["version_id"] or None)
        if head is None:
            problems.append(
                LockDisagreement(key, ids, target, None, held, None, str(_("对象不存在")))
            )
            continue
        until = head.get("ObjectLockRetainUntilDate")
        object_held = head.get("ObjectLockLegalHoldStatus") == "ON"
        problem = ""
        if until is None or head.get("ObjectLockMode") != "COMPLIANCE":
            problem = str(_("对象未处于 COMPLIANCE 锁定"))
        elif whole_seconds(until) < target:
            problem = str(_("对象锁定早于保存期限（待延长或延长失败）"))
        elif whole_seconds(until) > target:
            problem = str(_("对象锁定晚于保存期限"))
        elif object_held != held:
            problem = str(_("保全状态与对象法定保留不一致"))
        if problem:
            problems.append(LockDisagreement(key, ids, target, until, held, object_held, problem))
    return problems


def retention_sync_locks_for(*, seconds: float, batch: int = 500) -> LockSyncReport:
    """Extend locks / set legal holds in batches until none is behind or `seconds` have
    passed (the periodic pass: after a policy change hundreds of thousands may be behind).
    Each object is tried at most once per call."""
    started = timezone.now()
    deadline = time.monotonic() + seconds
    total = LockSyncReport()
    while time.monotonic() < deadline:
        report = retention_sync_locks(limit=batch, checked_before=started)
        for name in ("extended", "missing", "failed", "holds_changed"):
            getattr(total, name).extend(getattr(report, name))
        total.checked += report.checked
        if report.checked == 0:  # nothing behind any more (or all tried once)
            break
    return total
