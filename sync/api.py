"""Device-facing sync endpoints. The resumable upload endpoint (tus) is sync/tus/."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import TypeAdapter

from backend.config.errors import PermissionDenied
from backend.devices.models import DeviceKind
from backend.devices.services import device_enrol_with_code, tls_ca_pem
from sync.auth import DeviceBearer, request_device
from sync.docks import DockManifestAnswer, dock_manifest_sync
from sync.schemas import (
    DockManifestIn,
    DockManifestOut,
    EnrolIn,
    EnrolOut,
    ManifestIn,
    ManifestOut,
)
from sync.services import ManifestAnswer, manifest_sync

_MANIFEST_ANSWER = TypeAdapter(ManifestAnswer)
_DOCK_MANIFEST_ANSWER = TypeAdapter(DockManifestAnswer)

router = Router(tags=["device sync"], auth=DeviceBearer())


@router.post("manifest", response=ManifestOut, operation_id="sync_manifest")
def post_manifest(request: HttpRequest, payload: ManifestIn) -> HttpResponse:
    """Tell the server which clips this device holds and learn what it still needs.

    Send every clip still on the device (up to 20,000 per request), with its SHA-256 and
    its start/end in the device's own clock, plus the device clock now (`device_time`).
    The answer gives the server time, the measured clock offset, and per clip a status.
    Delete a clip from the device **only** when its status is `stored`. For `missing`,
    `partial` and re-sendable `mismatch` clips, upload the bytes to `upload_url` with tus
    1.0.0 (HEAD to learn the offset, then PATCH). Safe to repeat: the same manifest
    twice changes nothing.
    """
    device = request_device(request)
    if device.kind == DeviceKind.DOCK:
        raise PermissionDenied(
            "a dock syncs on behalf of its cameras: POST /api/sync/v1/dock/manifest",
            code="dock_must_name_cameras",
        )
    answer = manifest_sync(device=device, device_time=payload.device_time, clips=payload.clips)
    # The service's answer has exactly ManifestOut's shape (tests/contract checks it) and is
    # serialised by pydantic-core in one call: ninja would validate the 10,000 items again
    # and encode them with the standard library's JSON encoder, doubling the latency.
    return HttpResponse(_MANIFEST_ANSWER.dump_json(answer), content_type="application/json")


@router.post("dock/manifest", response=DockManifestOut, operation_id="sync_dock_manifest")
def post_dock_manifest(request: HttpRequest, payload: DockManifestIn) -> HttpResponse:
    """A dock (采集工作站) syncs on behalf of the cameras in its slots.

    Per camera: its kind and serial as read from it, its slot, its clock where the dock can
    read it (`camera_time` at workstation time `measured_at`), and every clip still on it
    (the same clip entries as a camera's own manifest). Each clip becomes a recording of
    that camera, attributed to the officer holding it at the corrected recording time,
    exactly as if the camera had synced itself; the dock uploads the bytes to the
    `upload_url`s it is given (tus, with its own credential) and deletes from the camera
    **only** what is `stored`.

    A dock acts only for its own unit's cameras. A camera never seen before is registered
    to the dock's unit, `unassigned` (its clips are kept for an administrator to assign).
    403 `camera_of_other_unit` / `camera_revoked`: the whole manifest is refused and
    nothing changes; 403 `not_a_dock` for any other device, `dock_without_unit` for a dock
    enrolled to no unit.
    """
    device = request_device(request)
    answer = dock_manifest_sync(
        dock=device, device_time=payload.device_time, cameras=payload.cameras
    )
    return HttpResponse(_DOCK_MANIFEST_ANSWER.dump_json(answer), content_type="application/json")


@router.post("enrol", response=EnrolOut, auth=None, operation_id="sync_enrol")
def post_enrol(request: HttpRequest, payload: EnrolIn) -> EnrolOut:
    """Redeem a one-time enrolment code for this device's credential.

    The administrator issues the code (valid 24 h, single use) for a device kind and
    usually an officer; the device sends it with its serial number and receives its bearer
    token, which only it ever sees. An unknown, used or expired code answers 401. A code
    enrols only a device not yet registered: a serial that is already registered (active
    or revoked) answers 409 `device_already_enrolled` and changes nothing (the code stays
    unused); a code issued for one serial answers 403 `enrolment_code_other_device` for
    any other. Replacing a known device's credential is an administrator's re-enrolment.
    """
    enrolment = device_enrol_with_code(
        code=payload.code,
        serial=payload.serial,
        model_name=payload.model_name,
        firmware=payload.firmware,
    )
    return EnrolOut(
        device_id=str(enrolment.device.pk), token=enrolment.token, tls_ca_pem=tls_ca_pem()
    )
