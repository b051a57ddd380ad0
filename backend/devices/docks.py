"""Docks (采集工作站) acting for the cameras plugged into them.

A dock is a device of kind `dock` enrolled to a unit. It syncs on behalf of the cameras in
its slots: each camera is a device in its own right (kind + serial as read from it), and
its clips belong to it and to the officer holding it at the recording time. A dock acts
only for cameras of its own unit; a camera never seen before is registered to the dock's
unit, unassigned, for an administrator to hand to an officer.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.audit.services import Actor, audit_record
from backend.config.errors import InvalidInput, PermissionDenied
from backend.devices.models import (
    Device,
    DeviceAssignment,
    DeviceKind,
    DeviceState,
    DockPresence,
)

DOCKABLE_KINDS = (DeviceKind.BODY_CAMERA, DeviceKind.HANDHELD)


@dataclass(frozen=True)
class DockedCamera:
    camera: Device
    registered: bool  # first seen now: registered by this dock
    assigned: bool  # an officer holds it now (or held it at some time)


def dock_check(dock: Device) -> None:
    """The caller is a dock of a unit: only then may it act for cameras."""
    if dock.kind != DeviceKind.DOCK:
        raise PermissionDenied(
            "only a dock (采集工作站) syncs on behalf of cameras",
            code="not_a_dock",
            details={"kind": dock.kind},
        )
    if dock.unit_id is None:
        raise PermissionDenied(
            "this dock belongs to no unit; an administrator must enrol it to one",
            code="dock_without_unit",
        )


def dock_camera_resolve(
    *, dock: Device, kind: str, serial: str, model_name: str = "", slot: str = ""
) -> DockedCamera:
    """The camera a dock names: known and of the dock's unit, or registered now.

    A camera of another unit (or of none) answers 403 `camera_of_other_unit`, a revoked
    one 403 `camera_revoked`; both are audited and nothing else changes.
    """
    if kind not in DOCKABLE_KINDS:
        raise InvalidInput(
            "a dock syncs body cameras and handheld terminals only",
            code="camera_kind_not_dockable",
            details={"kind": kind, "allowed": list(DOCKABLE_KINDS)},
        )
    serial = serial.strip()
    if not serial:
        raise InvalidInput("serial must be 1–100 characters", code="invalid_serial")
    registered = False
    camera = Device.objects.filter(kind=kind, serial=serial).first()
    if camera is None:
        try:
            with transaction.atomic():
                camera = Device.objects.create(
                    kind=kind,
                    serial=serial,
                    model_name=model_name[:100],
                    unit_id=dock.unit_id,
                    state=DeviceState.ACTIVE,
                    token_hash=None,
                    enrolled_at=timezone.now(),
                    registered_by_dock=dock,
                )
                audit_record(
                    actor=Actor.device(dock),
                    action="dock.camera_registered",
                    object_type="device",
                    object_id=camera.pk,
                    data={
                        "dock_id": str(dock.pk),
                        "dock_serial": dock.serial,
                        "camera_kind": kind,
                        "camera_serial": serial,
                        "slot": slot,
                    },
                )
            registered = True
        except IntegrityError:  # another dock registered it at the same moment
            camera = Device.objects.get(kind=kind, serial=serial)
    refusal = None
    if camera.unit_id != dock.unit_id:
        refusal = PermissionDenied(
            "this camera belongs to another unit; a dock acts only for its own unit's cameras",
            code="camera_of_other_unit",
            details={"kind": kind, "serial": serial},
        )
    elif camera.state != DeviceState.ACTIVE:
        refusal = PermissionDenied(
            "this camera is revoked",
            code="camera_revoked",
            details={"kind": kind, "serial": serial},
        )
    if refusal is not None:
        with transaction.atomic():
            audit_record(
                actor=Actor.device(dock),
                action="dock.camera_refused",
                object_type="device",
                object_id=camera.pk,
                data={
                    "dock_id": str(dock.pk),
                    "dock_serial": dock.serial,
                    "camera_kind": kind,
                    "camera_serial": serial,
                    "slot": slot,
                    "code": refusal.code,
                },
            )
        raise refusal
    assigned = DeviceAssignment.objects.filter(device=camera).exists()
    return DockedCamera(camera=camera, registered=registered, assigned=assigned)


def dock_presence_record(
    *,
    dock: Device,
    camera: Device,
    slot: str,
    clips: int,
    pending_clips: int,
    pending_bytes: int,
    at: datetime.datetime,
) -> None:
    """What the dock last reported of the camera (its slot, what it still holds unstored).
    A camera reported in a slot leaves any other camera's claim on that slot."""
    DockPresence.objects.update_or_create(
        dock=dock,
        camera=camera,
        defaults={
            "slot": slot,
            "last_seen_at": at,
            "clips": clips,
            "pending_clips": pending_clips,
            "pending_bytes": pending_bytes,
        },
    )
    if slot:
        DockPresence.objects.filter(dock=dock, slot=slot).exclude(camera=camera).update(slot="")
