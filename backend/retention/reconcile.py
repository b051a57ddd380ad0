"""Reconciliation of the database with the originals bucket: the proof that a restore (or
any day's database) and the bucket agree.

Every recording that holds an original (a storage key, not destroyed) must have its object
at its recorded key and VersionId, and the key is the content address of its SHA-256
(`originals/sha256/..`), so a listing of the bucket's versions proves all three without a
request per row; a random sample is re-read whole and re-hashed, and its stored `sha256`
metadata compared. Object versions that no recording knows (what a lost commit leaves: the
device was told `stored`, the database no longer knows it) are listed with the metadata
they carry (device, clip id, SHA-256) and, after a restore, re-attached as recordings where
that metadata suffices (backend/footage/recovery.py). The audit chain is verified too.

One walk of the database (keyset over the primary key, `iterator`) and one paginated
listing of the bucket: memory holds the bucket's key → versions map, ~100 bytes per
version (a county's 100k originals a year: ~10 MB).
"""

from __future__ import annotations

import datetime
import logging
import random
from typing import Any

from django.conf import settings
from django.utils import timezone

from backend.audit.services import Actor, audit_record, audit_verify
from backend.footage.models import Recording, RecordingState
from backend.footage.recovery import recording_recover_after_restore
from backend.footage.storage import object_store
from backend.retention.models import ReconciliationTrigger, StorageReconciliation
from media.object_store import ObjectStore, ObjectStoreError, original_key

logger = logging.getLogger(__name__)

RECONCILE_LIST_LIMIT = 500
ORIGINALS_PREFIX = "originals/"


def _bucket_versions(store: ObjectStore, bucket: str) -> dict[str, dict[str, dict[str, Any]]]:
    """key → version id → {size, last_modified} of every object version (no delete markers)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    paginator = store.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=ORIGINALS_PREFIX):
        for version in page.get("Versions", []):
            found.setdefault(version["Key"], {})[str(version.get("VersionId") or "null")] = {
                "size": int(version.get("Size", 0)),
                "last_modified": version["LastModified"].isoformat(),
            }
    return found


def _problem(recording: Recording, problem: str, **extra: Any) -> dict[str, Any]:
    return {
        "recording": str(recording.pk),
        "key": recording.storage_key,
        "version_id": recording.storage_version_id,
        "problem": problem,
        **extra,
    }


def storage_reconcile(
    *,
    trigger: str = ReconciliationTrigger.MANUAL,
    rehash_sample: int = 5,
    reattach: bool | None = None,
) -> StorageReconciliation:
    """Compare every stored recording with the originals bucket; record and return the result.

    reattach (default: after a restore): an object no recording knows whose metadata suffices
    is re-attached (backend/footage/recovery.py) and counted in `reattached_count`; the
    others stay listed as orphans."""
    if reattach is None:
        reattach = trigger == ReconciliationTrigger.AFTER_RESTORE
    started = timezone.now()
    store = object_store()
    bucket = settings.FV_ORIGINALS_BUCKET
    try:
        versions = _bucket_versions(store, bucket)
    except Exception as exc:  # an unreachable bucket is a result too, not a crash
        raise ObjectStoreError(f"listing {bucket} failed: {exc}") from exc
    run = StorageReconciliation(started_at=started, trigger=trigger)
    run.objects_listed = sum(len(v) for v in versions.values())
    problems: list[dict[str, Any]] = []
    known: dict[str, set[str]] = {}
    verified: list[Recording] = []
    rows = (
        Recording.objects.exclude(storage_key="", state__in=_WITHOUT_ORIGINAL)
        .only("id", "state", "sha256", "storage_key", "storage_version_id")
        .order_by("pk")
    )
    for recording in rows.iterator(chunk_size=2000):
        known.setdefault(recording.storage_key, set()).add(recording.storage_version_id or "")
        if recording.state == RecordingState.DESTROYED:
            continue  # its original is gone by design; its key is still known
        run.recordings_checked += 1
        if not recording.storage_key:
            problems.append(_problem(recording, "no_key"))
            run.missing_count += 1
            continue
        if recording.storage_key != original_key(recording.sha256):
            problems.append(_problem(recording, "key_not_content_address"))
            run.mismatch_count += 1
            continue
        at_key = versions.get(recording.storage_key, {})
        wanted = recording.storage_version_id
        if not at_key or (wanted and wanted not in at_key):
            problems.append(_problem(recording, "missing" if not at_key else "version_missing"))
            run.missing_count += 1
            continue
        run.recordings_ok += 1
        if len(verified) < 50_000:  # the re-hash sample is drawn from these
            verified.append(recording)
    for recording in random.sample(verified, min(rehash_sample, len(verified))):
        version = recording.storage_version_id or None
        head = store.head(bucket, recording.storage_key, version_id=version) or {}
        recorded = head.get("Metadata", {}).get("sha256")
        actual = store.sha256_of_object(bucket, recording.storage_key, version_id=version)
        run.rehashed += 1
        if recorded != recording.sha256 or actual != recording.sha256:
            problems.append(
                _problem(recording, "hash_mismatch", metadata_sha256=recorded, actual=actual)
            )
            run.mismatch_count += 1
            run.recordings_ok -= 1
    orphans: list[dict[str, Any]] = []
    for key, at_key in sorted(versions.items()):
        for version_id, facts in at_key.items():
            known_versions = known.get(key, set())
            # "" : a row stored before versions were recorded reads the key, any version.
            if version_id in known_versions or "" in known_versions:
                continue
            head = store.head(bucket, key, version_id=version_id) or {}
            meta = head.get("Metadata", {})
            outcome = ""
            if reattach:
                outcome, _recording_id = recording_recover_after_restore(
                    key=key,
                    version_id=version_id,
                    size=int(facts["size"]),
                    last_modified=datetime.datetime.fromisoformat(facts["last_modified"]),
                    metadata=meta,
                )
                if outcome in {"recreated", "attached_existing"}:
                    run.reattached_count += 1
                    continue
            run.orphan_count += 1
            if len(orphans) < RECONCILE_LIST_LIMIT:
                orphans.append(
                    {
                        "key": key,
                        "version_id": version_id,
                        **facts,
                        "sha256": meta.get("sha256", ""),
                        "device_id": meta.get("device-id", ""),
                        "clip_id": meta.get("clip-id", ""),
                        "not_reattached": outcome,
                    }
                )
    chain = audit_verify()
    run.audit_events_checked = chain.checked
    run.audit_chain_intact = chain.intact
    if not chain.intact:
        problems += [{"problem": "audit_chain", "detail": text} for text in chain.problems[:20]]
    run.problems = problems[:RECONCILE_LIST_LIMIT]
    run.orphans = orphans
    run.finished_at = timezone.now()
    run.save()
    audit_record(
        actor=Actor.system(),
        action="storage.reconciled",
        object_type="storage_reconciliation",
        object_id=run.pk,
        data={
            "trigger": trigger,
            "clean": run.is_clean,
            "recordings_checked": run.recordings_checked,
            "missing": run.missing_count,
            "mismatch": run.mismatch_count,
            "orphans": run.orphan_count,
            "reattached": run.reattached_count,
            "audit_chain_intact": run.audit_chain_intact,
        },
    )
    logger.info("storage reconciliation %s: clean=%s", run.pk, run.is_clean)
    return run


# Rows that never held an original (no bytes yet, or bytes refused) are not compared.
_WITHOUT_ORIGINAL = [
    RecordingState.ANNOUNCED,
    RecordingState.RECEIVING,
    RecordingState.VERIFIED,
    RecordingState.MISMATCH,
]
