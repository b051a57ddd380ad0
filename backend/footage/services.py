"""Every write to recordings: announcing, receiving, verifying and storing originals."""

from __future__ import annotations

import datetime
import logging
import threading
import uuid
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from backend.audit.services import Actor, audit_record
from backend.footage.models import Recording, RecordingState, RecordingStateChange
from backend.footage.storage import object_store
from media.object_store import IntegrityMismatch, ObjectStoreError
from sync.events import publish_recording_event
from sync.models import Upload, UploadState

logger = logging.getLogger(__name__)


def recording_transition(
    *, recording: Recording, to_state: str, detail: dict[str, Any] | None = None
) -> None:
    """Move a (locked) recording to a new state and keep the history row."""
    RecordingStateChange.objects.create(
        recording=recording, from_state=recording.state, to_state=to_state, detail=detail or {}
    )
    recording.state = to_state


def recording_upload_received(*, upload_id: uuid.UUID, sha256: str) -> None:
    """Called by the tus endpoint once the last byte of an upload is persisted.

    Compares the whole-file SHA-256 computed while receiving with the declared one. On a
    match the recording becomes `verified` and storage is scheduled; otherwise the bytes are
    moved aside for investigation, the recording is `mismatch` and the next manifest asks
    the device to send the clip again. Idempotent: a second call changes nothing.
    """
    with transaction.atomic():
        upload = Upload.objects.select_for_update().select_related("device").get(pk=upload_id)
        recording = Recording.objects.select_for_update().get(pk=upload.recording_id)
        if upload.state != UploadState.RECEIVING:
            return
        now = timezone.now()
        upload.received_sha256 = sha256
        upload.completed_at = now
        actor = Actor.device(upload.device)
        if sha256 == upload.declared_sha256 == recording.sha256:
            upload.state = UploadState.COMPLETE
            upload.save(update_fields=["received_sha256", "completed_at", "state", "updated_at"])
            recording_transition(
                recording=recording,
                to_state=RecordingState.VERIFIED,
                detail={"upload_id": str(upload.pk)},
            )
            recording.storage_next_attempt_at = now
            recording.save(update_fields=["state", "storage_next_attempt_at", "updated_at"])
            audit_record(
                actor=actor,
                action="recording.verified",
                object_type="recording",
                object_id=recording.pk,
                data={"upload_id": str(upload.pk), "sha256": sha256, "size": upload.offset},
            )
            recording_id = recording.pk
            transaction.on_commit(lambda: publish_recording_event(recording_id, "verified"))
            transaction.on_commit(lambda: recording_store_dispatch(recording_id=recording_id))
        else:
            upload.state = UploadState.MISMATCH
            upload.save(update_fields=["received_sha256", "completed_at", "state", "updated_at"])
            _keep_mismatched_bytes(upload)
            recording_transition(
                recording=recording,
                to_state=RecordingState.MISMATCH,
                detail={"upload_id": str(upload.pk), "received_sha256": sha256},
            )
            recording.save(update_fields=["state", "updated_at"])
            audit_record(
                actor=actor,
                action="recording.hash_mismatch",
                object_type="recording",
                object_id=recording.pk,
                data={
                    "upload_id": str(upload.pk),
                    "declared_sha256": upload.declared_sha256,
                    "received_sha256": sha256,
                    "size": upload.offset,
                    "kept_at": str(upload.mismatch_path),
                },
            )
            recording_id = recording.pk
            transaction.on_commit(lambda: publish_recording_event(recording_id, "mismatch"))


def _keep_mismatched_bytes(upload: Upload) -> None:
    target = upload.mismatch_path
    target.parent.mkdir(parents=True, exist_ok=True)
    if upload.staging_path.exists():
        upload.staging_path.replace(target)  # same filesystem: a rename, nothing copied


def recording_store_dispatch(*, recording_id: uuid.UUID) -> None:
    """Start storing a verified recording now. The periodic re-drive catches anything this
    misses (a killed process, S3 down), so this is only the fast path."""
    mode = getattr(settings, "FV_STORE_DISPATCH", "thread")
    if mode == "sync":
        recording_store(recording_id=recording_id)
    elif mode == "thread":

        def run() -> None:
            try:
                recording_store(recording_id=recording_id)
            finally:
                close_old_connections()

        threading.Thread(target=run, name=f"store-{recording_id}", daemon=True).start()
    elif mode == "task":
        from backend.footage.tasks import store_recording

        try:
            store_recording.enqueue(recording_id=str(recording_id))
        except Exception:  # the worker's periodic re-drive stores it anyway
            logger.exception("could not enqueue storing of %s", recording_id)
    # mode "redrive": leave it to the worker's periodic pass


def _storage_backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


def recording_store(*, recording_id: uuid.UUID) -> str:
    """Write a verified recording's staged bytes to object storage under Object Lock.

    Takes a lease so that two workers never store the same recording at once; a worker
    killed mid-way leaves a lease that simply expires. Returns the outcome as a word.
    """
    now = timezone.now()
    lease_until = now + datetime.timedelta(seconds=settings.FV_STORAGE_LEASE_SECONDS)
    claimed = (
        Recording.objects.filter(pk=recording_id, state=RecordingState.VERIFIED)
        .filter(Q(storage_lease_until__isnull=True) | Q(storage_lease_until__lt=now))
        .update(storage_lease_until=lease_until, storage_attempts=F("storage_attempts") + 1)
    )
    if not claimed:
        return "not_claimed"
    recording = Recording.objects.select_related("device").get(pk=recording_id)
    upload = recording.uploads.filter(state=UploadState.COMPLETE).order_by("-completed_at").first()
    if upload is None or not upload.staging_path.exists():
        return _storage_failed(recording, "staged bytes not found", permanent=True)
    retain_until = now + datetime.timedelta(days=settings.FV_ORIGINAL_RETENTION_DAYS)
    try:
        stored = object_store().put_original(
            bucket=settings.FV_ORIGINALS_BUCKET,
            path=upload.staging_path,
            sha256_hex=recording.sha256,
            retain_until=retain_until,
            metadata={"device-id": str(recording.device_id), "clip-id": recording.clip_id[:100]},
        )
    except IntegrityMismatch as exc:
        return _storage_failed(recording, str(exc), permanent=True)
    except ObjectStoreError as exc:
        return _storage_failed(recording, str(exc), permanent=False)
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=recording_id)
        if recording.state != RecordingState.VERIFIED:
            return "already_stored"
        recording_transition(
            recording=recording,
            to_state=RecordingState.STORED,
            detail={"key": stored.key, "version_id": stored.version_id},
        )
        recording.storage_key = stored.key
        recording.stored_at = timezone.now()
        recording.storage_lease_until = None
        recording.storage_last_error = ""
        recording.storage_next_attempt_at = None
        recording.save()
        audit_record(
            actor=Actor.system(),
            action="recording.stored",
            object_type="recording",
            object_id=recording.pk,
            data={
                "bucket": stored.bucket,
                "key": stored.key,
                "version_id": stored.version_id,
                "sha256": recording.sha256,
                "size": stored.size,
                "deduplicated": stored.already_present,
                "object_lock": "COMPLIANCE",
                "retain_until": retain_until.isoformat(),
            },
        )
        staged = upload.staging_path
        transaction.on_commit(lambda: staged.unlink(missing_ok=True))
        transaction.on_commit(lambda: publish_recording_event(recording_id, "stored"))
        transaction.on_commit(lambda: _after_stored(recording_id))
    return "stored"


def _after_stored(recording_id: uuid.UUID) -> None:
    # Later stages (media processing) register here without this module importing them.
    for hook in AFTER_STORED_HOOKS:
        hook(recording_id)


AFTER_STORED_HOOKS: list[Any] = []


def _storage_failed(recording: Recording, error: str, *, permanent: bool) -> str:
    attempts = recording.storage_attempts
    give_up = permanent or attempts >= settings.FV_STORAGE_MAX_ATTEMPTS
    next_attempt = None if give_up else timezone.now() + _storage_backoff(attempts)
    Recording.objects.filter(pk=recording.pk).update(
        storage_lease_until=None,
        storage_last_error=error[:2000],
        storage_next_attempt_at=next_attempt,
    )
    audit_record(
        actor=Actor.system(),
        action="recording.storage_failed",
        object_type="recording",
        object_id=recording.pk,
        data={
            "error": error[:500],
            "attempt": attempts,
            "gave_up": give_up,
            "next_attempt_at": next_attempt.isoformat() if next_attempt else None,
        },
    )
    logger.warning("storing recording %s failed (attempt %s): %s", recording.pk, attempts, error)
    publish_recording_event(recording.pk, "storage_failed")
    return "gave_up" if give_up else "retry_scheduled"


def recordings_redrive_storage(*, limit: int = 200) -> list[uuid.UUID]:
    """The periodic re-drive: store every verified recording that is due and not leased."""
    now = timezone.now()
    due = list(
        Recording.objects.filter(state=RecordingState.VERIFIED, storage_next_attempt_at__lte=now)
        .filter(Q(storage_lease_until__isnull=True) | Q(storage_lease_until__lt=now))
        .order_by("storage_next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for recording_id in due:
        recording_store(recording_id=recording_id)
    return due
