"""A dock's manifest: the workstation syncs on behalf of the cameras in its slots.

Each camera's clips go through the very reconciliation a camera's own manifest does
(sync.services.clips_reconcile): recordings of the camera, attributed to its holder at
the corrected recording time, times corrected by the camera's clock offset; so verifying,
storing, coverage and retention follow unchanged. Only the uploads belong to the dock
(its credential writes them, its staging share pays for them).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, PermissionDenied
from backend.devices.docks import (
    DOCKABLE_KINDS,
    DockedCamera,
    dock_camera_resolve,
    dock_check,
    dock_presence_record,
)
from backend.devices.models import Device
from backend.devices.services import (
    device_assign,
    device_clock_offset_ms,
    device_clock_record,
)
from backend.footage.models import Recording
from media.garbage_collection import collector_paused
from sync.schemas import DockCameraIn
from sync.services import (
    ClipAnswer,
    clips_reconcile,
    validate_clip_times,
    validate_manifest,
)


@dataclass(frozen=True)
class DockCameraAnswer:
    kind: str
    serial: str
    camera_id: str
    assignment: str
    clock_offset_ms: int
    clock_source: str
    clips: list[ClipAnswer]


@dataclass(frozen=True)
class DockManifestAnswer:
    server_time: datetime.datetime
    clock_offset_ms: int
    cameras: list[DockCameraAnswer]


def _camera_offset(
    *,
    docked: DockedCamera,
    entry: DockCameraIn,
    dock_offset_ms: int,
    device_time: datetime.datetime,
    now: datetime.datetime,
) -> tuple[int, str]:
    """server − camera clock: through the workstation when the dock read the camera's
    clock, else the camera's last measured offset, else the workstation's own."""
    if entry.camera_time is not None:
        measured_at = entry.measured_at or device_time
        # camera → workstation (both read by the dock at one moment), workstation → server.
        camera_to_dock = device_clock_offset_ms(
            device_time=entry.camera_time, server_time=measured_at
        )
        offset = dock_offset_ms + camera_to_dock
        device_clock_offset_ms(  # the sum is a clock the server accepts too
            device_time=now - datetime.timedelta(milliseconds=offset), server_time=now
        )
        return offset, "measured"
    if docked.camera.last_clock_offset_ms is not None:
        return docked.camera.last_clock_offset_ms, "last_known"
    return dock_offset_ms, "dock"


def dock_manifest_sync(
    *, dock: Device, device_time: datetime.datetime, cameras: list[DockCameraIn]
) -> DockManifestAnswer:
    """Reconcile each camera's clips as if the camera had synced itself.

    Every camera is checked before anything is written: one camera of another unit (or
    revoked) refuses the whole manifest with 403 and changes nothing but the audit log,
    so a dock never half-syncs a slot.
    """
    dock_check(dock)
    seen: set[tuple[str, str]] = set()
    for entry in cameras:
        key = (entry.kind, entry.serial.strip())
        if key in seen:
            raise InvalidInput(
                "a camera is listed twice", code="duplicate_camera", details={"serial": key[1]}
            )
        seen.add(key)
        validate_manifest(entry.clips)
    total = sum(len(entry.clips) for entry in cameras)
    if total > settings.FV_MANIFEST_MAX_CLIPS:
        validate_manifest([clip for entry in cameras for clip in entry.clips])
    now = timezone.now()
    dock_offset_ms = device_clock_offset_ms(device_time=device_time, server_time=now)
    docked = [
        dock_camera_resolve(
            dock=dock,
            kind=entry.kind,
            serial=entry.serial,
            model_name=entry.model_name,
            slot=entry.slot,
        )
        for entry in cameras
    ]
    offsets = [
        _camera_offset(
            docked=camera,
            entry=entry,
            dock_offset_ms=dock_offset_ms,
            device_time=device_time,
            now=now,
        )
        for camera, entry in zip(docked, cameras, strict=True)
    ]
    for entry, (offset_ms, _source) in zip(cameras, offsets, strict=True):
        validate_clip_times(entry.clips, offset_ms)
    with transaction.atomic():
        device_clock_record(device=dock, device_time=device_time, server_time=now)
        for camera, (offset_ms, source) in zip(docked, offsets, strict=True):
            if source == "measured":
                device_clock_record(
                    device=camera.camera,
                    device_time=now - datetime.timedelta(milliseconds=offset_ms),
                    server_time=now,
                )
    answers = []
    with collector_paused():
        for camera, entry, (offset_ms, source) in zip(docked, cameras, offsets, strict=True):
            answers.append(
                _camera_sync(dock, camera, entry, offset_ms, source, dock_offset_ms, now)
            )
    return DockManifestAnswer(server_time=now, clock_offset_ms=dock_offset_ms, cameras=answers)


def _camera_sync(
    dock: Device,
    docked: DockedCamera,
    entry: DockCameraIn,
    offset_ms: int,
    source: str,
    dock_offset_ms: int,
    now: datetime.datetime,
) -> DockCameraAnswer:
    camera = docked.camera
    via = {"dock_id": str(dock.pk), "dock_serial": dock.serial, "slot": entry.slot}
    synced = clips_reconcile(
        device=camera,
        uploader=dock,
        clips=entry.clips,
        offset_ms=offset_ms,
        now=now,
        announced_detail=via,
    )
    sizes = {clip.clip_id: clip.size for clip in entry.clips}
    pending = [a for a in synced.answers if a.status != "stored"]
    with transaction.atomic():
        dock_presence_record(
            dock=dock,
            camera=camera,
            slot=entry.slot,
            clips=len(entry.clips),
            pending_clips=len(pending),
            pending_bytes=sum(sizes[a.clip_id] for a in pending),
            at=now,
        )
        camera_data = {
            **via,
            "camera_id": str(camera.pk),
            "camera_kind": camera.kind,
            "camera_serial": camera.serial,
        }
        synced.audit_refusals(uploader=dock, data=camera_data)
        audit_record(
            actor=Actor.device(dock),
            action="dock.manifest_synced",
            object_type="device",
            object_id=camera.pk,
            data={
                **camera_data,
                "clips": len(entry.clips),
                "uploads_opened": synced.uploads_opened,
                "redeclared": synced.redeclared[:100],
                "clock_offset_ms": offset_ms,
                "clock_source": source,
                "dock_clock_offset_ms": dock_offset_ms,
                "assigned": docked.assigned,
            },
        )
    return DockCameraAnswer(
        kind=camera.kind,
        serial=camera.serial,
        camera_id=str(camera.pk),
        assignment="assigned" if docked.assigned else "unassigned",
        clock_offset_ms=offset_ms,
        clock_source=source,
        clips=synced.answers,
    )


def dock_camera_assign(
    *, camera: Device, officer: Officer, starts_at: datetime.datetime, actor: Actor
) -> int:
    """An administrator hands a camera (typically one a dock registered, unassigned) to an
    officer from `starts_at`. The camera's recordings from then on that nobody held are
    attributed to the officer. Returns how many recordings were attributed."""
    if camera.kind not in DOCKABLE_KINDS:
        raise InvalidInput(_("只能分配执法记录仪或手持终端"), code="camera_kind_not_dockable")
    if officer.unit_id != camera.unit_id:
        raise PermissionDenied(_("执法人员不属于该设备的单位"), code="officer_of_other_unit")
    with transaction.atomic():
        assignment = device_assign(device=camera, officer=officer, starts_at=starts_at, actor=actor)
        if assignment.starts_at != starts_at:
            raise Conflict(_("该设备已分配给此执法人员"), code="already_assigned")
        until = Q(started_at__lt=assignment.ends_at) if assignment.ends_at else Q()
        attributed = Recording.objects.filter(
            until, device=camera, officer__isnull=True, started_at__gte=starts_at
        ).update(officer=officer)
        audit_record(
            actor=actor,
            action="dock.camera_assigned",
            object_type="device",
            object_id=camera.pk,
            data={
                "officer_id": officer.pk,
                "starts_at": starts_at.isoformat(),
                "recordings_attributed": attributed,
                "registered_by_dock": str(camera.registered_by_dock_id or ""),
            },
        )
    return attributed
