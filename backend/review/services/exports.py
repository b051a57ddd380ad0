"""Export packages and the watermarked copies (proxies) made for them."""

from __future__ import annotations

import datetime
import hashlib
import logging
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, NotFound, PermissionDenied
from backend.footage.models import MediaKind, RecordingState
from backend.footage.storage import object_store, original_version_params
from backend.review.models import (
    OUTSIDE_BODIES,
    PARTIES,
    AccessBasis,
    AccessGrant,
    ExportPackage,
    ProxiesState,
    RegisterAction,
)
from backend.review.selectors import (
    grant_require_usable,
    recordings_require_not_destroyed,
)
from backend.review.services.register import register_write

# -- exports -----------------------------------------------------------------------------------

logger = logging.getLogger(__name__)


def export_create(
    *,
    grant: AccessGrant,
    user: User,
    purpose: str = "",
    ip_address: str | None = None,
    now: datetime.datetime | None = None,
) -> ExportPackage:
    """Record an export under a copy grant. The package itself is streamed on download
    (backend.review.packaging); this row fixes what goes in and the hashes it must show.
    Recordings under legal hold are exported all the same: a hold stops destruction, not
    viewing, and the export is registered like any other."""
    now = now or timezone.now()
    if grant.holder_id != user.pk:
        raise NotFound("no such grant", code="grant_not_found")
    grant_require_usable(grant, at=now)
    if not grant.can_copy:
        raise PermissionDenied("this grant allows viewing only", code="grant_view_only")
    recordings = list(
        grant.recordings.select_related(
            "device", "officer", "officer__unit", "device__unit"
        ).order_by("started_at")
    )
    recordings_require_not_destroyed(recordings)
    not_stored = [str(r.pk) for r in recordings if r.state != RecordingState.STORED]
    if not_stored:
        raise Conflict(
            "some recordings are not stored yet",
            code="recordings_not_stored",
            details={"recordings": not_stored},
        )
    request = grant.request
    outside = request.requester_kind in OUTSIDE_BODIES | PARTIES
    who = request.applicant_name or user.get_full_name() or user.get_username()
    if request.applicant_organisation:
        who = f"{request.applicant_organisation} {who}"
    watermark = f"{who} {timezone.localtime(now).date().isoformat()}" if outside else ""
    manifest = {
        "recordings": [
            {
                "id": str(r.pk),
                "file_name": r.file_name,
                "sha256": r.sha256,
                "size_bytes": r.size_bytes,
                "media_kind": r.media_kind,
                "device_serial": r.device.serial,
                "officer": r.officer.name if r.officer else None,
                "officer_certificate": r.officer.certificate_number if r.officer else None,
                "started_at": r.started_at.isoformat(),
                "ended_at": r.ended_at.isoformat(),
                "device_started_at": r.device_started_at.isoformat(),
                "clock_offset_ms": r.clock_offset_ms,
                "stored_at": r.stored_at.isoformat() if r.stored_at else None,
            }
            for r in recordings
        ],
    }
    needs_proxies = outside and any(r.media_kind in VISUAL_KINDS for r in recordings)
    with transaction.atomic():
        export = ExportPackage.objects.create(
            grant=grant,
            created_by=user,
            created_at=now,
            purpose=purpose.strip() or request.purpose,
            watermark_text=watermark,
            with_proxies=outside,
            manifest=manifest,
            proxies_state=ProxiesState.PENDING if needs_proxies else ProxiesState.NONE,
        )
        if needs_proxies:
            export_id = str(export.pk)
            transaction.on_commit(lambda: _enqueue_proxies(export_id))
        for recording in recordings:
            register_write(
                user=user,
                action=RegisterAction.EXPORT,
                basis=AccessBasis.GRANT,
                purpose=export.purpose,
                recording=recording,
                grant=grant,
                export=export,
                ip_address=ip_address,
            )
    return export


VISUAL_KINDS = frozenset({MediaKind.VIDEO, MediaKind.PHOTO})  # audio carries no visible mark
PROXIES_CLAIM_STALE = datetime.timedelta(hours=2)  # a worker killed mid-job is retried


def _enqueue_proxies(export_id: str) -> None:
    from backend.review.tasks import prepare_export_proxies

    prepare_export_proxies.enqueue(export_id)


def _enqueue_copies_withdrawal(grant_id: str) -> None:
    from backend.review.tasks import withdraw_export_copies

    withdraw_export_copies.enqueue(grant_id)


@dataclass(frozen=True)
class _GrantStopped:
    """Why an export's grant no longer allows its watermarked copies."""

    state: str  # ProxiesState.REVOKED or ProxiesState.EXPIRED
    reason: str  # grant_revoked / grant_expired (the codes grant_require_usable answers)
    error: str
    details: dict[str, object]


def _export_grant_stopped(
    export_id: uuid.UUID, *, at: datetime.datetime, lock: bool = False
) -> _GrantStopped | None:
    """Read the export's grant afresh (locked with ``lock``: a revocation locks it too) and
    say whether it was revoked or has expired at ``at``."""
    grants = AccessGrant.objects.filter(exports__pk=export_id)
    if lock:
        grants = grants.select_for_update(of=("self",))
    grant = grants.get()
    if grant.revoked_at is not None:
        return _GrantStopped(
            state=ProxiesState.REVOKED,
            reason="grant_revoked",
            error=f"grant revoked at {grant.revoked_at.isoformat()}: {grant.revoke_reason}",
            details={
                "grant": str(grant.pk),
                "revoked_at": grant.revoked_at.isoformat(),
                "revoked_by": grant.revoked_by_id,
            },
        )
    if grant.expires_at <= at:
        return _GrantStopped(
            state=ProxiesState.EXPIRED,
            reason="grant_expired",
            error=f"grant expired at {grant.expires_at.isoformat()}",
            details={"grant": str(grant.pk), "expires_at": grant.expires_at.isoformat()},
        )
    return None


def _export_proxies_withdraw(
    *, export_id: uuid.UUID, stopped: _GrantStopped, published: list[str], stage: str
) -> str:
    """The grant stopped working while (or before) its copies were made: remove what was
    already put in the derivatives bucket, say why on the export, and audit it."""
    store = object_store()
    removed: list[str] = []
    left: list[str] = []
    for key in published:
        try:
            store.client.delete_object(Bucket=settings.FV_DERIVATIVES_BUCKET, Key=key)
            removed.append(key)
        except Exception:  # named in the audit event; the export never points at it
            logger.exception("could not remove the watermarked copy %s", key)
            left.append(key)
    with transaction.atomic():
        ExportPackage.objects.filter(pk=export_id).update(
            proxies_state=stopped.state, proxies=[], proxies_error=stopped.error[:2000]
        )
        audit_record(
            actor=Actor.system(),
            action="export.proxies_withdrawn",
            object_type="export",
            object_id=export_id,
            data={
                "reason": stopped.reason,
                "stage": stage,
                **stopped.details,
                "copies_removed": removed,
                "copies_left": left,
            },
        )
    return str(stopped.state)


def export_copies_withdraw(
    *, grant_id: uuid.UUID | None = None, now: datetime.datetime | None = None
) -> int:
    """Remove the watermarked copies of ready exports whose grant stopped working — revoked
    (queued by the revocation) or expired at ``now`` (the periodic pass) — from the
    derivatives bucket, and say so on the export (state revoked/expired, audited
    ``export.proxies_withdrawn``). Returns how many exports lost their copies. Idempotent."""
    now = now or timezone.now()
    exports = ExportPackage.objects.filter(proxies_state=ProxiesState.READY).filter(
        Q(grant__revoked_at__isnull=False) | Q(grant__expires_at__lte=now)
    )
    if grant_id is not None:
        exports = exports.filter(grant_id=grant_id)
    withdrawn = 0
    for export_id in exports.values_list("pk", flat=True):
        with transaction.atomic():
            export = (
                ExportPackage.objects.select_for_update()
                .filter(pk=export_id, proxies_state=ProxiesState.READY)
                .first()
            )
            stopped = _export_grant_stopped(export_id, at=now) if export else None
            if export is None or stopped is None:
                continue
            keys = [str(p["key"]) for p in export.proxies]
            _export_proxies_withdraw(
                export_id=export_id, stopped=stopped, published=keys, stage="after_ready"
            )
            withdrawn += 1
    return withdrawn


def export_proxies_prepare(*, export_id: uuid.UUID, now: datetime.datetime | None = None) -> str:
    """Burn the watermark (requester, date) into viewing copies of the export's video and
    photos and keep them in the derivatives bucket, so that downloading the package streams
    stored bytes only. Idempotent: one job claims the export; a duplicate, late or repeated
    job finds it claimed or ready and does nothing. The originals are only read.

    The grant is checked again when the job starts, before each copy is published and,
    locked against a concurrent revocation, before the export is marked ready: a grant
    revoked (or expired) after the export was queued gets no copies. What was already
    published is deleted, the export ends ``revoked`` / ``expired`` and that is audited
    (``export.proxies_withdrawn``); the word returned is that state."""
    from backend.review.packaging import package_file_name, watermark_media

    now = now or timezone.now()
    claimed = ExportPackage.objects.filter(
        Q(proxies_state=ProxiesState.PENDING)
        | Q(proxies_state=ProxiesState.WORKING, proxies_claimed_at__lt=now - PROXIES_CLAIM_STALE),
        pk=export_id,
    ).update(proxies_state=ProxiesState.WORKING, proxies_claimed_at=now)
    if not claimed:
        return "not due"
    stopped = _export_grant_stopped(export_id, at=now)
    if stopped is not None:
        return _export_proxies_withdraw(
            export_id=export_id, stopped=stopped, published=[], stage="start"
        )
    export = ExportPackage.objects.select_related("grant").get(pk=export_id)
    store = object_store()
    made: list[dict[str, object]] = []
    work = Path(tempfile.mkdtemp(prefix="fv-export-"))
    try:
        recordings = export.grant.recordings.filter(media_kind__in=VISUAL_KINDS).order_by(
            "started_at"
        )
        destroyed = sorted(str(r.pk) for r in recordings if r.state == RecordingState.DESTROYED)
        if destroyed:
            raise RuntimeError(f"recording_destroyed: {', '.join(destroyed)}")
        for recording in recordings:
            suffix = ".jpg" if recording.media_kind == MediaKind.PHOTO else ".mp4"
            target = work / f"proxy{suffix}"
            watermark_media(
                source=store.presigned_get(
                    bucket=settings.FV_ORIGINALS_BUCKET,
                    key=recording.storage_key,
                    expires_seconds=3600,
                    **original_version_params(recording),
                ),
                target=target,
                text=export.watermark_text,
                media_kind=recording.media_kind,
                work_dir=work,
            )
            digest = hashlib.sha256()
            with target.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
            name = f"{Path(package_file_name(recording)).stem}-watermarked{suffix}"
            key = f"exports/{export.pk}/{name}"
            # Transcoding takes a while: the grant may have been revoked meanwhile.
            stopped = _export_grant_stopped(export.pk, at=timezone.now())
            if stopped is not None:
                return _export_proxies_withdraw(
                    export_id=export.pk,
                    stopped=stopped,
                    published=[str(p["key"]) for p in made],
                    stage="before_publish",
                )
            store.put_file(
                bucket=settings.FV_DERIVATIVES_BUCKET,
                key=key,
                path=target,
                content_type="image/jpeg" if suffix == ".jpg" else "video/mp4",
            )
            made.append(
                {
                    "recording_id": str(recording.pk),
                    "path": f"proxies/{name}",
                    "bucket": settings.FV_DERIVATIVES_BUCKET,
                    "key": key,
                    "sha256": digest.hexdigest(),
                    "size_bytes": target.stat().st_size,
                }
            )
            target.unlink()
    except Exception as error:  # ffmpeg or S3 refused: the export says so; a new export retries
        with transaction.atomic():
            ExportPackage.objects.filter(pk=export.pk).update(
                proxies_state=ProxiesState.FAILED, proxies_error=str(error)[:2000]
            )
            audit_record(
                actor=Actor.system(),
                action="export.proxies_failed",
                object_type="export",
                object_id=export.pk,
                data={"error": str(error)[:500]},
            )
        return "failed"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with transaction.atomic():
        # Locked: a revocation committing now waits for this, or this sees it.
        stopped = _export_grant_stopped(export.pk, at=timezone.now(), lock=True)
        if stopped is None:
            ExportPackage.objects.filter(pk=export.pk).update(
                proxies_state=ProxiesState.READY, proxies=made, proxies_error=""
            )
            audit_record(
                actor=Actor.system(),
                action="export.proxies_ready",
                object_type="export",
                object_id=export.pk,
                data={"proxies": [{"path": p["path"], "sha256": p["sha256"]} for p in made]},
            )
    if stopped is not None:
        return _export_proxies_withdraw(
            export_id=export.pk,
            stopped=stopped,
            published=[str(p["key"]) for p in made],
            stage="before_ready",
        )
    return "ready"
