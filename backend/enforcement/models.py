"""The record list (音像记录事项清单) in versions, and activities (执法活动) with their moments.

An activity is judged by the list version in force on the (Asia/Shanghai) day its start
moment happened: the version with the latest ``effective_from`` on or before that day.
"""

from __future__ import annotations

import datetime
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from coverage_core.evaluation import (
    DEFAULT_EARLY_STOP_GRACE,
    DEFAULT_LATE_START_GRACE,
    DEFAULT_MAX_SPLIT_GAP,
)


class EnforcementMatter(models.Model):
    """One line of the 行政执法事项清单 (事前公开): what the unit may enforce, on what basis,
    against whom. Imported in its official columns; shown on the public site."""

    unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, related_name="enforcement_matters"
    )
    sequence = models.PositiveIntegerField(_("序号"), null=True, blank=True)
    name = models.CharField(_("项目名称"), max_length=300)
    category = models.CharField(_("执法类别"), max_length=50)
    body = models.CharField(_("执法主体"), max_length=200, blank=True)
    organiser = models.CharField(_("承办机构"), max_length=200, blank=True)
    basis = models.TextField(_("执法依据"), blank=True)
    target = models.TextField(_("实施对象"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("行政执法事项清单")
        verbose_name_plural = _("行政执法事项清单")
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="enforcement_matter_unique")
        ]

    def __str__(self) -> str:
        return self.name


class RecordList(models.Model):
    """One version of the record list, in force from ``effective_from`` until the next one."""

    name = models.CharField(_("名称"), max_length=200, blank=True)
    effective_from = models.DateField(_("生效日期"), unique=True)
    source_file_name = models.CharField(_("来源文件"), max_length=255, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    imported_at = models.DateTimeField(_("导入时间"), auto_now_add=True)
    imported_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("音像记录事项清单")
        verbose_name_plural = _("音像记录事项清单")
        ordering = ("-effective_from",)

    def __str__(self) -> str:
        return f"{self.name or _('音像记录事项清单')}（{self.effective_from} 起）"


class RecordRule(models.Model):
    """One row of a list version: what must be recorded, from which moment to which."""

    record_list = models.ForeignKey(RecordList, on_delete=models.CASCADE, related_name="rules")
    sequence = models.PositiveIntegerField(_("序号"), null=True, blank=True)
    category = models.CharField(_("执法类别"), max_length=50)
    stage = models.CharField(_("执法环节"), max_length=50)
    item = models.CharField(_("记录事项"), max_length=200, blank=True)
    place = models.CharField(_("记录场合"), max_length=200, blank=True)
    department = models.CharField(_("记录部门"), max_length=200, blank=True)
    start_text = models.CharField(_("开始记录时间"), max_length=200)
    stop_text = models.CharField(_("结束记录时间"), max_length=200)
    start_moment = models.CharField(_("开始时刻代码"), max_length=60)
    stop_moment = models.CharField(_("结束时刻代码"), max_length=60)
    remarks = models.CharField(_("备注"), max_length=500, blank=True)
    full_process = models.BooleanField(_("全过程音像记录"), default=False)
    required = models.BooleanField(_("要求音像记录"), default=True)
    min_officers = models.PositiveSmallIntegerField(_("最少记录人数"), default=1)
    late_start_grace = models.DurationField(_("允许延迟开始"), default=DEFAULT_LATE_START_GRACE)
    early_stop_grace = models.DurationField(_("允许提前结束"), default=DEFAULT_EARLY_STOP_GRACE)
    max_split_gap = models.DurationField(_("分段文件最大间隔"), default=DEFAULT_MAX_SPLIT_GAP)

    class Meta:
        verbose_name = _("记录事项")
        verbose_name_plural = _("记录事项")
        ordering = ("record_list", "sequence", "id")
        constraints = (
            models.UniqueConstraint(
                fields=["record_list", "category", "stage", "item"], name="record_rule_unique_item"
            ),
            models.CheckConstraint(
                condition=models.Q(min_officers__gte=1), name="rule_min_officers"
            ),
            models.CheckConstraint(
                condition=models.Q(late_start_grace__gte=datetime.timedelta(0))
                & models.Q(early_stop_grace__gte=datetime.timedelta(0))
                & models.Q(max_split_gap__gte=datetime.timedelta(0)),
                name="rule_durations_not_negative",
            ),
        )
        indexes = (models.Index(fields=["category", "stage"]),)

    def __str__(self) -> str:
        return f"{self.category} / {self.stage} / {self.item}"


class ActivityState(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class Activity(models.Model):
    """One real occurrence of a stage: this inspection, this visit.

    ``started_at`` / ``stopped_at`` are the times of the rule's start and stop moments
    (the window the coverage check judges); every reported moment is kept as an
    :class:`ActivityMoment` with its source.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_ref = models.CharField(
        _("外部编号"), max_length=100, null=True, blank=True, unique=True
    )
    category = models.CharField(_("执法类别"), max_length=50)
    stage = models.CharField(_("执法环节"), max_length=50)
    item = models.CharField(_("记录事项"), max_length=200, blank=True)
    # The record-list row in force on the activity's day (None: no row, not required).
    # Resolved on creation and again when a list version covering that day is imported.
    rule = models.ForeignKey(
        RecordRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="activities")
    place = models.CharField(_("地点"), max_length=300, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(_("开始时刻"), db_index=True)
    stopped_at = models.DateTimeField(_("结束时刻"), null=True, blank=True)
    state = models.CharField(
        max_length=10, choices=ActivityState.choices, default=ActivityState.OPEN
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("执法活动")
        verbose_name_plural = _("执法活动")
        ordering = ("-started_at",)
        constraints = (
            models.CheckConstraint(
                condition=models.Q(stopped_at__isnull=True)
                | models.Q(stopped_at__gte=models.F("started_at")),
                name="activity_stops_after_start",
            ),
        )
        indexes = (
            models.Index(fields=["unit", "started_at"]),
            # The activities list's keyset order (issue 26): newest first, ties by id.
            models.Index(fields=["started_at", "id"], name="activity_list_order"),
        )

    def __str__(self) -> str:
        return f"{self.category} / {self.stage} @ {self.started_at:%Y-%m-%d %H:%M}"


class ActivityOfficer(models.Model):
    """A participating officer. Officers without a valid certificate on the activity's day
    are accepted (the activity happened) but flagged: 持证上岗."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="participants")
    officer = models.ForeignKey("accounts.Officer", on_delete=models.PROTECT, related_name="+")
    certificate_valid = models.BooleanField(_("持证"), default=True)
    certificate_problem = models.CharField(_("证件问题"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("参与执法人员")
        verbose_name_plural = _("参与执法人员")
        constraints = (
            models.UniqueConstraint(fields=["activity", "officer"], name="activity_officer_unique"),
        )
        indexes = (models.Index(fields=["officer", "activity"]),)

    def __str__(self) -> str:
        return f"{self.activity_id}/{self.officer_id}"


class MomentSource(models.TextChoices):
    TABLET = "tablet", _("平板")
    TERMINAL = "terminal", _("执法终端")
    GPS = "gps", _("定位")
    MANUAL = "manual", _("手工录入")


class ActivityMoment(models.Model):
    """A named moment reached (code from coverage_core.moments), when and how we know."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="moments")
    code = models.CharField(_("时刻"), max_length=60)
    label = models.CharField(_("名称"), max_length=200, blank=True)
    occurred_at = models.DateTimeField(_("时间"))
    source = models.CharField(_("来源"), max_length=10, choices=MomentSource.choices)
    reason = models.CharField(_("手工录入原因"), max_length=500, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("活动时刻")
        verbose_name_plural = _("活动时刻")
        ordering = ("activity", "occurred_at", "id")
        constraints = (
            models.CheckConstraint(
                condition=~models.Q(source="manual") | ~models.Q(reason=""),
                name="manual_moment_has_reason",
            ),
        )

    def __str__(self) -> str:
        return f"{self.code} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"
