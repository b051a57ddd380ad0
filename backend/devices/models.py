"""Device registry, credentials, assignment to officers, and clock readings."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    BODY_CAMERA = "body_camera", _("执法记录仪")
    HANDHELD = "handheld", _("手持执法终端")
    TABLET = "tablet", _("平板")
    DOCK = "dock", _("采集工作站")
    POSITIONING = "positioning", _("定位终端（手机/电子腕带）")


class DeviceState(models.TextChoices):
    ACTIVE = "active", _("在用")
    REVOKED = "revoked", _("已吊销")


class LedgerState(models.TextChoices):
    """The device ledger (设备台账): whether a device is meant to be in service. Separate from
    the token's state: a camera away for repair keeps its token, and is no silent-device
    alarm every day."""

    IN_USE = "in_use", _("在用")
    REPAIR = "repair", _("维修")
    LOST = "lost", _("遗失")
    RETIRED = "retired", _("停用")


class Device(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("类型"), max_length=20, choices=DeviceKind.choices)
    serial = models.CharField(_("序列号"), max_length=100)
    model_name = models.CharField(_("型号"), max_length=100, blank=True)
    firmware = models.CharField(_("固件版本"), max_length=100, blank=True)
    unit = models.ForeignKey(
        "accounts.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    state = models.CharField(max_length=10, choices=DeviceState.choices, default=DeviceState.ACTIVE)
    ledger = models.CharField(
        _("台账状态"), max_length=10, choices=LedgerState.choices, default=LedgerState.IN_USE
    )
    ledger_note = models.CharField(_("台账说明"), max_length=300, blank=True)
    # Only a SHA-256 of the credential is kept: the token is 256 random bits, so a slow
    # password hash adds nothing and would cost every upload request.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    enrolled_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_clock_offset_ms = models.BigIntegerField(null=True, blank=True)
    # A camera first seen in a dock (采集工作站) is registered by it, without a credential
    # and unassigned until an administrator hands it to an officer.
    registered_by_dock = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("设备")
        verbose_name_plural = _("设备")
        constraints = [
            models.UniqueConstraint(fields=["kind", "serial"], name="device_unique_serial")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial}"

    @property
    def is_active(self) -> bool:
        return self.state == DeviceState.ACTIVE


class DeviceAssignment(models.Model):
    """Who held a device when: recordings are attributed by their recorded time."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="assignments")
    officer = models.ForeignKey(
        "accounts.Officer", on_delete=models.PROTECT, related_name="device_assignments"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["device", "starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(ends_at__isnull=True),
                name="device_one_open_assignment",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="assignment_ends_after_start",
            ),
        ]


class ClockReading(models.Model):
    """One sync's measurement of a device clock: offset = server time − device time."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="clock_readings")
    device_time = models.DateTimeField()
    server_time = models.DateTimeField()
    offset_ms = models.BigIntegerField()

    class Meta:
        ordering = ["device", "server_time"]
        indexes = [models.Index(fields=["device", "server_time"])]


class EnrolmentCode(models.Model):
    """A one-time code an administrator hands to a device installer.

    The device exchanges it for its own credential (POST /api/sync/v1/enrol), so the token
    is generated for and seen by the device alone. Only a hash of the code is kept.
    """

    code_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20, choices=DeviceKind.choices)
    # The one device it enrols; blank: any device of `kind` not yet registered.
    serial = models.CharField(max_length=100, blank=True, default="")
    officer = models.ForeignKey(
        "accounts.Officer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "accounts.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_by = models.CharField(max_length=64, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="enrolment_codes"
    )


class DockPresence(models.Model):
    """A camera as a dock (采集工作站) last reported it: its slot, when, and what it still
    held that the server has not stored. One row per (dock, camera), updated by each of the
    dock's manifests for that camera."""

    dock = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="docked_cameras")
    camera = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="dock_presences")
    slot = models.CharField(_("槽位"), max_length=40, blank=True)
    last_seen_at = models.DateTimeField(_("最近同步"))
    clips = models.PositiveIntegerField(default=0)
    pending_clips = models.PositiveIntegerField(default=0)
    pending_bytes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dock", "camera"], name="dock_presence_unique")
        ]
        indexes = [models.Index(fields=["dock", "slot"])]
