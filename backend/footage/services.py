"""Every write to recordings: announcing, receiving, verifying and storing originals."""

from __future__ import annotations

import datetime
import logging
import math
import queue
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.audit.services import Actor, AuditEntry, audit_record, audit_record_many
from backend.config.errors import InvalidInput, NotFound, PermissionDenied
from backend.devices.models import Device
from backend.footage.durability import durable_atomic
from backend.footage.models import (
    Recording,
    RecordingState,
    RecordingStateChange,
    RecordingTimeCorrection,
)
from backend.footage.selectors import recordings_visible_to
from backend.footage.storage import object_store, original_metadata
from backend.hooks import HookPoint
from backend.lease_owner import current_owner, dead_owners, owner_is_dead
from media.object_store import IntegrityMismatch, ObjectStoreError, StoredObject
from sync.events import publish_recording_event
from sync.models import Upload, UploadState
from sync.tus.staging import remove_staging_file

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
        # Only the upload's row: FOR UPDATE without `of` also locked the joined device row,
        # which every upload of a dock shares — concurrent verifications then serialised
        # on it and deadlocked with manifests inserting rows that reference the device.
        upload = (
            Upload.objects.select_for_update(of=("self",))
            .select_related("device")
            .get(pk=upload_id)
        )
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
        _STORE_THREADS.submit(recording_id)
    elif mode == "task":
        from backend.footage.tasks import store_recording

        try:
            store_recording.enqueue(recording_id=str(recording_id))
        except Exception:  # the worker's periodic re-drive stores it anyway
            logger.exception("could not enqueue storing of %s", recording_id)
    # mode "redrive": leave it to the worker's periodic pass


class _StoreThreads:
    """A few long-lived threads of the web process storing verified recordings, in order.

    Bounded (FV_STORE_THREADS): one thread per verified clip meant, under a 12-device soak,
    dozens of concurrent S3 writes each with two database connections (the store and its
    lease heartbeat) competing with the requests for the pool. A recording waiting here
    is not leased; the worker's re-drive stores it if this process dies first. Daemon
    threads: stopping the server never waits for the queue.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[uuid.UUID] = queue.SimpleQueue()
        self._queued: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def submit(self, recording_id: uuid.UUID) -> None:
        with self._lock:
            if recording_id in self._queued:
                return
            self._queued.add(recording_id)
            wanted = max(1, int(getattr(settings, "FV_STORE_THREADS", 4)))
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            while len(self._threads) < wanted:
                thread = threading.Thread(
                    target=self._run, name=f"store-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        self._queue.put(recording_id)

    def _run(self) -> None:
        while True:
            recording_id = self._queue.get()
            with self._lock:
                self._queued.discard(recording_id)
            try:
                recording_store(recording_id=recording_id)
            except Exception:  # the database or S3 is down: the re-drive tries again
                logger.exception("storing recording %s failed", recording_id)
            finally:
                connection.close()  # back to the pool between recordings


_STORE_THREADS = _StoreThreads()


def _storage_backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


def _storage_lease_claim(recording_id: uuid.UUID, owner: str) -> bool:
    """Claim the storage lease: free, expired, or held by a process known to be dead."""
    now = timezone.now()
    lease_until = now + datetime.timedelta(seconds=settings.FV_STORAGE_LEASE_SECONDS)
    claim = {
        "storage_lease_until": lease_until,
        "storage_lease_owner": owner,
        "storage_attempts": F("storage_attempts") + 1,
    }
    verified = Recording.objects.filter(pk=recording_id, state=RecordingState.VERIFIED)
    if verified.filter(Q(storage_lease_until__isnull=True) | Q(storage_lease_until__lt=now)).update(
        **claim
    ):
        return True
    holder = verified.values_list("storage_lease_owner", flat=True).first()
    if holder and owner_is_dead(holder):
        logger.info(
            "recording %s: storage lease of dead process %s taken over", recording_id, holder
        )
        return bool(verified.filter(storage_lease_owner=holder).update(**claim))
    return False


class _StorageLeaseHeartbeat(threading.Thread):
    """Renews a short storage lease while the S3 write runs: a crash costs seconds."""

    def __init__(self, recording_id: uuid.UUID, owner: str) -> None:
        super().__init__(name=f"store-lease-{recording_id}", daemon=True)
        self.recording_id = recording_id
        self.owner = owner
        self.stopped = threading.Event()

    def run(self) -> None:
        every = max(settings.FV_STORAGE_LEASE_SECONDS / 3, 0.2)
        try:
            while not self.stopped.wait(every):
                lease_until = timezone.now() + datetime.timedelta(
                    seconds=settings.FV_STORAGE_LEASE_SECONDS
                )
                try:
                    Recording.objects.filter(
                        pk=self.recording_id, storage_lease_owner=self.owner
                    ).update(storage_lease_until=lease_until)
                except Exception:  # the database is down: the write finishes or fails alone
                    logger.exception("renewing the storage lease of %s failed", self.recording_id)
        finally:
            connection.close()  # this thread's own connection, never left to linger

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def recording_store(*, recording_id: uuid.UUID) -> str:
    """Write a verified recording's staged bytes to object storage under Object Lock.

    Takes a short lease (FV_STORAGE_LEASE_SECONDS, renewed by a heartbeat while the S3
    write runs) so that two workers never store the same recording at once; the lease of
    a killed process ends with its heartbeat, or at once when a process on the same host
    sees that its owner is dead. Returns the outcome as a word.
    """
    now = timezone.now()
    owner = current_owner()
    if not _storage_lease_claim(recording_id, owner):
        return "not_claimed"
    heartbeat = _StorageLeaseHeartbeat(recording_id, owner)
    heartbeat.start()
    try:
        return _recording_store_claimed(recording_id, now)
    finally:
        heartbeat.stop()


def _recording_store_claimed(recording_id: uuid.UUID, now: datetime.datetime) -> str:
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
            metadata=original_metadata(recording),
        )
    except IntegrityMismatch as exc:
        return _storage_failed(recording, str(exc), permanent=True)
    except ObjectStoreError as exc:
        return _storage_failed(recording, str(exc), permanent=False)
    with durable_atomic():  # the device deletes its clip once told `stored`
        recording = Recording.objects.select_for_update().get(pk=recording_id)
        if recording.state != RecordingState.VERIFIED:
            return "already_stored"
        recording_transition(
            recording=recording,
            to_state=RecordingState.STORED,
            detail={"key": stored.key, "version_id": stored.version_id},
        )
        recording.storage_key = stored.key
        recording.storage_version_id = _ingest_version(stored)
        recording.stored_at = timezone.now()
        recording.storage_lease_until = None
        recording.storage_lease_owner = ""
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
        transaction.on_commit(lambda: remove_staging_file(staged))
        transaction.on_commit(lambda: publish_recording_event(recording_id, "stored"))
        transaction.on_commit(lambda: AFTER_STORED_HOOKS.fire(recording_id))
    return "stored"


def _ingest_version(stored: StoredObject) -> str:
    """The version this recording's original is read by from now on.

    Same content stored before: the version recorded for it then, not whatever version is
    current under the key now (a PUT on the key since would otherwise become the original).
    """
    if stored.already_present:
        earlier = (
            Recording.objects.filter(storage_key=stored.key)
            .exclude(storage_version_id="")
            .order_by("stored_at")
            .values_list("storage_version_id", flat=True)
            .first()
        )
        if earlier:
            return earlier
    return stored.version_id or ""


# Fired after the transaction that stored an original committed, with the recording's id.
# Its receivers and their order are in backend/wiring/registry.py; this module imports none.
AFTER_STORED_HOOKS: HookPoint[[uuid.UUID], object] = HookPoint(
    "footage.after_stored", "a verified original is stored (after commit)"
)


def _storage_failed(recording: Recording, error: str, *, permanent: bool) -> str:
    attempts = recording.storage_attempts
    give_up = permanent or attempts >= settings.FV_STORAGE_MAX_ATTEMPTS
    next_attempt = None if give_up else timezone.now() + _storage_backoff(attempts)
    Recording.objects.filter(pk=recording.pk).update(
        storage_lease_until=None,
        storage_lease_owner="",
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


def _storage_leases_of_dead_owners() -> set[str]:
    held = set(
        Recording.objects.filter(state=RecordingState.VERIFIED, storage_lease_until__isnull=False)
        .exclude(storage_lease_owner="")
        .values_list("storage_lease_owner", flat=True)
        .distinct()
    )
    return dead_owners(held)


def recordings_redrive_storage(*, limit: int = 200) -> list[uuid.UUID]:
    """The periodic re-drive: store every verified recording that is due and not leased
    (a lease of a dead process on this host counts as not leased)."""
    now = timezone.now()
    free = Q(storage_lease_until__isnull=True) | Q(storage_lease_until__lt=now)
    dead = _storage_leases_of_dead_owners()
    if dead:
        free |= Q(storage_lease_owner__in=dead)
    due = list(
        Recording.objects.filter(state=RecordingState.VERIFIED, storage_next_attempt_at__lte=now)
        .filter(free)
        .order_by("storage_next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for recording_id in due:
        recording_store(recording_id=recording_id)
    return due


def storage_leases_release_dead() -> list[uuid.UUID]:
    """At process start: release the storage leases of dead processes of this host and
    hand those recordings to the store dispatch again (a web kill -9 mid-write costs the
    restart, not a lease period). Returns the recordings released."""
    dead = _storage_leases_of_dead_owners()
    if not dead:
        return []
    released = list(
        Recording.objects.filter(
            state=RecordingState.VERIFIED, storage_lease_owner__in=dead
        ).values_list("pk", flat=True)
    )
    Recording.objects.filter(pk__in=released, storage_lease_owner__in=dead).update(
        storage_lease_until=None, storage_lease_owner=""
    )
    for recording_id in released:
        logger.warning("recording %s: storage lease of a dead process released", recording_id)
        recording_store_dispatch(recording_id=recording_id)
    return released


# ------------------------------------------------------------------ time correction

MAX_TIME_CORRECTION = datetime.timedelta(days=7)
MAX_TIME_CORRECTION_REASON = 1000
# Who may correct recording times after the fact: the supervisors (监督人员) of the
# recordings' units, who answer for the coverage of those units, and the system
# administrator. Not the field officer (a corrected time can turn their own gap into
# coverage), not the legal officer (reviews decisions, does not manage devices), not the
# correction officer; storage administrators and auditors see no recordings at all.
TIME_CORRECTION_ROLES = frozenset({Role.SUPERVISOR, Role.SYSTEM_ADMIN})


def time_correction_offset(seconds: float) -> datetime.timedelta:
    """A correction offset from seconds (API, command), refused when not a number or
    beyond ±7 days (``offset_out_of_range``; a zero offset is refused by the service)."""
    if not math.isfinite(seconds) or abs(seconds) > MAX_TIME_CORRECTION.total_seconds():
        raise InvalidInput(
            _("校正量超出允许范围（不得超过正负7天）"),
            code="offset_out_of_range",
            details={
                "offset_seconds": seconds if math.isfinite(seconds) else str(seconds),
                "max_seconds": int(MAX_TIME_CORRECTION.total_seconds()),
            },
        )
    return datetime.timedelta(seconds=seconds)


def time_correction_validate(offset: datetime.timedelta, reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("时间校正必须说明原因"), code="reason_required")
    if len(reason) > MAX_TIME_CORRECTION_REASON:
        raise InvalidInput(
            _("校正原因过长"),
            code="reason_too_long",
            details={"max_length": MAX_TIME_CORRECTION_REASON},
        )
    time_correction_offset(offset.total_seconds())
    if not offset:
        raise InvalidInput(_("校正量不能为零"), code="offset_zero")
    return reason


def time_correction_select(
    *,
    actor_user: User | None,
    recording_ids: Sequence[uuid.UUID | str] | None,
    device: Device | None,
    start: datetime.datetime | None,
    end: datetime.datetime | None,
) -> list[uuid.UUID]:
    """The chosen recordings, refused as a whole when the user may not see one of them
    (404, as the recording endpoints answer: ids cannot be probed across units)."""
    if (recording_ids is None) == (device is None):
        raise InvalidInput(_("请指定音像记录，或指定设备和时间段"), code="selection_required")
    if recording_ids is not None:
        wanted: set[uuid.UUID] = set()
        for value in recording_ids:
            try:
                wanted.add(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
            except ValueError:
                raise NotFound(_("没有该音像记录"), code="recording_not_found") from None
        if not wanted:
            raise InvalidInput(_("请指定音像记录"), code="selection_required")
        chosen = Recording.objects.filter(pk__in=wanted)
    else:
        if start is None or end is None or end <= start:
            raise InvalidInput(_("时间段无效：结束须晚于开始"), code="invalid_period")
        # By the device's own clock: the wrong clock is what the period is known by (the
        # time burnt into the footage), and it does not move when the times are corrected.
        chosen = Recording.objects.filter(
            device=device, device_started_at__gte=start, device_started_at__lt=end
        )
        wanted = set(chosen.values_list("pk", flat=True))
    if actor_user is not None:
        visible = set(
            recordings_visible_to(actor_user).filter(pk__in=wanted).values_list("pk", flat=True)
        )
        if visible != wanted:
            raise NotFound(
                _("没有该音像记录"),
                code="recording_not_found",
                details={"not_visible": len(wanted - visible)},
            )
        if actor_user.role not in TIME_CORRECTION_ROLES:
            raise PermissionDenied(
                _("只有监督人员可以校正音像记录时间"), code="time_correction_not_allowed"
            )
    elif recording_ids is not None and chosen.count() != len(wanted):
        raise NotFound(_("没有该音像记录"), code="recording_not_found")
    return sorted(wanted)


def time_correction_holders(
    recordings: list[Recording], offset: datetime.timedelta
) -> dict[uuid.UUID, int]:
    """For each recording whose corrected start falls in another officer's assignment of
    its device: that officer's id. Recordings are attributed by recorded time (as at sync);
    where the device's history names nobody at the corrected time, the attribution stays."""
    from backend.devices.services import AssignmentIndex

    devices = {r.device_id for r in recordings}
    indexes = {device_id: AssignmentIndex(device_id) for device_id in devices}
    moved: dict[uuid.UUID, int] = {}
    for recording in recordings:
        holder = indexes[recording.device_id].officer_at(recording.started_at + offset)
        if holder is not None and holder != recording.officer_id:
            moved[recording.pk] = holder
    return moved


def recordings_lock_for_time_correction(ids: Sequence[uuid.UUID]) -> list[Recording]:
    """The chosen recordings, locked FOR UPDATE in primary-key order (inside the caller's
    transaction)."""
    return list(Recording.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def recordings_shift_times(
    recordings: list[Recording],
    *,
    offset: datetime.timedelta,
    reason: str,
    batch_id: uuid.UUID,
    corrected_by: User | None,
    new_holders: dict[uuid.UUID, int],
) -> list[RecordingTimeCorrection]:
    """Move the locked recordings' corrected times by ``offset`` (the device-reported times
    and the original bytes never change), re-attribute those in ``new_holders``, and keep
    one history row each (one statement). The caller re-checks what depends on the times
    (coverage: backend/coverage/retime.py) and then audits with
    :func:`time_corrections_audit`."""
    offset_ms = round(offset / datetime.timedelta(milliseconds=1))
    corrections = []
    for recording in recordings:
        corrections.append(
            RecordingTimeCorrection(
                recording=recording,
                batch_id=batch_id,
                previous_started_at=recording.started_at,
                previous_ended_at=recording.ended_at,
                new_started_at=recording.started_at + offset,
                new_ended_at=recording.ended_at + offset,
                offset=offset,
                reason=reason,
                corrected_by=corrected_by,
            )
        )
        recording.started_at += offset
        recording.ended_at += offset
        recording.clock_offset_ms += offset_ms
        fields = ["started_at", "ended_at", "clock_offset_ms", "updated_at"]
        if recording.pk in new_holders:  # the corrected time is another officer's shift
            recording.officer_id = new_holders[recording.pk]
            fields.append("officer")
        recording.save(update_fields=fields)
    RecordingTimeCorrection.objects.bulk_create(corrections)
    return corrections


def time_corrections_audit(
    corrections: list[RecordingTimeCorrection],
    *,
    actor_user: User | None,
    offset: datetime.timedelta,
    reason: str,
    batch_id: uuid.UUID,
    previous_officers: dict[uuid.UUID, int | None],
    new_holders: dict[uuid.UUID, int],
) -> None:
    """One ``recording.time_corrected`` audit event per correction, appended in one
    statement sharing ``batch_id``."""
    actor = Actor.user(actor_user) if actor_user is not None else Actor.system()
    audit_record_many(
        AuditEntry(
            actor=actor,
            action="recording.time_corrected",
            object_type="recording",
            object_id=correction.recording_id,
            data={
                "batch_id": str(batch_id),
                "correction_id": correction.pk,
                "recordings_in_batch": len(corrections),
                "device_started_at": correction.recording.device_started_at.isoformat(),
                "previous_started_at": correction.previous_started_at.isoformat(),
                "previous_ended_at": correction.previous_ended_at.isoformat(),
                "started_at": correction.new_started_at.isoformat(),
                "ended_at": correction.new_ended_at.isoformat(),
                "offset_seconds": offset.total_seconds(),
                "reason": reason,
                **(
                    {
                        "officer_id_before": previous_officers[correction.recording_id],
                        "officer_id": new_holders[correction.recording_id],
                    }
                    if correction.recording_id in new_holders
                    else {}
                ),
                "via": "user" if actor_user is not None else "console",
            },
        )
        for correction in corrections
    )
