"""Every write of media processing: queueing, claiming, processing, retrying, re-driving.

The processing state of a recording is the project's own (``RecordingProcessing``); a job
in the queue only carries a recording id. A worker *claims* a recording with a conditional
UPDATE that takes a lease, renews the lease while it works, and finishes with a write that
is fenced by its lease token. A worker killed -9 leaves a lease that expires; the periodic
re-drive (``recordings_redrive_processing``, run by every ``fieldvault_worker``) queues the
recording again. Transient errors back off exponentially up to a cap, after which the
recording is ``failed`` with its last error kept. A file that cannot be read is ``damaged``:
a final outcome with a reason, never retried by itself.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import logging
import os
import re
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from backend.audit.services import Actor, audit_record
from backend.footage.models import (
    ProcessingState,
    Recording,
    RecordingDerivative,
    RecordingMetadata,
    RecordingProcessing,
    RecordingState,
)
from backend.footage.storage import object_store, original_version
from media.hashing import sha256_file
from media.object_store import ObjectStore
from media.pipeline import OutcomeStatus, ProcessingOutcome, ProducedFile, process_original
from media.probe import precheck
from media.reasons import MediaUnreadable, ReasonCode
from sync.events import publish_recording_event

logger = logging.getLogger(__name__)

FINAL_STATES = (ProcessingState.READY, ProcessingState.DAMAGED, ProcessingState.FAILED)
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


class OriginalFixityError(RuntimeError):
    """The bytes read back from the originals bucket do not hash to the recorded SHA-256."""


def worker_identity() -> str:
    """Host and process of this worker, recorded on the claim (N workers on N machines)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def _backoff(attempts: int) -> datetime.timedelta:
    base = settings.FV_PROCESSING_BACKOFF_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), settings.FV_PROCESSING_BACKOFF_MAX_SECONDS)
    return datetime.timedelta(seconds=seconds)


def _publish(recording_id: uuid.UUID, kind: str, **extra: Any) -> None:
    transaction.on_commit(lambda: publish_recording_event(recording_id, kind, **extra))


def _enqueue(recording_id: uuid.UUID) -> None:
    """Put a processing job in the "media" queue. A failure here is logged, not raised:
    the periodic re-drive queues the recording again."""
    from backend.footage.tasks import process_recording

    try:
        process_recording.enqueue(recording_id=str(recording_id))
    except Exception:
        logger.exception("could not enqueue processing of %s; the re-drive will", recording_id)


# -- queueing -------------------------------------------------------------------------------


def recording_processing_queue(
    *,
    recording_id: uuid.UUID,
    actor: Actor | None = None,
    reset: bool = False,
    enqueue: bool = True,
) -> bool:
    """Queue a stored recording for processing; returns whether it was queued.

    Without ``reset`` this only queues a recording that has no processing state yet (the
    hook after storage; idempotent). With ``reset`` a final outcome is cleared and the
    recording is processed again from attempt 0 (the re-process command); a recording that
    is being processed under a live lease is left alone. ``enqueue=False`` leaves the job
    to the caller (inline re-processing) or, failing that, to the re-drive.
    """
    actor = actor or Actor.system()
    now = timezone.now()
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=recording_id)
        if recording.state != RecordingState.STORED:
            return False
        processing, created = RecordingProcessing.objects.select_for_update().get_or_create(
            recording=recording,
            defaults={"state": ProcessingState.PENDING, "next_attempt_at": now, "queued_at": now},
        )
        previous = "" if created else processing.state
        if not created:
            if not reset:
                return False
            live_lease = processing.lease_until is not None and processing.lease_until > now
            if processing.state == ProcessingState.PROCESSING and live_lease:
                return False
            processing.state = ProcessingState.PENDING
            processing.attempts = 0
            processing.last_error = ""
            processing.next_attempt_at = now
            processing.queued_at = now
            processing.lease_until = None
            processing.lease_token = None
            processing.save()
        audit_record(
            actor=actor,
            action="recording.processing_queued",
            object_type="recording",
            object_id=recording.pk,
            data={"previous_state": previous, "reprocess": reset and not created},
        )
        _publish(recording.pk, "queued", processing_state=ProcessingState.PENDING)
        if enqueue:
            transaction.on_commit(lambda: _enqueue(recording_id))
    return True


def recording_processing_after_stored(recording_id: uuid.UUID) -> None:
    """Registered in ``services.AFTER_STORED_HOOKS``: a stored recording gets processed
    (unless ``FV_PROCESS_AFTER_STORE`` is off, e.g. for test suites about other things; the
    re-drive does not catch up on those either)."""
    if not getattr(settings, "FV_PROCESS_AFTER_STORE", True):
        return
    try:
        recording_processing_queue(recording_id=recording_id)
    except Exception:  # never break storage; the re-drive finds stored, unqueued recordings
        logger.exception("could not queue processing of %s", recording_id)


# -- claiming and leases ----------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    recording_id: uuid.UUID
    token: uuid.UUID
    attempt: int
    worker: str


def _claim(recording_id: uuid.UUID) -> Claim | None:
    now = timezone.now()
    token = uuid.uuid4()
    worker = worker_identity()
    due = Q(state=ProcessingState.PENDING, next_attempt_at__lte=now) | Q(
        state=ProcessingState.PROCESSING, lease_until__lt=now
    )
    claimed = (
        RecordingProcessing.objects.filter(due, pk=recording_id)
        .filter(attempts__lt=settings.FV_PROCESSING_MAX_ATTEMPTS)
        # A destroyed recording has no original left to read: never claimed again.
        .filter(recording__state=RecordingState.STORED)
        .update(
            state=ProcessingState.PROCESSING,
            attempts=F("attempts") + 1,
            lease_until=now + datetime.timedelta(seconds=settings.FV_PROCESSING_LEASE_SECONDS),
            lease_token=token,
            worker_id=worker,
            queued_at=None,
            started_at=now,
            finished_at=None,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    attempt = RecordingProcessing.objects.values_list("attempts", flat=True).get(pk=recording_id)
    return Claim(recording_id=recording_id, token=token, attempt=attempt, worker=worker)


class _LeaseKeeper:
    """Renews the lease while this process works; dies with it (kill -9 stops renewing)."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _LeaseKeeper:
        # A heartbeat on its own connection cannot update a row locked by an open outer
        # transaction (tests running jobs inside one); there the lease is not renewed.
        if not connection.in_atomic_block:
            self.thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def _run(self) -> None:
        lease = settings.FV_PROCESSING_LEASE_SECONDS
        try:
            while not self.stop_event.wait(max(lease / 3, 0.2)):
                try:
                    RecordingProcessing.objects.filter(
                        pk=self.claim.recording_id,
                        lease_token=self.claim.token,
                        state=ProcessingState.PROCESSING,
                    ).update(lease_until=timezone.now() + datetime.timedelta(seconds=lease))
                except Exception:  # a busy database: the next beat comes well before expiry
                    logger.exception("lease renewal for %s failed", self.claim.recording_id)
        finally:
            connection.close()


def _locked_if_still_ours(claim: Claim) -> RecordingProcessing | None:
    processing = (
        RecordingProcessing.objects.select_for_update()
        .filter(pk=claim.recording_id, lease_token=claim.token, state=ProcessingState.PROCESSING)
        .first()
    )
    if processing is None:
        logger.warning("lost the lease on %s before finishing", claim.recording_id)
    return processing


# -- processing --------------------------------------------------------------------------------


def recording_process(*, recording_id: uuid.UUID) -> str:
    """Process one recording if it is due and not leased; returns the outcome as a word
    (``ready``, ``damaged``, ``retry_scheduled``, ``failed``, ``not_claimed``, ``lost_lease``,
    ``destroyed`` when the recording was destroyed while it was being processed).

    Downloads the original (checking its SHA-256 on the way) into a private work directory,
    runs :func:`media.pipeline.process_original`, uploads the derivatives under their
    deterministic keys and stores metadata, derivative rows and the outcome. The original
    object is only read.
    """
    with transaction.atomic():
        claim = _claim(recording_id)
        if claim is None:
            return "not_claimed"
        audit_record(
            actor=Actor.system(),
            action="recording.processing_started",
            object_type="recording",
            object_id=recording_id,
            data={"attempt": claim.attempt, "worker": claim.worker},
        )
        _publish(recording_id, "processing", processing_state=ProcessingState.PROCESSING)
    try:
        with _LeaseKeeper(claim):
            return _run_claimed(claim)
    except Exception as exc:
        logger.exception("processing %s failed (attempt %s)", recording_id, claim.attempt)
        return _processing_failed(claim, f"{type(exc).__name__}: {exc}")


def _run_claimed(claim: Claim) -> str:
    recording = Recording.objects.select_related("device").get(pk=claim.recording_id)
    store = object_store()
    base_dir = settings.FV_PROCESSING_WORKDIR
    if base_dir:
        Path(base_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fv-process-", dir=base_dir) as tmp:
        work = Path(tmp)
        suffix = Path(recording.file_name).suffix.lower()
        original = work / ("original" + (suffix if _SAFE_SUFFIX.match(suffix) else ""))
        _download_verified(
            store,
            settings.FV_ORIGINALS_BUCKET,
            recording.storage_key,
            recording.sha256,
            original,
            version_id=original_version(recording),
        )
        original.chmod(0o444)  # the pipeline only reads it; make that a fact
        reference = _salvage_reference_if_needed(store, recording, original, work)
        outcome = process_original(
            original,
            work / "derivatives",
            reference[1] if reference else None,
            threads=settings.FV_MEDIA_THREADS,
        )
        uploaded = [
            _upload_derivative(store, produced, original_sha256=recording.sha256)
            for produced in outcome.files
        ]
        return _finish(claim, recording, outcome, uploaded, reference[0] if reference else None)


def _download_verified(
    store: ObjectStore,
    bucket: str,
    key: str,
    sha256_hex: str,
    target: Path,
    *,
    version_id: str | None = None,
) -> None:
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in store.iter_object(bucket, key, version_id=version_id):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256_hex:
        raise OriginalFixityError(
            f"{key} read back with SHA-256 {digest.hexdigest()}, recorded {sha256_hex}"
        )


def salvage_reference_for(recording: Recording) -> Recording | None:
    """An intact, ready H.264 MP4/MOV recording of the same device model, newest first."""
    model = recording.device.model_name
    if not model:
        return None
    return (
        Recording.objects.filter(
            device__model_name=model,
            state=RecordingState.STORED,
            processing__state=ProcessingState.READY,
            media_metadata__container="isobmff",
            media_metadata__video_codec="h264",
        )
        .exclude(pk=recording.pk)
        .filter(Q(media_metadata__decode_errors=0) | Q(media_metadata__decode_errors__isnull=True))
        .order_by("-processing__finished_at")
        .first()
    )


def _salvage_reference_if_needed(
    store: ObjectStore, recording: Recording, original: Path, work: Path
) -> tuple[uuid.UUID, Path] | None:
    """For a moov-less MP4 only: download the reference recording and say which it was."""
    try:
        precheck(original)
    except MediaUnreadable as error:
        if error.reason_code != ReasonCode.MOOV_MISSING:
            return None
        reference = salvage_reference_for(recording)
        if reference is None:
            return None
        target = work / "reference.mp4"
        _download_verified(
            store,
            settings.FV_ORIGINALS_BUCKET,
            reference.storage_key,
            reference.sha256,
            target,
            version_id=original_version(reference),
        )
        return reference.pk, target
    return None


@dataclass(frozen=True)
class UploadedDerivative:
    produced: ProducedFile
    bucket: str
    sha256: str
    written: bool  # False when the same bytes were already under the key


def _upload_derivative(
    store: ObjectStore, produced: ProducedFile, *, original_sha256: str
) -> UploadedDerivative:
    """Put one derivative under its deterministic key; identical bytes already there are
    left alone (a re-run writes nothing new), different bytes replace them in place."""
    bucket = settings.FV_DERIVATIVES_BUCKET
    digest = sha256_file(produced.path)
    head = store.head(bucket, produced.key)
    if head is not None and head.get("Metadata", {}).get("sha256") == digest:
        return UploadedDerivative(produced=produced, bucket=bucket, sha256=digest, written=False)
    with produced.path.open("rb") as body:
        store.client.put_object(
            Bucket=bucket,
            Key=produced.key,
            Body=body,
            ContentType=produced.content_type,
            ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
            Metadata={"sha256": digest, "original-sha256": original_sha256},
        )
    return UploadedDerivative(produced=produced, bucket=bucket, sha256=digest, written=True)


def _file_time(outcome: ProcessingOutcome) -> tuple[datetime.datetime | None, str]:
    if outcome.photo is not None and outcome.photo.taken_at_local is not None:
        if outcome.photo.taken_at is not None:
            return outcome.photo.taken_at, "exif"
        zone = settings.TIME_ZONE
        return outcome.photo.taken_at_assuming(ZoneInfo(zone)), f"exif_local_assumed_{zone}"
    if outcome.probe is not None and outcome.probe.creation_time is not None:
        return outcome.probe.creation_time, "container"
    return None, ""


def _store_metadata(recording: Recording, outcome: ProcessingOutcome) -> RecordingMetadata:
    probe = outcome.probe
    video = probe.video if probe is not None and probe.has_video else None
    audio = probe.audio if probe is not None else None
    photo = outcome.photo
    file_time, source = _file_time(outcome)
    offset: float | None = None
    disagrees = False
    if file_time is not None:
        offset = (file_time - recording.device_started_at).total_seconds()
        tolerance = settings.FV_FILE_TIME_TOLERANCE_SECONDS
        span = (recording.device_ended_at - recording.device_started_at).total_seconds()
        # Cameras stamp the start or the end of a recording: both agree.
        disagrees = not (-tolerance <= offset <= span + tolerance)
    width = photo.width if photo is not None else (video.width if video else None)
    height = photo.height if photo is not None else (video.height if video else None)
    metadata, _ = RecordingMetadata.objects.update_or_create(
        recording=recording,
        defaults={
            "kind": outcome.kind.value,
            "container": outcome.container,
            "format_name": probe.format_name if probe is not None else "",
            "video_codec": video.codec if video else "",
            "audio_codec": audio.codec if audio else "",
            "duration_seconds": probe.duration_s if probe is not None else None,
            "width": width,
            "height": height,
            "fps": video.fps if video else None,
            "decode_errors": outcome.integrity.decode_errors if outcome.integrity else None,
            "file_created_at": file_time,
            "file_time_source": source,
            "file_time_offset_seconds": offset,
            "file_time_disagrees": disagrees,
            "gps_latitude": photo.gps_latitude if photo is not None else None,
            "gps_longitude": photo.gps_longitude if photo is not None else None,
            "gps_altitude_m": photo.gps_altitude_m if photo is not None else None,
            "details": outcome.metadata(),
        },
    )
    return metadata


def _salvage_summary(outcome: ProcessingOutcome, reference_id: uuid.UUID | None) -> dict[str, Any]:
    if outcome.salvage is None:
        return {}
    summary = outcome.salvage.as_dict()
    # Work-directory paths mean nothing once the job is over; the reference is a recording.
    summary.pop("output_path", None)
    summary.pop("reference_path", None)
    summary["reference_recording_id"] = str(reference_id) if reference_id else None
    return summary


def _finish(
    claim: Claim,
    recording: Recording,
    outcome: ProcessingOutcome,
    uploaded: list[UploadedDerivative],
    reference_id: uuid.UUID | None,
) -> str:
    now = timezone.now()
    ready = outcome.status == OutcomeStatus.READY
    state = ProcessingState.READY if ready else ProcessingState.DAMAGED
    with transaction.atomic():
        processing = _locked_if_still_ours(claim)
        if processing is None:
            return "lost_lease"
        # Destruction locks the recording row too: checked under that lock, derivative rows
        # are never written for a recording destroyed while this worker was busy.
        still_stored = (
            Recording.objects.select_for_update()
            .filter(pk=recording.pk, state=RecordingState.STORED)
            .values_list("pk", flat=True)
            .first()
        )
        if still_stored is None:
            return _destroyed_while_processing(claim, processing, recording, uploaded)
        metadata = _store_metadata(recording, outcome)
        kept_profiles = []
        for item in uploaded:
            produced = item.produced
            kept_profiles.append(produced.profile)
            RecordingDerivative.objects.update_or_create(
                recording=recording,
                profile=produced.profile,
                defaults={
                    "profile_version": produced.profile_version,
                    "bucket": item.bucket,
                    "key": produced.key,
                    "content_type": produced.content_type,
                    "size_bytes": produced.size_bytes,
                    "sha256": item.sha256,
                    "width": produced.width,
                    "height": produced.height,
                },
            )
        # A profile no longer produced (e.g. now damaged) is no longer offered.
        recording.derivatives.exclude(profile__in=kept_profiles).delete()
        damage = outcome.damage.as_dict() if outcome.damage else {}
        processing.state = state
        processing.reason_code = outcome.damage.code.value if outcome.damage else ""
        processing.reason = damage
        processing.warnings = [warning.as_dict() for warning in outcome.warnings]
        processing.salvage = _salvage_summary(outcome, reference_id)
        processing.notes = list(outcome.notes)
        processing.last_error = ""
        processing.lease_until = None
        processing.lease_token = None
        processing.next_attempt_at = None
        processing.finished_at = now
        processing.elapsed_seconds = round(outcome.elapsed_s, 3)
        processing.save()
        audit_record(
            actor=Actor.system(),
            action=f"recording.processing_{state}",
            object_type="recording",
            object_id=recording.pk,
            data={
                "attempt": claim.attempt,
                "worker": claim.worker,
                "reason_codes": outcome.reason_codes,
                "damage": {k: damage[k] for k in ("code", "message_zh", "message_en") if damage},
                "decode_errors": metadata.decode_errors,
                "file_time_disagrees": metadata.file_time_disagrees,
                "file_time_offset_seconds": metadata.file_time_offset_seconds,
                "derivatives": [
                    {"profile": u.produced.profile, "key": u.produced.key, "written": u.written}
                    for u in uploaded
                ],
                "salvage": {
                    "recovered": outcome.salvage.recovered,
                    "method": outcome.salvage.method,
                    "recovered_seconds": outcome.salvage.recovered_seconds,
                    "reference_recording_id": str(reference_id) if reference_id else None,
                }
                if outcome.salvage
                else None,
            },
        )
        _publish(
            recording.pk,
            state,
            processing_state=state,
            reason_code=processing.reason_code,
            message=damage.get("message_zh", ""),
        )
    return str(state)


def _destroyed_while_processing(
    claim: Claim,
    processing: RecordingProcessing,
    recording: Recording,
    uploaded: list[UploadedDerivative],
) -> str:
    """The recording was destroyed after this worker claimed it: what it uploaded is
    removed again (unless a live recording of the same content shares those keys) and the
    processing ends as failed; it is never retried."""
    store = object_store()
    removed: list[str] = []
    shared = (
        Recording.objects.filter(sha256=recording.sha256, state=RecordingState.STORED)
        .exclude(pk=recording.pk)
        .exists()
    )
    for item in [] if shared else uploaded:
        try:
            store.client.delete_object(Bucket=item.bucket, Key=item.produced.key)
            removed.append(item.produced.key)
        except Exception:  # best effort: the keys are named in the audit event below
            logger.exception("could not remove %s of a destroyed recording", item.produced.key)
    processing.state = ProcessingState.FAILED
    processing.last_error = "the recording was destroyed while it was being processed"
    processing.lease_until = None
    processing.lease_token = None
    processing.next_attempt_at = None
    processing.finished_at = timezone.now()
    processing.save()
    audit_record(
        actor=Actor.system(),
        action="recording.processing_failed",
        object_type="recording",
        object_id=claim.recording_id,
        data={
            "attempt": claim.attempt,
            "worker": claim.worker,
            "error": processing.last_error,
            "gave_up": True,
            "derivatives_removed": removed,
            "derivatives_left": [u.produced.key for u in uploaded if u.produced.key not in removed],
        },
    )
    return "destroyed"


def _processing_failed(claim: Claim, error: str) -> str:
    """A transient error (S3 down, a crash in the pipeline): retry after a back-off, or
    give up at the cap with the error kept."""
    now = timezone.now()
    with transaction.atomic():
        processing = _locked_if_still_ours(claim)
        if processing is None:
            return "lost_lease"
        give_up = processing.attempts >= settings.FV_PROCESSING_MAX_ATTEMPTS
        processing.state = ProcessingState.FAILED if give_up else ProcessingState.PENDING
        processing.last_error = error[:4000]
        processing.lease_until = None
        processing.lease_token = None
        processing.next_attempt_at = None if give_up else now + _backoff(processing.attempts)
        processing.finished_at = now if give_up else None
        processing.save()
        audit_record(
            actor=Actor.system(),
            action="recording.processing_failed",
            object_type="recording",
            object_id=claim.recording_id,
            data={
                "attempt": processing.attempts,
                "worker": claim.worker,
                "error": error[:500],
                "gave_up": give_up,
                "next_attempt_at": processing.next_attempt_at.isoformat()
                if processing.next_attempt_at
                else None,
            },
        )
        kind = "failed" if give_up else "processing_retry"
        _publish(claim.recording_id, kind, processing_state=processing.state)
    return "failed" if give_up else "retry_scheduled"


# -- the periodic re-drive ----------------------------------------------------------------------


def recordings_redrive_processing(*, limit: int = 200) -> list[uuid.UUID]:
    """Queue again what is due: retries whose back-off has passed, recordings whose worker
    died (lease expired), stored recordings never queued, and jobs lost from the queue.
    Safe to run from N workers at once: each recording is taken by a conditional UPDATE.
    Returns the ids queued by this call."""
    now = timezone.now()
    requeue_before = now - datetime.timedelta(seconds=settings.FV_PROCESSING_REQUEUE_SECONDS)
    if getattr(settings, "FV_PROCESS_AFTER_STORE", True):
        for recording_id in Recording.objects.filter(
            state=RecordingState.STORED, processing__isnull=True
        ).values_list("pk", flat=True)[:limit]:
            recording_processing_queue(recording_id=recording_id)

    _give_up_on_exhausted_leases(now)

    # queued_at is set when a job is put in the queue and cleared when a job claims the
    # recording: "due and no job waiting" means queued_at is empty.
    due = Q(state=ProcessingState.PENDING, next_attempt_at__lte=now) | Q(
        state=ProcessingState.PROCESSING, lease_until__lt=now
    )
    no_job_waiting = Q(queued_at__isnull=True) | Q(queued_at__lt=requeue_before)
    candidates = list(
        RecordingProcessing.objects.filter(due)
        .filter(no_job_waiting)
        .filter(attempts__lt=settings.FV_PROCESSING_MAX_ATTEMPTS)
        .filter(recording__state=RecordingState.STORED)  # not destroyed meanwhile
        .order_by("next_attempt_at")
        .values_list("pk", "state", "queued_at", "attempts", "worker_id")[:limit]
    )
    queued: list[uuid.UUID] = []
    for recording_id, state, queued_at, attempts, worker in candidates:
        with transaction.atomic():
            # Only the re-drive that moves queued_at queues the job (N workers re-drive).
            taken = RecordingProcessing.objects.filter(
                pk=recording_id, state=state, queued_at=queued_at
            ).update(queued_at=now)
            if not taken:
                continue
            if state == ProcessingState.PROCESSING:
                audit_record(
                    actor=Actor.system(),
                    action="recording.processing_lease_expired",
                    object_type="recording",
                    object_id=recording_id,
                    data={"attempt": attempts, "worker": worker},
                )
                _close_abandoned_jobs(recording_id=recording_id, now=now)
            transaction.on_commit(lambda rid=recording_id: _enqueue(rid))  # type: ignore[misc]
        queued.append(recording_id)
    return queued


def _close_abandoned_jobs(*, recording_id: uuid.UUID, now: datetime.datetime) -> None:
    """django-tasks-db leaves a job RUNNING forever when its worker is killed. Once our
    lease says the worker holding this recording is gone, its queue row is closed as
    FAILED, so the queue's own view (admin, db_worker statistics) agrees with ours."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING,
        task_path="backend.footage.tasks.process_recording",
        args_kwargs__kwargs__recording_id=str(recording_id),
    ).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path="backend.footage.processing.WorkerLost",
        traceback=(
            "The worker running this job stopped without finishing (its processing lease "
            "expired); the recording was queued again by the re-drive."
        ),
    )


def _give_up_on_exhausted_leases(now: datetime.datetime) -> None:
    """A recording whose worker died on every attempt (e.g. killed for memory) stops here."""
    exhausted = RecordingProcessing.objects.filter(
        state=ProcessingState.PROCESSING,
        lease_until__lt=now,
        attempts__gte=settings.FV_PROCESSING_MAX_ATTEMPTS,
    ).values_list("pk", flat=True)
    for recording_id in list(exhausted):
        with transaction.atomic():
            processing = (
                RecordingProcessing.objects.select_for_update()
                .filter(pk=recording_id, state=ProcessingState.PROCESSING, lease_until__lt=now)
                .first()
            )
            if processing is None:
                continue
            error = (
                f"worker lost during attempt {processing.attempts} "
                f"({processing.worker_id}); lease expired"
            )
            processing.state = ProcessingState.FAILED
            processing.last_error = error
            processing.lease_until = None
            processing.lease_token = None
            processing.finished_at = now
            processing.save()
            audit_record(
                actor=Actor.system(),
                action="recording.processing_failed",
                object_type="recording",
                object_id=recording_id,
                data={"attempt": processing.attempts, "error": error, "gave_up": True},
            )
            _publish(recording_id, "failed", processing_state=ProcessingState.FAILED)


# -- re-processing ----------------------------------------------------------------------------


def recordings_for_reprocess(
    *, state: str = "damaged", since: datetime.datetime | None = None
) -> list[uuid.UUID]:
    """Stored recordings to process again: by processing state (``all`` = every stored
    recording, processed or not) and optionally stored since a time."""
    recordings = Recording.objects.filter(state=RecordingState.STORED)
    if state != "all":
        recordings = recordings.filter(processing__state=state)
    if since is not None:
        recordings = recordings.filter(stored_at__gte=since)
    return list(recordings.order_by("stored_at").values_list("pk", flat=True))


def recordings_reprocess(
    *,
    recording_ids: list[uuid.UUID],
    inline: bool,
    on_progress: Callable[[int, uuid.UUID, str], None] | None = None,
) -> dict[str, int]:
    """Reset and process each recording again (``inline``) or queue it for the workers.
    Returns counts per outcome word."""
    counts: dict[str, int] = {}
    for index, recording_id in enumerate(recording_ids, start=1):
        queued = recording_processing_queue(
            recording_id=recording_id, reset=True, enqueue=not inline
        )
        if not queued:
            outcome = "skipped"
        elif inline:
            outcome = recording_process(recording_id=recording_id)
        else:
            outcome = "queued"
        counts[outcome] = counts.get(outcome, 0) + 1
        if on_progress is not None:
            on_progress(index, recording_id, outcome)
    return counts
