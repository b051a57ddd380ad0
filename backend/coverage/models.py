"""Stored coverage results, recording↔activity links and gap explanations.

The check itself is pure (``evaluation.py``); these rows keep its latest answer per
activity so that lists and reports never re-run it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LinkSource(models.TextChoices):
    AUTO = "auto", _("自动关联")
    MANUAL = "manual", _("人工关联")


class RecordingLink(models.Model):
    """A recording counted for an activity, for one officer.

    ``excluded`` rows are links a person removed: kept (with the reason) so that
    automatic linking never adds them back.
    """

    activity = models.ForeignKey(
        "enforcement.Activity", on_delete=models.CASCADE, related_name="recording_links"
    )
    recording = models.ForeignKey(
        "footage.Recording", on_delete=models.CASCADE, related_name="activity_links"
    )
    officer = models.ForeignKey(
        "accounts.Officer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=10, choices=LinkSource.choices)
    excluded = models.BooleanField(_("已取消关联"), default=False)
    reason = models.CharField(_("原因"), max_length=500, blank=True)
    changed_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("记录关联")
        verbose_name_plural = _("记录关联")
        constraints = (
            models.UniqueConstraint(fields=["activity", "recording"], name="link_unique_pair"),
        )
        indexes = (models.Index(fields=["recording"]),)

    def __str__(self) -> str:
        return f"{self.activity_id} ← {self.recording_id}"


class CoverageEvaluation(models.Model):
    """The latest coverage verdict of one activity."""

    activity = models.OneToOneField(
        "enforcement.Activity", on_delete=models.CASCADE, related_name="coverage"
    )
    rule = models.ForeignKey(
        "enforcement.RecordRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verdict = models.CharField(_("结论"), max_length=30, db_index=True)
    summary_zh = models.CharField(max_length=300)
    summary_en = models.CharField(max_length=300)
    reasons_zh = models.JSONField(default=list)
    reasons_en = models.JSONField(default=list)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    window_closed = models.BooleanField(default=False)
    required = models.BooleanField(default=True)
    covered_fraction = models.FloatField(default=0.0)
    covered_seconds = models.FloatField(default=0.0)
    gaps = models.JSONField(default=list)  # every uncovered piece, leading/trailing included
    interior_gap_seconds = models.JSONField(default=list)  # holes inside the coverage
    late_start_seconds = models.FloatField(null=True, blank=True)
    early_stop_seconds = models.FloatField(null=True, blank=True)
    late_start = models.BooleanField(default=False)  # a blocking late-start finding
    early_stop = models.BooleanField(default=False)
    any_recording = models.BooleanField(default=False)
    officers_recorded = models.JSONField(default=list)
    unknown_offset_recordings = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=dict)  # CoverageResult.to_dict()
    evaluated_at = models.DateTimeField()
    # Where this verdict is counted in the monthly figures (UnitMonth/OfficerMonth): the
    # activity's unit and the first day of its start month (Asia/Shanghai) when it was last
    # evaluated. A re-check subtracts what was counted here, not where the activity is now,
    # so an activity moved to another unit or month leaves its old row.
    counted_month = models.DateField(null=True, blank=True)
    counted_unit = models.ForeignKey(
        "accounts.Unit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("覆盖检查结果")
        verbose_name_plural = _("覆盖检查结果")

    def __str__(self) -> str:
        return f"{self.activity_id}: {self.verdict}"


class OfficerCoverage(models.Model):
    """One officer's share of an evaluation (for the per-officer report)."""

    evaluation = models.ForeignKey(
        CoverageEvaluation, on_delete=models.CASCADE, related_name="officer_results"
    )
    officer = models.ForeignKey("accounts.Officer", on_delete=models.CASCADE, related_name="+")
    recorded = models.BooleanField(default=False)
    covered_fraction = models.FloatField(default=0.0)
    interior_gap_seconds = models.JSONField(default=list)
    late_start_seconds = models.FloatField(null=True, blank=True)
    early_stop_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["evaluation", "officer"], name="officer_cov_unique"),
        )
        indexes = (models.Index(fields=["officer"]),)

    def __str__(self) -> str:
        return f"{self.evaluation_id}/{self.officer_id}"


class ExplanationReason(models.TextChoices):
    DEVICE_FAILURE = "device_failure", _("设备故障")
    BATTERY = "battery", _("电量耗尽")
    THIRD_PARTY_PRIVACY = "third_party_privacy", _("保护第三方隐私")
    OTHER = "other", _("其他")


class ExplanationState(models.TextChoices):
    PENDING = "pending", _("待审核")
    ACCEPTED = "accepted", _("已采纳")
    REJECTED = "rejected", _("未采纳")


class GapExplanation(models.Model):
    """An officer's explanation of a gap (or of a missing recording), and the decision."""

    activity = models.ForeignKey(
        "enforcement.Activity", on_delete=models.CASCADE, related_name="explanations"
    )
    officer = models.ForeignKey("accounts.Officer", on_delete=models.PROTECT, related_name="+")
    gap_from = models.DateTimeField(null=True, blank=True)
    gap_to = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=30, choices=ExplanationReason.choices)
    text = models.TextField(_("说明"), blank=True)
    state = models.CharField(
        max_length=10, choices=ExplanationState.choices, default=ExplanationState.PENDING
    )
    submitted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("中断说明")
        verbose_name_plural = _("中断说明")
        ordering = ("activity", "submitted_at")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(gap_from__isnull=True)
                | models.Q(gap_to__isnull=True)
                | models.Q(gap_to__gte=models.F("gap_from")),
                name="explanation_gap_ordered",
            ),
        )

    def __str__(self) -> str:
        return f"{self.activity_id}: {self.reason} ({self.state})"


class MonthFigures(models.Model):
    """Counts of one month's stored verdicts (the figures of
    ``coverage_core.evaluation.monthly_figures`` that are sums). Kept current in the
    transaction that writes the verdicts or accepts an explanation
    (``coverage.services.aggregates``), recounted and proved by ``aggregates_rebuild``.
    The reports page reads these rows, never the evaluations."""

    month = models.DateField()  # first day of the month, Asia/Shanghai
    # CASCADE like the rows they count (an officer's parts go with the officer): the kept
    # rows and the recount stay equal whatever is deleted.
    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+")
    activities = models.IntegerField(default=0)
    required = models.IntegerField(default=0)
    recorded = models.IntegerField(default=0)
    decided = models.IntegerField(default=0)
    compliant = models.IntegerField(default=0)
    undecidable = models.IntegerField(default=0)
    explained = models.IntegerField(default=0)
    late_start = models.IntegerField(default=0)
    early_stop = models.IntegerField(default=0)
    with_gaps = models.IntegerField(default=0)
    gap_count = models.IntegerField(default=0)

    class Meta:
        abstract = True


class UnitMonth(MonthFigures):
    """One unit's month: every evaluated activity of the unit started in the month."""

    class Meta:
        verbose_name = _("单位月度覆盖统计")
        verbose_name_plural = _("单位月度覆盖统计")
        constraints = (models.UniqueConstraint(fields=["unit", "month"], name="unit_month_once"),)
        indexes = (models.Index(fields=["month", "unit"]),)

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.unit_id}"


class OfficerMonth(MonthFigures):
    """One officer's part in the activities of one unit (the activity's) in one month."""

    officer = models.ForeignKey("accounts.Officer", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("执法人员月度覆盖统计")
        verbose_name_plural = _("执法人员月度覆盖统计")
        constraints = (
            models.UniqueConstraint(fields=["unit", "month", "officer"], name="officer_month_once"),
        )
        indexes = (models.Index(fields=["month", "unit"]),)

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.unit_id}/{self.officer_id}"
