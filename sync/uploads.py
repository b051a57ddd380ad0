"""The database-backed store of the tus endpoint (`sync.tus`).

Upload state lives in `sync.models.Upload`; the write lease is a conditional UPDATE
on `lock_token`/`lock_expires_at`, so it holds across any number of web processes.
Every function here is synchronous ORM code; `DjangoUploadStore` runs it through
`sync_to_async` for the ASGI endpoint.
"""

from __future__ import annotations

import datetime
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

from backend.audit.models import ActorKind
from backend.audit.services import Actor, audit_record
from backend.config.errors import DATABASE_RETRY_AFTER_SECONDS, database_unavailable_body
from backend.devices.services import device_authenticate
from backend.footage.models import Recording, RecordingState
from backend.footage.services import recording_transition, recording_upload_received
from backend.lease_owner import current_owner, dead_owners, owner_is_dead
from sync.events import apublish, device_event, groups_for_unit_path
from sync.models import Upload, UploadState
from sync.staging_admission import StagingBudget, staging_admission_lock
from sync.tus.protocol import TusError
from sync.tus.staging import remove_staging_file
from sync.tus.store import Caller, UploadInfo, UploadStatus

logger = logging.getLogger(__name__)

_FIELDS = (
    "id",
    "length",
    "offset",
    "metadata",
    "state",
    "expires_at",
    "lock_generation",
    "lock_token",
    "lock_expires_at",
)


def _info(row: dict[str, Any]) -> UploadInfo:
    upload_id: uuid.UUID = row["id"]
    return UploadInfo(
        id=upload_id,
        length=row["length"],
        offset=row["offset"],
        status=UploadStatus(row["state"]),
        expires_at=row["expires_at"],
        staging_path=Upload(id=upload_id).staging_path,
        metadata={str(k): str(v) for k, v in (row["metadata"] or {}).items()},
        generation=row["lock_generation"],
        lease_until=row["lock_expires_at"] if row["lock_token"] else None,
    )


def _row(upload_id: uuid.UUID) -> dict[str, Any]:
    return Upload.objects.filter(pk=upload_id).values(*_FIELDS).get()


def upload_device_authenticate(*, token: str) -> Caller | None:
    # The endpoint's first database call of every request: behave like Django's
    # request_started (drop a connection past CONN_MAX_AGE or broken by a DB restart).
    # Never inside an atomic block: that is a caller's transaction (tests run in one).
    if not connection.in_atomic_block:
        close_old_connections()
    device = device_authenticate(token=token)
    if device is None:
        return None
    unit = device.unit
    return Caller(
        device_key=str(device.pk), label=device.serial, unit_path=unit.path if unit else None
    )


def upload_get(*, device_key: str, upload_id: uuid.UUID) -> UploadInfo | None:
    row = Upload.objects.filter(pk=upload_id, device_id=device_key).values(*_FIELDS).first()
    return _info(row) if row is not None else None


def upload_open(
    *,
    device_key: str,
    length: int | None,
    metadata: dict[str, str],
    expires_at: datetime.datetime,
) -> UploadInfo:
    """tus creation: open the upload of a clip this device announced in a manifest.

    `clip_id` in the metadata names the clip. A pre-created upload that has no bytes
    yet is handed back (same URL the manifest gave); one with bytes is superseded,
    because a client that POSTs starts again from offset 0.
    """
    clip_id = metadata.get("clip_id", "").strip()
    if not clip_id:
        raise TusError(
            400,
            "missing_clip_id",
            "Upload-Metadata 必须包含 clip_id / Upload-Metadata must carry clip_id",
        )
    now = timezone.now()
    stale_files: list[Path] = []
    with transaction.atomic():
        recording = (
            Recording.objects.select_for_update()
            .filter(device_id=device_key, clip_id=clip_id)
            .first()
        )
        if recording is None:
            raise TusError(
                404,
                "clip_not_announced",
                "该片段未在清单中申报 / This clip was not announced in a manifest",
                details={"clip_id": clip_id[:128]},
            )
        # Destroyed counts as received: the manifest answers it `stored` (never send again).
        if recording.state in (
            RecordingState.VERIFIED,
            RecordingState.STORED,
            RecordingState.DESTROYED,
        ):
            raise TusError(
                409,
                "clip_already_received",
                "该片段已接收并校验 / This clip was already received and verified",
                details={"clip_id": clip_id[:128], "state": recording.state},
            )
        if length is not None and length != recording.size_bytes:
            raise TusError(
                400,
                "upload_length_mismatch",
                "Upload-Length 与清单申报的大小不一致 / Upload-Length differs from the size "
                "announced in the manifest",
                details={"announced_size": recording.size_bytes, "upload_length": length},
            )
        reusable: Upload | None = None
        for upload in Upload.objects.select_for_update().filter(
            recording=recording, state=UploadState.RECEIVING
        ):
            if upload.lock_expires_at is not None and upload.lock_expires_at > now:
                raise TusError(
                    423,
                    "upload_locked",
                    "该片段正在上传中 / This clip is being uploaded by another request",
                )
            if reusable is None and upload.offset == 0 and upload.expires_at > now:
                reusable = upload
                continue
            upload.state = UploadState.TERMINATED
            upload.lock_token = None
            upload.lock_expires_at = None
            upload.save(update_fields=["state", "lock_token", "lock_expires_at", "updated_at"])
            audit_record(
                actor=Actor(kind=ActorKind.DEVICE, identifier=device_key),
                action="upload.superseded",
                object_type="upload",
                object_id=upload.pk,
                data={"recording_id": str(recording.pk), "offset": upload.offset},
            )
            stale_files.append(upload.staging_path)
        if reusable is not None:
            reusable.metadata = {**reusable.metadata, **metadata}
            reusable.expires_at = expires_at
            if length is not None:
                reusable.length = length
            reusable.save(update_fields=["metadata", "expires_at", "length", "updated_at"])
            upload = reusable
        else:
            staging_admission_lock()  # held to this transaction's end, like a manifest's
            refused = StagingBudget.read(device_id=device_key, now=now).admit(
                clip_id, recording.size_bytes
            )
            if refused is not None:
                raise TusError(
                    507,
                    "insufficient_storage",
                    "服务器暂存空间不足，请保留该片段稍后再同步 / The server cannot stage this "
                    "clip now; keep it and sync again later",
                    details={"reason": refused, "clip_id": clip_id[:128]},
                )
            upload = Upload.objects.create(
                device_id=device_key,
                recording=recording,
                length=length,
                offset=0,
                metadata=metadata,
                declared_sha256=recording.sha256,
                state=UploadState.RECEIVING,
                expires_at=expires_at,
            )
            audit_record(
                actor=Actor(kind=ActorKind.DEVICE, identifier=device_key),
                action="upload.created",
                object_type="upload",
                object_id=upload.pk,
                data={"recording_id": str(recording.pk), "length": length, "via": "tus_post"},
            )
        transaction.on_commit(lambda: _remove_files(stale_files))
    return _info(_row(upload.pk))


def _remove_files(paths: list[Path]) -> None:
    for path in paths:
        remove_staging_file(path)


def upload_lock_acquire(
    *,
    device_key: str,
    upload_id: uuid.UUID,
    token: uuid.UUID,
    lease_until: datetime.datetime,
) -> UploadInfo | None:
    """Take the write lease when free, expired, or held by a process known to be dead
    (same host, gone: a crash costs no lease period). One conditional UPDATE each, no
    race; every acquisition bumps the fencing generation."""
    now = timezone.now()
    mine = Upload.objects.filter(pk=upload_id, device_id=device_key)
    take = {
        "lock_token": token,
        "lock_expires_at": lease_until,
        "lock_generation": F("lock_generation") + 1,
        "lock_owner": current_owner(),
        "updated_at": now,
    }
    taken = mine.filter(
        Q(lock_token__isnull=True) | Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lte=now)
    ).update(**take)
    if not taken:
        holder = mine.values_list("lock_token", "lock_owner").first()
        if holder is not None and holder[1] and owner_is_dead(holder[1]):
            taken = mine.filter(lock_token=holder[0], lock_owner=holder[1]).update(**take)
            if taken:
                logger.info("upload %s: lease of dead process %s taken over", upload_id, holder[1])
    if not taken:
        return None
    return _info(_row(upload_id))


def upload_leases_release_dead(*, owners: set[str] | None = None) -> int:
    """Release every upload lease held by a dead process of this host (at start-up)."""
    held = set(
        Upload.objects.filter(lock_token__isnull=False)
        .exclude(lock_owner="")
        .values_list("lock_owner", flat=True)
        .distinct()
    )
    dead = dead_owners(held) if owners is None else held & owners
    if not dead:
        return 0
    return Upload.objects.filter(lock_owner__in=dead, lock_token__isnull=False).update(
        lock_token=None, lock_expires_at=None, lock_owner=""
    )


def upload_checkpoint(
    *,
    upload_id: uuid.UUID,
    token: uuid.UUID,
    offset: int,
    length: int | None,
    lease_until: datetime.datetime,
    expires_at: datetime.datetime,
) -> bool:
    """Persist an fsynced offset and renew the lease; False when the lease was lost."""
    now = timezone.now()
    return bool(
        # The token alone decides: a lease that ran out but was not taken over is still ours.
        Upload.objects.filter(pk=upload_id, lock_token=token, state=UploadState.RECEIVING).update(
            offset=offset,
            length=length,
            lock_expires_at=lease_until,
            expires_at=expires_at,
            updated_at=now,
        )
    )


def upload_complete(*, upload_id: uuid.UUID, token: uuid.UUID, sha256: str) -> UploadInfo:
    """The last byte is fsynced and its offset saved: hand over to the recording workflow."""
    recording_upload_received(upload_id=upload_id, sha256=sha256)
    Upload.objects.filter(pk=upload_id, lock_token=token).update(
        lock_token=None, lock_expires_at=None
    )
    return _info(_row(upload_id))


def upload_lock_release(*, upload_id: uuid.UUID, token: uuid.UUID) -> None:
    Upload.objects.filter(pk=upload_id, lock_token=token).update(
        lock_token=None, lock_expires_at=None, lock_owner=""
    )


def leases_release_at_start() -> None:
    """A process starting up: the upload and storage leases of dead processes of this
    host (a kill -9, an OOM kill, a power cut of the previous instance) are void now,
    not when they run out. Never fails the start-up (the database may be down)."""
    from django.conf import settings

    from backend.footage.services import storage_leases_release_dead

    if not getattr(settings, "FV_LEASES_RELEASE_AT_START", True):
        return

    def release() -> None:
        try:
            uploads = upload_leases_release_dead()
            recordings = storage_leases_release_dead()
        except Exception:
            logger.exception("releasing the leases of dead processes at start-up failed")
            return
        finally:
            connection.close()
        if uploads or recordings:
            logger.warning(
                "start-up: released %s upload and %s storage leases of dead processes",
                uploads,
                len(recordings),
            )

    # Own thread (and connection): an ASGI server calls the app factory inside its event
    # loop, where the ORM refuses to run. Joined briefly so requests find leases released.
    worker = threading.Thread(target=release, name="fv-leases-release", daemon=True)
    worker.start()
    worker.join(timeout=10)


def upload_lost(*, upload_id: uuid.UUID, token: uuid.UUID, detail: dict[str, int]) -> None:
    """The staged bytes of a receiving upload are gone or short of its persisted offset:
    terminate it (the device gets 410 and the next manifest a fresh upload URL, status
    `missing`) instead of answering every PATCH with an error until it expires."""
    with transaction.atomic():
        upload = (
            Upload.objects.select_for_update()
            .filter(pk=upload_id, lock_token=token, state=UploadState.RECEIVING)
            .first()
        )
        if upload is None:
            return
        upload.state = UploadState.TERMINATED
        upload.lock_token = None
        upload.lock_expires_at = None
        upload.save(update_fields=["state", "lock_token", "lock_expires_at", "updated_at"])
        _recording_release(
            recording_id=upload.recording_id, upload_id=upload.pk, reason="staging_file_lost"
        )
        audit_record(
            actor=Actor.system(),
            action="upload.staging_lost",
            object_type="upload",
            object_id=upload.pk,
            data={"recording_id": str(upload.recording_id), **detail},
        )
        path = upload.staging_path
        transaction.on_commit(lambda: remove_staging_file(path))
    logger.warning(
        "upload %s: staged bytes lost (%s); restarted from a fresh URL", upload_id, detail
    )


def upload_terminate(*, upload_id: uuid.UUID, token: uuid.UUID) -> None:
    with transaction.atomic():
        upload = (
            Upload.objects.select_for_update()
            .filter(pk=upload_id, lock_token=token, state=UploadState.RECEIVING)
            .first()
        )
        if upload is None:
            raise TusError(
                423, "upload_lock_lost", "上传锁已失效 / The upload's lock was lost; retry"
            )
        upload.state = UploadState.TERMINATED
        upload.save(update_fields=["state", "updated_at"])
        _recording_release(
            recording_id=upload.recording_id, upload_id=upload.pk, reason="terminated"
        )
        audit_record(
            actor=Actor(kind=ActorKind.DEVICE, identifier=str(upload.device_id)),
            action="upload.terminated",
            object_type="upload",
            object_id=upload.pk,
            data={"recording_id": str(upload.recording_id), "offset": upload.offset},
        )


def upload_recording_receiving(*, upload_id: uuid.UUID) -> uuid.UUID | None:
    """First persisted bytes of an upload: its recording becomes `receiving`.

    From `announced`, or from `mismatch` when the device sends the clip again. Returns
    the recording id (None if the upload is gone).
    """
    recording_id = (
        Upload.objects.filter(pk=upload_id).values_list("recording_id", flat=True).first()
    )
    if recording_id is None:
        return None
    with transaction.atomic():
        recording = (
            Recording.objects.select_for_update()
            .filter(pk=recording_id, state__in=[RecordingState.ANNOUNCED, RecordingState.MISMATCH])
            .first()
        )
        if recording is not None:
            recording_transition(
                recording=recording,
                to_state=RecordingState.RECEIVING,
                detail={"upload_id": str(upload_id)},
            )
            recording.save(update_fields=["state", "updated_at"])
    return recording_id


def _recording_release(*, recording_id: uuid.UUID, upload_id: uuid.UUID, reason: str) -> None:
    """A recording whose last open upload ended without its bytes is `announced` again."""
    recording = (
        Recording.objects.select_for_update()
        .filter(pk=recording_id, state=RecordingState.RECEIVING)
        .first()
    )
    if recording is None:
        return
    if Upload.objects.filter(recording_id=recording_id, state=UploadState.RECEIVING).exists():
        return
    recording_transition(
        recording=recording,
        to_state=RecordingState.ANNOUNCED,
        detail={"upload_id": str(upload_id), "reason": reason},
    )
    recording.save(update_fields=["state", "updated_at"])


def uploads_expire(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Terminate receiving uploads past their expiry and free their staging space.

    Meant for the worker's periodic pass; an upload whose lease is live is skipped.
    Returns how many were expired.
    """
    now = now or timezone.now()
    expired = 0
    candidates = Upload.objects.filter(state=UploadState.RECEIVING, expires_at__lte=now).filter(
        Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lte=now)
    )
    for upload_id in list(candidates.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            upload = (
                Upload.objects.select_for_update(skip_locked=True)
                .filter(pk=upload_id, state=UploadState.RECEIVING, expires_at__lte=now)
                .filter(Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lte=now))
                .first()
            )
            if upload is None:
                continue
            upload.state = UploadState.TERMINATED
            upload.save(update_fields=["state", "updated_at"])
            _recording_release(
                recording_id=upload.recording_id, upload_id=upload.pk, reason="expired"
            )
            audit_record(
                actor=Actor.system(),
                action="upload.expired",
                object_type="upload",
                object_id=upload.pk,
                data={"recording_id": str(upload.recording_id), "offset": upload.offset},
            )
            path = upload.staging_path
            transaction.on_commit(lambda path=path: remove_staging_file(path))  # type: ignore[misc]
        expired += 1
    return expired


P = ParamSpec("P")
R = TypeVar("R")


def _orm(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`sync_to_async(function)`, with a database out of reach (no pooled connection in
    time, PostgreSQL refusing clients, a restart) answered 503 + Retry-After, never 500."""
    run = sync_to_async(function)

    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await run(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("upload endpoint: database unavailable: %s", exc)
            body = database_unavailable_body()
            raise TusError(
                503,
                body["code"],
                body["message"],
                details=body["details"],
                headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
            ) from exc

    return call


class DjangoUploadStore:
    """`sync.tus.store.UploadStore` over the ORM (one DB thread per process, via asgiref)."""

    async def authenticate(self, *, token: str) -> Caller | None:
        return await _orm(upload_device_authenticate)(token=token)

    async def create(
        self,
        *,
        caller: Caller,
        length: int | None,
        metadata: dict[str, str],
        expires_at: datetime.datetime,
    ) -> UploadInfo:
        return await _orm(upload_open)(
            device_key=caller.device_key, length=length, metadata=metadata, expires_at=expires_at
        )

    async def get(self, *, caller: Caller, upload_id: uuid.UUID) -> UploadInfo | None:
        return await _orm(upload_get)(device_key=caller.device_key, upload_id=upload_id)

    async def acquire_lock(
        self,
        *,
        caller: Caller,
        upload_id: uuid.UUID,
        token: uuid.UUID,
        lease_until: datetime.datetime,
    ) -> UploadInfo | None:
        return await _orm(upload_lock_acquire)(
            device_key=caller.device_key, upload_id=upload_id, token=token, lease_until=lease_until
        )

    async def checkpoint(
        self,
        *,
        upload_id: uuid.UUID,
        token: uuid.UUID,
        offset: int,
        length: int | None,
        lease_until: datetime.datetime,
        expires_at: datetime.datetime,
    ) -> bool:
        return await _orm(upload_checkpoint)(
            upload_id=upload_id,
            token=token,
            offset=offset,
            length=length,
            lease_until=lease_until,
            expires_at=expires_at,
        )

    async def complete(self, *, upload_id: uuid.UUID, token: uuid.UUID, sha256: str) -> UploadInfo:
        return await _orm(upload_complete)(upload_id=upload_id, token=token, sha256=sha256)

    async def release_lock(self, *, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        await _orm(upload_lock_release)(upload_id=upload_id, token=token)

    async def terminate(self, *, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        await _orm(upload_terminate)(upload_id=upload_id, token=token)

    async def lost(self, *, upload_id: uuid.UUID, token: uuid.UUID, detail: dict[str, int]) -> None:
        await _orm(upload_lost)(upload_id=upload_id, token=token, detail=detail)

    async def progress(
        self, *, caller: Caller, upload: UploadInfo, offset: int, first: bool
    ) -> None:
        """Live status: `clip_started` (first bytes of the clip), then `bytes_received`.

        `upload` is the state when this request took the lease (its offset: where it began).
        """
        if first:
            await _orm(upload_recording_receiving)(upload_id=upload.id)
        event = device_event(
            device_id=caller.device_key,
            kind="clip_started" if first and upload.offset == 0 else "bytes_received",
            upload_id=str(upload.id),
            clip_id=upload.metadata.get("clip_id", ""),
            offset=offset,
            length=upload.length,
        )
        await apublish(groups_for_unit_path(caller.unit_path), event)


# -- abandoned partial uploads (staging reclaim) ----------------------------------------


def staging_reclaim_abandoned(
    *, now: datetime.datetime | None = None, days: int | None = None, limit: int = 500
) -> list[uuid.UUID]:
    """Terminate receiving uploads without progress for FV_STAGING_ABANDON_DAYS and free
    their staged bytes. Only `receiving` uploads with no live lease: a complete upload (its
    clip verified or stored) is never touched. The device's next manifest opens a fresh
    upload (subject to admission). Returns the uploads reclaimed."""
    now = now or timezone.now()
    days = settings.FV_STAGING_ABANDON_DAYS if days is None else days
    cutoff = now - datetime.timedelta(days=days)
    idle = Q(state=UploadState.RECEIVING, updated_at__lte=cutoff) & (
        Q(lock_expires_at__isnull=True) | Q(lock_expires_at__lte=now)
    )
    reclaimed: list[uuid.UUID] = []
    for upload_id in list(Upload.objects.filter(idle).values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            upload = Upload.objects.select_for_update(skip_locked=True).filter(idle, pk=upload_id)
            found = upload.first()
            if found is None:
                continue
            found.state = UploadState.TERMINATED
            found.lock_token = None
            found.save(update_fields=["state", "lock_token", "updated_at"])
            _recording_release(
                recording_id=found.recording_id, upload_id=found.pk, reason="abandoned"
            )
            audit_record(
                actor=Actor.system(),
                action="upload.abandoned_reclaimed",
                object_type="upload",
                object_id=found.pk,
                data={
                    "recording_id": str(found.recording_id),
                    "offset": found.offset,
                    "length": found.length,
                    "idle_days": days,
                },
            )
            path = found.staging_path
            transaction.on_commit(lambda path=path: remove_staging_file(path))  # type: ignore[misc]
        reclaimed.append(upload_id)
    if reclaimed:
        logger.info("reclaimed %s abandoned partial uploads", len(reclaimed))
    return reclaimed
