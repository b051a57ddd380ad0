"""The manifest: a device says what it holds; the server says what it still needs."""

from __future__ import annotations

import datetime
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, PayloadTooLarge
from backend.devices.models import Device
from backend.devices.services import (
    AssignmentIndex,
    device_clock_offset_ms,
    device_clock_record,
)
from backend.footage.models import Recording, RecordingState, RecordingStateChange
from media.garbage_collection import collector_paused
from sync.models import Upload, UploadState
from sync.schemas import ClipIn
from sync.staging_admission import REFUSAL_DETAILS, ManifestAdmission

# Longer than the longest sleep of SQLite's busy handler (100 ms) between two attempts.
SQLITE_WRITER_GAP_SECONDS = 0.11
# How long a manifest's chunks may hold SQLite's write lock before it pauses for others.
SQLITE_LOCK_SLICE_SECONDS = 0.25


@dataclass(frozen=True)
class ClipAnswer:
    clip_id: str
    status: str
    recording_id: str
    offset: int = 0
    upload_url: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class ManifestAnswer:
    server_time: datetime.datetime
    clock_offset_ms: int
    clips: list[ClipAnswer]


def display_file_name(name: str, fallback: str) -> str:
    """A file name safe to show: no directories, no control characters. Never used as a path."""
    cleaned = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    base = PurePosixPath(cleaned.replace("\\", "/")).name.strip()
    if base in {"", ".", ".."}:
        base = fallback
    return base[:255]


@dataclass
class _Known:
    """What the reconciliation needs of a recording, read without building model instances."""

    pk: uuid.UUID
    sha256: str
    size: int
    state: str


def _new_upload(
    device: Device, recording_id: uuid.UUID, known: _Known, clip: ClipIn, now: datetime.datetime
) -> Upload:
    return Upload(
        device=device,
        recording_id=recording_id,
        length=known.size,
        declared_sha256=known.sha256,
        metadata={
            "clip_id": clip.clip_id,
            "filename": display_file_name(clip.file_name, clip.clip_id),
        },
        expires_at=now + datetime.timedelta(seconds=settings.FV_UPLOAD_EXPIRY_SECONDS),
    )


def validate_manifest(clips: list[ClipIn]) -> None:
    if len(clips) > settings.FV_MANIFEST_MAX_CLIPS:
        raise PayloadTooLarge(
            f"a manifest may list at most {settings.FV_MANIFEST_MAX_CLIPS} clips",
            code="manifest_too_large",
            details={"max_clips": settings.FV_MANIFEST_MAX_CLIPS},
        )
    duplicates = sorted(
        clip_id for clip_id, count in Counter(clip.clip_id for clip in clips).items() if count > 1
    )
    if duplicates:
        raise InvalidInput(
            "clip ids must be unique within a manifest",
            code="duplicate_clip_ids",
            details={"clip_ids": duplicates[:50]},
        )
    too_large = [clip.clip_id for clip in clips if clip.size > settings.FV_UPLOAD_MAX_BYTES]
    if too_large:
        raise PayloadTooLarge(
            "clips larger than the upload limit",
            code="clip_too_large",
            details={"clip_ids": too_large[:50], "max_bytes": settings.FV_UPLOAD_MAX_BYTES},
        )


def _announce(
    device: Device, clips: list[ClipIn], offset_ms: int, detail: Mapping[str, object]
) -> dict[str, _Known]:
    """Create recordings for clips the server has not seen; return what it knows of all."""
    offset = datetime.timedelta(milliseconds=offset_ms)
    clip_ids = [clip.clip_id for clip in clips]
    if connection.vendor == "postgresql":
        # One array parameter instead of 10,000 placeholders for the driver to expand.
        of_these_clips = Q(RawSQL("clip_id = ANY(%s)", (clip_ids,), output_field=BooleanField()))
    else:
        of_these_clips = Q(clip_id__in=clip_ids)
    known = {
        row[0]: _Known(*row[1:])
        for row in Recording.objects.filter(of_these_clips, device=device).values_list(
            "clip_id", "pk", "sha256", "size_bytes", "state"
        )
    }
    fresh = [clip for clip in clips if clip.clip_id not in known]
    if not fresh:
        return known
    assignments = AssignmentIndex(device.pk)
    new_recordings = [
        Recording(
            device=device,
            clip_id=clip.clip_id,
            file_name=display_file_name(clip.file_name, clip.clip_id),
            size_bytes=clip.size,
            sha256=clip.sha256,
            media_kind=clip.media_kind,
            device_started_at=clip.recorded_start,
            device_ended_at=clip.recorded_end,
            clock_offset_ms=offset_ms,
            started_at=clip.recorded_start + offset,
            ended_at=clip.recorded_end + offset,
            officer_id=assignments.officer_at(clip.recorded_start + offset),
            latitude=clip.latitude,
            longitude=clip.longitude,
            trigger_reason=clip.trigger_reason or "",
        )
        for clip in fresh
    ]
    try:
        with transaction.atomic():
            Recording.objects.bulk_create(new_recordings, batch_size=2000)
    except IntegrityError as exc:
        raise Conflict(
            "another manifest from this device is being processed; send it again",
            code="concurrent_manifest",
        ) from exc
    RecordingStateChange.objects.bulk_create(
        [
            RecordingStateChange(
                recording=r,
                to_state=RecordingState.ANNOUNCED,
                detail={"clock_offset_ms": offset_ms, **detail},
            )
            for r in new_recordings
        ],
        batch_size=2000,
    )
    for recording in new_recordings:
        known[recording.clip_id] = _Known(
            recording.pk, recording.sha256, recording.size_bytes, recording.state
        )
    return known


def manifest_sync(
    *, device: Device, device_time: datetime.datetime, clips: list[ClipIn]
) -> ManifestAnswer:
    """Reconcile a device's clip list with the server. Idempotent: the same manifest twice
    creates nothing new and gives the same answer (unless bytes arrived in between).

    Built for 10,000-clip manifests: a handful of set-based queries, no per-clip query and
    no row locks on the read path (the unique (device, clip_id) constraint guards creation).
    """
    with collector_paused():
        return _manifest_sync(device=device, device_time=device_time, clips=clips)


def _manifest_sync(
    *, device: Device, device_time: datetime.datetime, clips: list[ClipIn]
) -> ManifestAnswer:
    validate_manifest(clips)
    now = timezone.now()
    offset_ms = device_clock_offset_ms(device_time=device_time, server_time=now)
    validate_clip_times(clips, offset_ms)
    with transaction.atomic():
        device_clock_record(device=device, device_time=device_time, server_time=now)
    synced = clips_reconcile(
        device=device, uploader=device, clips=clips, offset_ms=offset_ms, now=now
    )
    with transaction.atomic():
        synced.audit_refusals(uploader=device)
        audit_record(
            actor=Actor.device(device),
            action="device.manifest_synced",
            object_type="device",
            object_id=device.pk,
            data={
                "clips": len(clips),
                "uploads_opened": synced.uploads_opened,
                "redeclared": synced.redeclared[:100],
                "clock_offset_ms": offset_ms,
            },
        )
    return ManifestAnswer(server_time=now, clock_offset_ms=offset_ms, clips=synced.answers)


@dataclass
class Reconciled:
    """What reconciling one device's clips did: the answers, and what to audit."""

    answers: list[ClipAnswer]
    uploads_opened: int
    redeclared: list[str]
    budget: ManifestAdmission

    def audit_refusals(self, *, uploader: Device, data: Mapping[str, object] | None = None) -> None:
        refused = self.budget.refused
        if not refused:
            return
        reasons = Counter(reason for _clip, reason, _size in refused)
        audit_record(
            actor=Actor.device(uploader),
            action="staging.admission_refused",
            object_type="device",
            object_id=uploader.pk,
            data={
                **(data or {}),
                "clips": len(refused),
                "bytes": sum(size for _clip, _reason, size in refused),
                "reasons": dict(reasons),
                "clip_ids": [clip_id for clip_id, _r, _s in refused[:20]],
            },
        )


def clips_reconcile(
    *,
    device: Device,
    uploader: Device,
    clips: list[ClipIn],
    offset_ms: int,
    now: datetime.datetime,
    announced_detail: Mapping[str, object] | None = None,
) -> Reconciled:
    """Reconcile `device`'s clips (validated, their times checked against `offset_ms`):
    new ones become recordings of `device`, attributed to its holder at the corrected
    recording time; uploads are opened for `uploader` (the device itself, or the dock it
    sits in) and count against the uploader's staging share."""
    answers: list[ClipAnswer] = []
    uploads_opened = 0
    redeclared: list[str] = []
    # Bounded transactions: on SQLite (the embedded stack) a transaction holds the one
    # write lock of the whole database, and a 20,000-clip manifest in one transaction held
    # it for tens of seconds — the worker's writes failed with "database is locked". Each
    # chunk is reconciled on its own; the manifest is idempotent, so a manifest cut short
    # between chunks is completed by the device's next one.
    # SQLite's busy handler polls a waiting writer every 100 ms at most, so a lock released
    # for microseconds between chunks would starve it: once the chunks have held the lock
    # for SQLITE_LOCK_SLICE_SECONDS, a pause lets a waiting writer in.
    # Staging admission (sync/staging_admission.py): read and spent under a lock held by
    # each chunk's transaction, so concurrent manifests never over-admit.
    budget = ManifestAdmission(device_id=uploader.pk, now=now)
    chunk_size = max(1, settings.FV_MANIFEST_CHUNK_CLIPS)
    pausing = connection.vendor == "sqlite"
    held = 0.0
    for start in range(0, len(clips), chunk_size):
        if pausing and held >= SQLITE_LOCK_SLICE_SECONDS:
            time.sleep(SQLITE_WRITER_GAP_SECONDS)
            held = 0.0
        began = time.monotonic()
        budget.begin_chunk()
        with transaction.atomic():
            opened, chunk_redeclared = _reconcile(
                device,
                uploader,
                clips[start : start + chunk_size],
                offset_ms,
                now,
                answers,
                budget,
                announced_detail or {},
            )
        held += time.monotonic() - began
        uploads_opened += opened
        redeclared.extend(chunk_redeclared)
    return Reconciled(answers, uploads_opened, redeclared, budget)


def validate_clip_times(clips: list[ClipIn], offset_ms: int) -> None:
    """Every clip's recorded times, on the server's clock, are dates the database can hold."""
    offset = datetime.timedelta(milliseconds=offset_ms)
    bad = []
    for clip in clips:
        try:
            clip.recorded_start + offset  # only whether it overflows
            clip.recorded_end + offset
        except OverflowError:
            bad.append(clip.clip_id)
    if bad:
        raise InvalidInput(
            "recorded times out of range",
            code="recorded_time_out_of_range",
            details={"clip_ids": bad[:50]},
        )


def _reconcile(
    device: Device,
    uploader: Device,
    clips: list[ClipIn],
    offset_ms: int,
    now: datetime.datetime,
    answers: list[ClipAnswer],
    budget: ManifestAdmission,
    announced_detail: Mapping[str, object],
) -> tuple[int, list[str]]:
    """One chunk of a manifest, in the caller's transaction: appends its answers, returns
    (uploads opened, clip ids redeclared)."""
    known = _announce(device, clips, offset_ms, announced_detail)
    open_uploads: dict[uuid.UUID, tuple[uuid.UUID, int]] = {
        recording_id: (upload_id, offset)
        for recording_id, upload_id, offset in Upload.objects.filter(
            device=uploader,
            state=UploadState.RECEIVING,
            expires_at__gt=now,
            recording_id__in=[known[clip.clip_id].pk for clip in clips],
        )
        .order_by("created_at")
        .values_list("recording_id", "pk", "offset")
    }
    to_create: list[Upload] = []
    redeclared: list[str] = []
    for clip in clips:
        recording = known[clip.clip_id]
        same_content = recording.sha256 == clip.sha256 and recording.size == clip.size
        if not same_content and recording.state in {
            RecordingState.VERIFIED,
            RecordingState.STORED,
            RecordingState.DESTROYED,
        }:
            answers.append(
                ClipAnswer(
                    clip_id=clip.clip_id,
                    status="mismatch",
                    recording_id=str(recording.pk),
                    detail="the server holds different content for this clip id; keep the clip",
                )
            )
            continue
        if not same_content:
            # Not yet verified: the device's newer declaration replaces the old one.
            Upload.objects.filter(recording_id=recording.pk, state=UploadState.RECEIVING).update(
                state=UploadState.TERMINATED
            )
            open_uploads.pop(recording.pk, None)
            Recording.objects.filter(pk=recording.pk).update(
                sha256=clip.sha256, size_bytes=clip.size
            )
            recording.sha256, recording.size = clip.sha256, clip.size
            redeclared.append(clip.clip_id)
        # A destroyed recording is answered `stored` on purpose: the server held these
        # bytes for their whole retention and destroyed them lawfully, so the device must
        # not send them again and may delete its copy. The mobile contract keeps its five
        # statuses (no `destroyed`: devices in the field would not know it).
        if recording.state in (RecordingState.STORED, RecordingState.DESTROYED):
            answers.append(
                ClipAnswer(clip_id=clip.clip_id, status="stored", recording_id=str(recording.pk))
            )
            continue
        if recording.state == RecordingState.VERIFIED:
            answers.append(
                ClipAnswer(
                    clip_id=clip.clip_id,
                    status="storing",
                    recording_id=str(recording.pk),
                    offset=recording.size,
                )
            )
            continue
        if recording.pk not in open_uploads:
            refused = budget.admit(clip.clip_id, recording.size)
            if refused is not None:
                answers.append(
                    ClipAnswer(
                        clip_id=clip.clip_id,
                        status="insufficient_storage",
                        recording_id=str(recording.pk),
                        detail=REFUSAL_DETAILS[refused],
                    )
                )
                continue
            upload = _new_upload(uploader, recording.pk, recording, clip, now)
            to_create.append(upload)
            open_uploads[recording.pk] = (upload.pk, 0)
        upload_id, upload_offset = open_uploads[recording.pk]
        if recording.state == RecordingState.MISMATCH:
            status, detail = (
                "mismatch",
                "received bytes did not match the declared hash; send again",
            )
        elif upload_offset > 0:
            status, detail = "partial", None
        else:
            status, detail = "missing", None
        answers.append(
            ClipAnswer(
                clip_id=clip.clip_id,
                status=status,
                recording_id=str(recording.pk),
                offset=upload_offset,
                upload_url=f"/api/sync/v1/uploads/{upload_id}",
                detail=detail,
            )
        )
    Upload.objects.bulk_create(to_create, batch_size=2000)
    return len(to_create), redeclared
