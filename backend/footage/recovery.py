"""Re-attaching an original that the database lost (after a restore) to a recording.

Every original is stored with the facts needed to recreate its recording
(`backend.footage.storage.original_metadata`):
device, clip id, file name, kind, the device's start and end times and the clock offset of
the sync, and the officer. When a restored database no longer knows an object — the commit
that said `stored` was lost with the disk, though the device was told and deleted its clip —
reconciliation (backend/retention/reconcile.py) calls `recording_recover_after_restore`:

* the clip's row survived at an earlier state (announced, receiving, verified): it becomes
  `stored` with the object's key and version;
* no row: it is recreated as `stored` from the metadata;
* either way an audit entry `recording.recovered_after_restore` says so, and the after-stored
  reactions (processing, retention) run as for any stored original.

Objects without enough metadata (stored before it was written) are left for a person.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any
from urllib.parse import unquote

from django.db import IntegrityError, transaction

from backend.audit.services import Actor, audit_record
from backend.devices.models import Device
from backend.footage.models import Recording, RecordingState
from backend.footage.services import AFTER_STORED_HOOKS, recording_transition
from media.object_store import original_key

_BEFORE_STORED = (RecordingState.ANNOUNCED, RecordingState.RECEIVING, RecordingState.VERIFIED)
REQUIRED = ("sha256", "device-id", "clip-id", "device-started-at", "device-ended-at")


def recording_recover_after_restore(
    *,
    key: str,
    version_id: str,
    size: int,
    last_modified: datetime.datetime,
    metadata: dict[str, str],
) -> tuple[str, uuid.UUID | None]:
    """Attach an object no recording knows; returns (outcome word, recording id)."""
    if any(not metadata.get(name) for name in REQUIRED):
        return "insufficient_metadata", None
    sha256 = metadata["sha256"]
    if key != original_key(sha256):
        return "not_content_address", None
    try:
        device = Device.objects.filter(pk=uuid.UUID(metadata["device-id"])).first()
    except ValueError:
        device = None
    if device is None:
        return "device_unknown", None
    detail: dict[str, Any] = {"key": key, "version_id": version_id, "recovered": True}
    with transaction.atomic():
        recording = (
            Recording.objects.select_for_update()
            .filter(device=device, clip_id=metadata["clip-id"])
            .first()
        )
        if recording is not None:
            if recording.sha256 != sha256 or recording.state not in _BEFORE_STORED:
                return "conflict", recording.pk
            outcome = "attached_existing"
        else:
            started = datetime.datetime.fromisoformat(metadata["device-started-at"])
            ended = datetime.datetime.fromisoformat(metadata["device-ended-at"])
            offset = datetime.timedelta(milliseconds=int(metadata.get("clock-offset-ms") or 0))
            officer = metadata.get("officer-id") or None
            recording = Recording(
                device=device,
                clip_id=metadata["clip-id"],
                file_name=unquote(metadata.get("file-name", "")) or sha256[:16],
                size_bytes=size,
                sha256=sha256,
                media_kind=metadata.get("media-kind") or "video",
                device_started_at=started,
                device_ended_at=ended,
                clock_offset_ms=int(offset.total_seconds() * 1000),
                started_at=started + offset,
                ended_at=ended + offset,
                officer_id=int(officer) if officer else None,
                state=RecordingState.VERIFIED,
            )
            try:
                with transaction.atomic():
                    recording.save()
            except IntegrityError:
                return "conflict", None
            outcome = "recreated"
        recording_transition(recording=recording, to_state=RecordingState.STORED, detail=detail)
        recording.storage_key = key
        recording.storage_version_id = version_id if version_id != "null" else ""
        recording.stored_at = last_modified
        recording.storage_last_error = ""
        recording.storage_next_attempt_at = None
        recording.save()
        audit_record(
            actor=Actor.system(),
            action="recording.recovered_after_restore",
            object_type="recording",
            object_id=recording.pk,
            data={
                "key": key,
                "version_id": version_id,
                "sha256": sha256,
                "size": size,
                "outcome": outcome,
            },
        )
        recording_id = recording.pk
        transaction.on_commit(lambda: AFTER_STORED_HOOKS.fire(recording_id))
    return outcome, recording_id
