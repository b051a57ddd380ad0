"""Random-inspection items, targets, declared conflicts, draws and on-site inspections."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class InspectionItem(models.Model):
    """One row of the random-inspection item list (随机抽查事项清单)."""

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveIntegerField(_("序号"), null=True, blank=True)
    inspecting_body = models.CharField(_("检查主体"), max_length=200)
    name = models.CharField(_("抽查事项"), max_length=300)
    legal_basis = models.TextField(_("检查依据"), blank=True)
    content = models.TextField(_("检查内容"), blank=True)
    methods = models.CharField(_("检查方式"), max_length=200, blank=True)
    target_type = models.CharField(_("适用对象"), max_length=200)
    ratio_percent = models.DecimalField(_("抽查比例"), max_digits=5, decimal_places=2)
    declared_target_count = models.PositiveIntegerField(_("市场主体数量"), null=True, blank=True)
    frequency = models.CharField(_("抽查频次"), max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("随机抽查事项")
        verbose_name_plural = _("随机抽查事项")
        constraints = (
            models.UniqueConstraint(fields=["unit", "name"], name="inspection_item_unique_name"),
            models.CheckConstraint(
                condition=models.Q(ratio_percent__gt=0, ratio_percent__lte=100),
                name="inspection_item_ratio_range",
            ),
        )

    def __str__(self) -> str:
        return self.name


class InspectionTarget(models.Model):
    """An inspectable party: a law firm, notary office, grassroots legal-service office …"""

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("名称"), max_length=300)
    target_type = models.CharField(_("类型"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("检查对象")
        verbose_name_plural = _("检查对象")
        constraints = (
            models.UniqueConstraint(fields=["unit", "name"], name="inspection_target_unique_name"),
        )

    def __str__(self) -> str:
        return self.name


class InspectorConflict(models.Model):
    """A declared conflict of interest (回避): this officer never inspects this target."""

    officer = models.ForeignKey("accounts.Officer", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(InspectionTarget, on_delete=models.CASCADE, related_name="conflicts")
    reason = models.CharField(max_length=300, blank=True)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["officer", "target"], name="conflict_unique"),
        )

    def __str__(self) -> str:
        return f"{self.officer_id} ≠ {self.target_id}"


class RandomDraw(models.Model):
    """A published, re-runnable draw: inputs (sorted ids), seed, algorithm and result."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(InspectionItem, on_delete=models.PROTECT, related_name="draws")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("抽查期间"), max_length=20)
    drawn_on = models.DateField()
    seed = models.CharField(max_length=64)
    algorithm = models.CharField(max_length=30)
    inputs = models.JSONField()
    result = models.JSONField()
    result_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("随机抽取")
        verbose_name_plural = _("随机抽取")
        constraints = (
            # One draw per item and period: a draw cannot be re-rolled until it suits someone.
            models.UniqueConstraint(fields=["item", "period"], name="draw_once_per_item_period"),
        )

    def __str__(self) -> str:
        return f"{self.item_id} {self.period}"


class InspectionStatus(models.TextChoices):
    PLANNED = "planned", _("待检查")
    IN_PROGRESS = "in_progress", _("检查中")
    CONCLUDED = "concluded", _("已完成")


class Inspection(models.Model):
    """One on-site inspection (现场检查) of a drawn target by its drawn inspectors."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    draw = models.ForeignKey(
        RandomDraw, null=True, blank=True, on_delete=models.PROTECT, related_name="inspections"
    )
    item = models.ForeignKey(InspectionItem, on_delete=models.PROTECT, related_name="inspections")
    target = models.ForeignKey(
        InspectionTarget, on_delete=models.PROTECT, related_name="inspections"
    )
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=12, choices=InspectionStatus.choices, default=InspectionStatus.PLANNED
    )
    arrived_at = models.DateTimeField(_("进入检查场所"), null=True, blank=True)
    departed_at = models.DateTimeField(_("离开检查场所"), null=True, blank=True)
    device_arrived_at = models.DateTimeField(null=True, blank=True)
    device_departed_at = models.DateTimeField(null=True, blank=True)
    findings = models.TextField(_("检查结果"), blank=True)
    rectification_required = models.BooleanField(_("责令整改"), default=False)
    rectification_deadline = models.DateField(null=True, blank=True)
    photos = models.ManyToManyField("footage.Recording", blank=True, related_name="+")
    activity = models.ForeignKey(
        "enforcement.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    publish_by = models.DateField(_("公示期限"), null=True, blank=True)
    # Counted without the official holiday arrangement of a year it crosses; recomputed
    # when the arrangement is entered (backend.inspections.deadlines).
    publish_by_provisional = models.BooleanField(_("公示期限为暂定"), default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("现场检查")
        verbose_name_plural = _("现场检查")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(departed_at__isnull=True)
                | models.Q(arrived_at__isnull=False, departed_at__gte=models.F("arrived_at")),
                name="inspection_departs_after_arrival",
            ),
        )

    def __str__(self) -> str:
        return f"{self.target_id} ({self.status})"


class InspectionInspector(models.Model):
    """A drawn inspector, with the certificate that made them eligible on the draw day.

    The database refuses a row whose certificate is missing or expired on that day: an
    uncertified inspector cannot be assigned by any code path.
    """

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="inspectors")
    officer = models.ForeignKey("accounts.Officer", on_delete=models.PROTECT, related_name="+")
    certificate_number = models.CharField(max_length=50)
    certificate_valid_until = models.DateField()
    drawn_on = models.DateField()

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["inspection", "officer"], name="inspector_once"),
            models.CheckConstraint(
                condition=models.Q(certificate_valid_until__gte=models.F("drawn_on"))
                & ~models.Q(certificate_number=""),
                name="inspector_certified_on_draw_day",
            ),
        )

    def __str__(self) -> str:
        return f"{self.inspection_id}/{self.officer_id}"
