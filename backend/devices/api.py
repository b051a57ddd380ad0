"""Device administration for system administrators (enrol, list, revoke)."""

from __future__ import annotations

import datetime
import uuid

from django.http import HttpRequest
from ninja import Router, Status
from ninja.security import django_auth

from backend.accounts.models import Officer, Role, User
from backend.accounts.selectors import unit_scope_q, user_has_role
from backend.audit.services import Actor
from backend.config.errors import NotFound, PermissionDenied
from backend.devices.models import Device
from backend.devices.schemas import (
    DeviceEnrolIn,
    DeviceEnrolOut,
    DeviceOut,
    DeviceReenrolIn,
    DeviceRevokeIn,
    EnrolmentCodeIn,
    EnrolmentCodeOut,
)
from backend.devices.services import (
    device_enroll,
    device_reenrol,
    device_revoke,
    enrolment_code_issue,
    tls_ca_pem,
)

router = Router(tags=["devices"], auth=django_auth)


def _admin(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if not user_has_role(user, Role.SYSTEM_ADMIN):
        raise PermissionDenied("only system administrators manage devices")
    return user


def _device_out(device: Device) -> DeviceOut:
    return DeviceOut(
        id=str(device.pk),
        kind=device.kind,
        serial=device.serial,
        model_name=device.model_name,
        firmware=device.firmware,
        state=device.state,
        unit_id=device.unit_id,
        last_seen_at=device.last_seen_at,
        last_clock_offset_ms=device.last_clock_offset_ms,
    )


@router.post("", response={201: DeviceEnrolOut}, operation_id="devices_enrol")
def enrol(request: HttpRequest, payload: DeviceEnrolIn) -> Status:
    """Enrol a new device and return its token once.

    A device already registered (same kind and serial) answers 409 `device_already_enrolled`;
    replacing its credential is `POST /api/devices/{id}/re-enrol`.
    """
    user = _admin(request)
    officer = None
    if payload.officer_certificate_number:
        officer = Officer.objects.filter(
            certificate_number=payload.officer_certificate_number
        ).first()
        if officer is None:
            raise NotFound("no officer with that certificate number", code="officer_not_found")
    enrolment = device_enroll(
        kind=payload.kind,
        serial=payload.serial,
        model_name=payload.model_name,
        firmware=payload.firmware,
        officer=officer,
        actor=Actor.user(user),
    )
    return Status(
        201,
        DeviceEnrolOut(
            device_id=str(enrolment.device.pk), token=enrolment.token, tls_ca_pem=tls_ca_pem()
        ),
    )


@router.post("enrolment-codes", response={201: EnrolmentCodeOut}, operation_id="devices_code")
def issue_enrolment_code(request: HttpRequest, payload: EnrolmentCodeIn) -> Status:
    """Issue a one-time enrolment code for a device installer (single use, expires)."""
    user = _admin(request)
    officer = None
    if payload.officer_certificate_number:
        officer = Officer.objects.filter(
            certificate_number=payload.officer_certificate_number
        ).first()
        if officer is None:
            raise NotFound("no officer with that certificate number", code="officer_not_found")
    code = enrolment_code_issue(
        kind=payload.kind,
        serial=payload.serial,
        officer=officer,
        unit=user.unit,
        actor=Actor.user(user),
        valid_for=datetime.timedelta(hours=payload.valid_hours),
    )
    return Status(201, EnrolmentCodeOut(code=code, expires_in_hours=payload.valid_hours))


@router.get("", response=list[DeviceOut], operation_id="devices_list")
def list_devices(request: HttpRequest) -> list[DeviceOut]:
    """Devices of the administrator's units."""
    user = _admin(request)
    devices = Device.objects.filter(unit_scope_q(user, unit_field="unit")).order_by(
        "kind", "serial"
    )
    return [_device_out(device) for device in devices[:1000]]


@router.post("{device_id}/revoke", response=DeviceOut, operation_id="devices_revoke")
def revoke(request: HttpRequest, device_id: str, payload: DeviceRevokeIn) -> DeviceOut:
    """Revoke a device's credential; its next request is refused."""
    user = _admin(request)
    key = _uuid_or_none(device_id)
    scoped = Device.objects.filter(unit_scope_q(user, unit_field="unit"))
    device = scoped.filter(pk=key).first() if key is not None else None
    if device is None:
        raise NotFound("no such device", code="device_not_found")
    return _device_out(device_revoke(device=device, actor=Actor.user(user), reason=payload.reason))


@router.post("{device_id}/re-enrol", response=DeviceEnrolOut, operation_id="devices_reenrol")
def reenrol(request: HttpRequest, device_id: str, payload: DeviceReenrolIn) -> DeviceEnrolOut:
    """Replace a device's credential (audited with the reason); the old token stops at once.

    This is the only way a known device gets a new token, and the only way a revoked one
    becomes active again. The new token is shown once.
    """
    user = _admin(request)
    key = _uuid_or_none(device_id)
    scoped = Device.objects.filter(unit_scope_q(user, unit_field="unit"))
    device = scoped.filter(pk=key).first() if key is not None else None
    if device is None:
        raise NotFound("no such device", code="device_not_found")
    enrolment = device_reenrol(device=device, actor=Actor.user(user), reason=payload.reason)
    return DeviceEnrolOut(
        device_id=str(enrolment.device.pk), token=enrolment.token, tls_ca_pem=tls_ca_pem()
    )


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
