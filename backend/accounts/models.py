"""Units (bureau → justice offices), users with roles, and officers with certificates."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    BUREAU = "bureau", _("司法局")
    OFFICE = "office", _("司法所")
    DEPARTMENT = "department", _("内设机构")


class Unit(models.Model):
    """A node of the organisation tree. `path` is materialised ("/1/4/") for subtree scoping."""

    name = models.CharField(_("名称"), max_length=200, unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=500, db_index=True, editable=False, default="/")

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    FIELD_OFFICER = "field_officer", _("执法人员")
    CORRECTION_OFFICER = "correction_officer", _("社区矫正工作人员")
    SUPERVISOR = "supervisor", _("监督人员")
    LEGAL_OFFICER = "legal_officer", _("法制审核人员")
    STORAGE_ADMIN = "storage_admin", _("存储管理员")
    AUDITOR = "auditor", _("审计人员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")


class User(AbstractUser):
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(
        _("角色"), max_length=30, choices=Role.choices, default=Role.FIELD_OFFICER
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")


class CertificateStatus(models.TextChoices):
    APPLIED = "applied", _("申领")
    RENEWED = "renewed", _("换发")
    UNKNOWN = "unknown", _("未知")


class Officer(models.Model):
    """An enforcement officer from the roster (行政执法人员清单).

    Officers without a valid certificate are kept (the roster is the source of truth)
    but flagged: only certified officers may enforce (持证上岗).
    """

    name = models.CharField(_("姓名"), max_length=100)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="officers")
    post = models.CharField(_("执法岗位"), max_length=100, blank=True)
    enforcement_type = models.CharField(_("执法类型"), max_length=100, blank=True)
    staffing_category = models.CharField(_("编制类别"), max_length=50, blank=True)
    certificate_number = models.CharField(
        _("证件编号"), max_length=50, null=True, blank=True, unique=True
    )
    certificate_valid_until = models.DateField(_("证件有效期至"), null=True, blank=True)
    certificate_status = models.CharField(
        _("证件情况"),
        max_length=20,
        choices=CertificateStatus.choices,
        default=CertificateStatus.UNKNOWN,
    )
    user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="officer"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("执法人员")
        verbose_name_plural = _("执法人员")
        constraints = [
            # Roster rows without a certificate number are identified by name within a unit.
            models.UniqueConstraint(
                fields=["name", "unit"],
                condition=models.Q(certificate_number__isnull=True),
                name="officer_unique_uncertified_name_per_unit",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.certificate_number or '无证'})"

    def certificate_valid_on(self, day: datetime.date | None = None) -> bool:
        day = day or timezone.localdate()
        return bool(
            self.certificate_number
            and self.certificate_valid_until is not None
            and self.certificate_valid_until >= day
        )

    @property
    def certificate_problem(self) -> str | None:
        """Why this officer may not enforce today (text a supervisor reads); None if certified."""
        if not self.certificate_number:
            return str(_("无执法证件编号"))
        if self.certificate_valid_until is None:
            return str(_("执法证无有效期"))
        if self.certificate_valid_until < timezone.localdate():
            return str(_("执法证已过期"))
        return None
