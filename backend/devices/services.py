"""Enrolment, revocation, authentication, assignment and clock measurement of devices."""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Unit
from backend.audit.services import Actor, audit_record
from backend.config.errors import (
    Conflict,
    FieldVaultError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from backend.devices.models import (
    ClockReading,
    Device,
    DeviceAssignment,
    DeviceKind,
    DeviceState,
    EnrolmentCode,
    LedgerState,
)

TOKEN_PREFIX = "fvd_"  # noqa: S105 - a prefix, not a secret


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Enrolment:
    device: Device
    token: str  # shown once; only its hash is stored


def _valid_kind_and_serial(kind: str, serial: str) -> str:
    if kind not in DeviceKind.values:
        raise InvalidInput(
            f"unknown device kind {kind!r}",
            code="unknown_device_kind",
            details={"allowed": list(DeviceKind.values)},
        )
    serial = serial.strip()
    if not serial or len(serial) > 100:
        raise InvalidInput("serial must be 1–100 characters", code="invalid_serial")
    return serial


def _already_enrolled(device: Device) -> Conflict:
    return Conflict(
        "a device of this kind with this serial is already enrolled; "
        "re-enrolling it is an administrator's action",
        code="device_already_enrolled",
        details={"kind": device.kind, "serial": device.serial},
    )


def device_enroll(
    *,
    kind: str,
    serial: str,
    actor: Actor,
    model_name: str = "",
    firmware: str = "",
    unit: Unit | None = None,
    officer: Officer | None = None,
) -> Enrolment:
    """Register a new device and issue its credential.

    A device that is already registered (same kind and serial, active or revoked) is
    refused with 409 `device_already_enrolled`: enrolling never rebinds or revives a
    device. Replacing a known device's credential is `device_reenrol`, an explicit
    administrator's action.
    """
    serial = _valid_kind_and_serial(kind, serial)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        existing = Device.objects.filter(kind=kind, serial=serial).first()
        if existing is not None:
            raise _already_enrolled(existing)
        try:
            with transaction.atomic():
                device = Device.objects.create(
                    kind=kind,
                    serial=serial,
                    model_name=model_name,
                    firmware=firmware,
                    unit=unit if unit is not None else (officer.unit if officer else None),
                    token_hash=_token_digest(token),
                    state=DeviceState.ACTIVE,
                    enrolled_at=now,
                )
        except IntegrityError as exc:  # a concurrent enrolment of the same serial won
            raise Conflict(
                "a device of this kind with this serial is already enrolled",
                code="device_already_enrolled",
                details={"kind": kind, "serial": serial},
            ) from exc
        audit_record(
            actor=actor,
            action="device.enrolled",
            object_type="device",
            object_id=device.pk,
            data={"kind": kind, "serial": serial},
        )
        if officer is not None:
            device_assign(device=device, officer=officer, starts_at=now, actor=actor)
    return Enrolment(device=device, token=token)


def device_reenrol(*, device: Device, actor: Actor, reason: str = "") -> Enrolment:
    """An administrator replaces a known device's credential (lost token, factory reset).

    The old token stops working at once. A revoked device is reactivated only here, by a
    named administrator, and the audit entry records that it was revoked. The device keeps
    its unit and assignment: reassigning it is `device_assign`.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        previous_state = device.state
        device.token_hash = _token_digest(token)
        device.state = DeviceState.ACTIVE
        device.enrolled_at = timezone.now()
        device.revoked_at = None
        device.save(update_fields=["token_hash", "state", "enrolled_at", "revoked_at"])
        audit_record(
            actor=actor,
            action="device.re_enrolled",
            object_type="device",
            object_id=device.pk,
            data={
                "kind": device.kind,
                "serial": device.serial,
                "previous_state": previous_state,
                "reason": reason,
            },
        )
    return Enrolment(device=device, token=token)


def device_revoke(*, device: Device, actor: Actor, reason: str = "") -> Device:
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        device.state = DeviceState.REVOKED
        device.revoked_at = timezone.now()
        device.token_hash = None
        device.save(update_fields=["state", "revoked_at", "token_hash"])
        audit_record(
            actor=actor,
            action="device.revoked",
            object_type="device",
            object_id=device.pk,
            data={"reason": reason},
        )
    return device


def device_ledger_set(*, device: Device, ledger: str, note: str, actor: Actor) -> Device:
    """Record the device's ledger state (在用, 维修, 遗失, 停用) with a note; a device not in
    use is not counted as silent. Its token is left as it is (revoke a lost device's token
    separately)."""
    if ledger not in LedgerState.values:
        raise InvalidInput(_("台账状态无效。"), code="invalid_ledger_state")
    if ledger != LedgerState.IN_USE and not note.strip():
        raise InvalidInput(_("请写明原因（如送修单号、遗失经过）。"), code="note_required")
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        before = locked.ledger
        locked.ledger, locked.ledger_note = ledger, note.strip()[:300]
        locked.save(update_fields=["ledger", "ledger_note"])
        audit_record(
            actor=actor,
            action="device.ledger_changed",
            object_type="device",
            object_id=locked.pk,
            data={"from": before, "to": ledger, "note": locked.ledger_note},
        )
    return locked


def device_authenticate(*, token: str) -> Device | None:
    """The device owning this bearer token, or None (unknown or revoked).

    Looked up on every request, so revocation takes effect on the next one.
    """
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    device = (
        Device.objects.select_related("unit")
        .filter(token_hash=_token_digest(token), state=DeviceState.ACTIVE)
        .first()
    )
    if device is None:
        return None
    now = timezone.now()
    # Touch at most once a minute: every upload chunk request authenticates.
    if device.last_seen_at is None or now - device.last_seen_at > datetime.timedelta(minutes=1):
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now
    return device


def device_assign(
    *, device: Device, officer: Officer, starts_at: datetime.datetime, actor: Actor
) -> DeviceAssignment:
    """Hand a device to an officer from `starts_at`, closing the previous holder's period."""
    with transaction.atomic():
        Device.objects.select_for_update().get(pk=device.pk)
        current = DeviceAssignment.objects.filter(device=device, ends_at__isnull=True).first()
        if current is not None:
            if current.officer_id == officer.pk:
                return current
            if starts_at <= current.starts_at:
                raise Conflict(
                    "a new assignment must start after the current one",
                    code="assignment_out_of_order",
                    details={"current_starts_at": current.starts_at.isoformat()},
                )
            current.ends_at = starts_at
            current.save(update_fields=["ends_at"])
        later = DeviceAssignment.objects.filter(device=device, starts_at__gte=starts_at).exists()
        if later:
            raise Conflict(
                "an assignment already starts after this time", code="assignment_overlap"
            )
        try:
            assignment = DeviceAssignment.objects.create(
                device=device, officer=officer, starts_at=starts_at
            )
        except IntegrityError as exc:
            raise Conflict(
                "the device already has an open assignment", code="assignment_overlap"
            ) from exc
        audit_record(
            actor=actor,
            action="device.assigned",
            object_type="device",
            object_id=device.pk,
            data={"officer_id": officer.pk, "starts_at": starts_at.isoformat()},
        )
    return assignment


class AssignmentIndex:
    """Which officer held a device at a given time, from one query for the device's whole
    history (sync attributes a manifest's new recordings with it, time corrections
    re-attribute with it)."""

    def __init__(self, device_id: uuid.UUID):
        self.periods = list(
            DeviceAssignment.objects.filter(device_id=device_id)
            .order_by("starts_at")
            .values_list("starts_at", "ends_at", "officer_id")
        )

    def officer_at(self, at: datetime.datetime) -> int | None:
        for starts_at, ends_at, officer_id in reversed(self.periods):
            if starts_at <= at and (ends_at is None or at < ends_at):
                return int(officer_id)
        return None


def officer_holding_device_at(*, device: Device, at: datetime.datetime) -> Officer | None:
    assignment = (
        DeviceAssignment.objects.select_related("officer")
        .filter(device=device, starts_at__lte=at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .order_by("-starts_at")
        .first()
    )
    return assignment.officer if assignment else None


def device_clock_offset_ms(
    *, device_time: datetime.datetime, server_time: datetime.datetime
) -> int:
    """server time − device time in ms; a clock beyond FV_DEVICE_CLOCK_MAX_OFFSET_DAYS (year
    1, year 9999) is refused with 400 rather than carried into every corrected time."""
    limit = datetime.timedelta(days=settings.FV_DEVICE_CLOCK_MAX_OFFSET_DAYS)
    try:
        offset = server_time - device_time
    except OverflowError:  # 9999-12-31T23:59-05:00 is past year 9999 in UTC
        offset = datetime.timedelta.max
    if abs(offset) > limit:
        raise InvalidInput(
            "the device clock is too far from the server's",
            code="device_clock_out_of_range",
            details={
                "device_time": device_time.isoformat(),
                "server_time": server_time.isoformat(),
                "max_offset_days": settings.FV_DEVICE_CLOCK_MAX_OFFSET_DAYS,
            },
        )
    return round(offset.total_seconds() * 1000)


def device_officer(*, device: Device, at: datetime.datetime | None = None) -> Officer:
    """The officer a device acts for: its holder at ``at`` (now by default)."""
    officer = officer_holding_device_at(device=device, at=at or timezone.now())
    if officer is None:
        officer = officer_holding_device_at(device=device, at=timezone.now())
    if officer is None:
        raise PermissionDenied(_("设备未分配给执法人员"), code="device_not_assigned")
    return officer


def device_clock_record(
    *, device: Device, device_time: datetime.datetime, server_time: datetime.datetime
) -> ClockReading:
    offset_ms = device_clock_offset_ms(device_time=device_time, server_time=server_time)
    reading = ClockReading.objects.create(
        device=device, device_time=device_time, server_time=server_time, offset_ms=offset_ms
    )
    Device.objects.filter(pk=device.pk).update(last_clock_offset_ms=offset_ms)
    return reading


def device_get(*, device_id: str) -> Device:
    try:
        return Device.objects.get(pk=device_id)
    except (Device.DoesNotExist, ValueError, ValidationError) as exc:
        raise NotFound("no such device", code="device_not_found") from exc


ENROLMENT_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed


def _code_digest(code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode("ascii", "ignore")).hexdigest()


def enrolment_code_issue(
    *,
    kind: str,
    actor: Actor,
    officer: Officer | None = None,
    unit: Unit | None = None,
    serial: str = "",
    valid_for: datetime.timedelta = datetime.timedelta(hours=24),
) -> str:
    """Issue a single-use enrolment code (shown once, 60 random bits) for one device.

    The code enrols one device of `kind`: the one with `serial` when given, otherwise any
    device not yet registered ("new device only"). It never enrols a known device.
    """
    if serial:
        serial = _valid_kind_and_serial(kind, serial)
    elif kind not in DeviceKind.values:
        raise InvalidInput(
            f"unknown device kind {kind!r}",
            code="unknown_device_kind",
            details={"allowed": list(DeviceKind.values)},
        )
    raw = "".join(secrets.choice(ENROLMENT_CODE_ALPHABET) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
    with transaction.atomic():
        issued = EnrolmentCode.objects.create(
            code_hash=_code_digest(code),
            kind=kind,
            serial=serial,
            officer=officer,
            unit=unit or (officer.unit if officer else None),
            issued_by=actor.identifier,
            expires_at=timezone.now() + valid_for,
        )
        audit_record(
            actor=actor,
            action="device.enrolment_code_issued",
            object_type="enrolment_code",
            object_id=issued.pk,
            data={
                "kind": kind,
                "serial": serial or None,
                "officer_id": officer.pk if officer else None,
            },
        )
    return code


def device_enrol_with_code(
    *, code: str, serial: str, model_name: str = "", firmware: str = ""
) -> Enrolment:
    """A device redeems its one-time code for its own credential.

    The code enrols only what it was issued for: its kind, its serial if it names one,
    and never a device that is already registered (409 `device_already_enrolled`, the code
    stays unused, the device and its token are untouched).
    """
    now = timezone.now()
    refused: FieldVaultError | None = None
    with transaction.atomic():
        issued = (
            EnrolmentCode.objects.select_for_update(of=("self",))
            .select_related("officer", "unit")
            .filter(code_hash=_code_digest(code))
            .first()
        )
        if issued is None or issued.used_at is not None or issued.expires_at <= now:
            # One answer for unknown, used and expired: a code cannot be probed.
            raise NotAuthenticated(
                "the enrolment code is unknown, used or expired", code="invalid_enrolment_code"
            )
        wanted = serial.strip()
        existing = Device.objects.filter(kind=issued.kind, serial=wanted).first()
        if issued.serial and wanted != issued.serial:
            refused = PermissionDenied(
                "this enrolment code was issued for another device",
                code="enrolment_code_other_device",
            )
        elif existing is not None:
            refused = _already_enrolled(existing)
        else:
            enrolment = device_enroll(
                kind=issued.kind,
                serial=wanted,
                model_name=model_name,
                firmware=firmware,
                unit=issued.unit,
                officer=issued.officer,
                actor=Actor.system(),
            )
            issued.used_at = now
            issued.device = enrolment.device
            issued.save(update_fields=["used_at", "device"])
            audit_record(
                actor=Actor.device(enrolment.device),
                action="device.enrolment_code_redeemed",
                object_type="enrolment_code",
                object_id=issued.pk,
                data={"serial": enrolment.device.serial},
            )
            return enrolment
        audit_record(
            actor=Actor.system(),
            action="device.enrolment_refused",
            object_type="enrolment_code",
            object_id=issued.pk,
            data={"serial": wanted[:100], "reason": refused.code},
        )
    raise refused


def tls_ca_pem() -> str | None:
    """The internal CA certificate a device pins for the server's TLS (FV_TLS_CA_FILE, made
    by `python -m ops.tls`), handed over with its credential; None when none is configured
    (a publicly trusted certificate). A configured file that cannot be read stops the
    enrolment loudly rather than leaving the device without its pin."""
    path = settings.FV_TLS_CA_FILE
    if not path:
        return None
    with open(path, encoding="ascii") as handle:
        text = handle.read()
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"FV_TLS_CA_FILE is not a PEM certificate: {path}")
    return text
