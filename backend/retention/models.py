"""Retention: policies, per-recording retention dates, legal holds, destruction and its
permanent register (销毁清册), fixity checks and their alerts."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# "Permanent" (永久保存) as an S3 lock date: S3 Object Lock has no "forever", so permanent
# recordings are locked in COMPLIANCE mode until this fixed date. It is far beyond any
# hardware or software lifetime, stays inside every date type we use (Python, PostgreSQL,
# SQLite text, S3/Go) with room for arithmetic, and being one fixed value lets the
# database date and the object's lock date agree exactly.
PERMANENT_UNTIL = datetime.datetime(2999, 12, 31, tzinfo=datetime.UTC)


class FactCategory(models.TextChoices):
    """Categories a recording can carry. Enforcement categories and verdicts from activities
    arrive as `enforcement:<执法类别>` and `verdict:<结论>` (free text after the prefix)."""

    DEFAULT = "default", _("全部音像记录（未关联执法结论）")
    EVIDENCE = "evidence", _("作为证据使用")
    OBSTRUCTION = "obstruction", _("妨碍执法")
    MAJOR_INCIDENT = "major_incident", _("重大事件")


class RetentionPolicy(models.Model):
    category = models.CharField(_("类别"), max_length=120, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    period_days = models.PositiveIntegerField(_("保存天数"), null=True, blank=True)
    permanent = models.BooleanField(_("永久保存"), default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("保存期限策略")
        verbose_name_plural = _("保存期限策略")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(permanent=True, period_days__isnull=True))
                | models.Q(permanent=False, period_days__gt=0),
                name="retention_policy_period_or_permanent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({'永久' if self.permanent else f'{self.period_days} 天'})"


class RecordingRetention(models.Model):
    """Retention facts of one recording, kept beside footage.Recording (owned elsewhere)."""

    recording = models.OneToOneField(
        "footage.Recording", primary_key=True, on_delete=models.PROTECT, related_name="retention"
    )
    # Canonical ",a,b," (sorted) so that a policy's rows are found with one LIKE and rows
    # with the same categories are recomputed with one UPDATE.
    categories = models.CharField(max_length=500, default=",default,", db_index=True)
    activity_refs = models.JSONField(default=list, blank=True)
    case_refs = models.JSONField(default=list, blank=True)
    anchor_at = models.DateTimeField(_("起算时间"))
    policy_until = models.DateTimeField(_("策略保存至"))
    retention_until = models.DateTimeField(_("保存至"), db_index=True)
    permanent = models.BooleanField(default=False)
    policy = models.ForeignKey(
        RetentionPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("依据"), max_length=300)
    # The lock the object got when this recording's bytes were first stored: a floor the
    # retention date can never go below (COMPLIANCE cannot be shortened).
    lock_floor_until = models.DateTimeField(null=True, blank=True)
    # The object's lock date as last set or read back from S3.
    lock_until_applied = models.DateTimeField(_("对象锁定至"), null=True, blank=True)
    lock_checked_at = models.DateTimeField(null=True, blank=True)
    legal_hold_applied = models.BooleanField(default=False)
    held = models.BooleanField(default=False, db_index=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    last_fixity_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_fixity_outcome = models.CharField(max_length=12, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("保存期限")
        verbose_name_plural = _("保存期限")

    def __str__(self) -> str:
        return f"{self.recording_id} → {self.retention_until:%Y-%m-%d}"


class MarkKind(models.TextChoices):
    EVIDENCE = "evidence", _("作为证据使用")
    OBSTRUCTION = "obstruction", _("妨碍执法")
    MAJOR_INCIDENT = "major_incident", _("重大事件")
    LINK = "link", _("关联活动/案件")


class EvidenceMark(models.Model):
    """A manual mark until activities carry these facts: evidence use, obstruction, major
    incident, or a plain link of a recording to an activity or a case."""

    recording = models.ForeignKey("footage.Recording", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=MarkKind.choices)
    activity_ref = models.CharField(max_length=120, blank=True, db_index=True)
    case_ref = models.CharField(max_length=120, blank=True, db_index=True)
    note = models.CharField(max_length=500, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    marked_at = models.DateTimeField(auto_now_add=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("证据标记")
        verbose_name_plural = _("证据标记")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.recording_id}"


class HoldTarget(models.TextChoices):
    RECORDING = "recording", _("音像记录")
    ACTIVITY = "activity", _("执法活动")
    CASE = "case", _("案件")


class LegalHold(models.Model):
    target_kind = models.CharField(max_length=12, choices=HoldTarget.choices)
    recording = models.ForeignKey(
        "footage.Recording", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(_("活动/案件编号"), max_length=120, blank=True, db_index=True)
    reason = models.CharField(_("保全原因"), max_length=500)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(auto_now_add=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("保全")
        verbose_name_plural = _("保全")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(target_kind="recording", recording__isnull=False))
                | (~models.Q(target_kind="recording") & ~models.Q(reference="")),
                name="legal_hold_has_target",
            ),
            models.CheckConstraint(
                condition=models.Q(released_by__isnull=True)
                | ~models.Q(released_by=models.F("placed_by")),
                name="legal_hold_released_by_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_kind_display()} {self.recording_id or self.reference}"


class RetentionApprover(models.Model):
    """The leader in charge (分管领导) designated to approve destruction."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="retention_approver"
    )
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    designated_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=True)
    title = models.CharField(_("职务"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("销毁审批领导")
        verbose_name_plural = _("销毁审批领导")

    def __str__(self) -> str:
        return f"{self.user} {self.title}"


class BatchState(models.TextChoices):
    PREPARED = "prepared", _("待审批")
    QUEUED = "queued", _("已批准，等待销毁")
    EXECUTED = "executed", _("已销毁")
    CANCELLED = "cancelled", _("已撤销")


class DestructionBatch(models.Model):
    state = models.CharField(max_length=12, choices=BatchState.choices, default=BatchState.PREPARED)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    prepared_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=500, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    holdings_count = models.PositiveIntegerField(default=0)
    holdings_bytes = models.BigIntegerField(default=0)
    share = models.FloatField(default=0)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    approved_at = models.DateTimeField(null=True, blank=True)
    executes_after = models.DateTimeField(null=True, blank=True, db_index=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("销毁批次")
        verbose_name_plural = _("销毁批次")

    def __str__(self) -> str:
        return f"销毁批次 {self.pk} ({self.get_state_display()})"


class DestructionApproval(models.Model):
    batch = models.ForeignKey(DestructionBatch, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "approver"], name="destruction_one_approval_each"
            )
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} ← {self.approver_id}"


class ItemState(models.TextChoices):
    QUEUED = "queued", _("待销毁")
    DESTROYED = "destroyed", _("已销毁")
    RECOVERED = "recovered", _("已撤回")
    SKIPPED = "skipped", _("未销毁（执行时不符合条件）")


class DestructionItem(models.Model):
    batch = models.ForeignKey(DestructionBatch, on_delete=models.PROTECT, related_name="items")
    recording = models.ForeignKey("footage.Recording", on_delete=models.PROTECT, related_name="+")
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    categories = models.CharField(max_length=500)
    links = models.JSONField(default=dict)
    retention_until = models.DateTimeField()
    reason_due = models.CharField(max_length=300)
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.QUEUED)
    state_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recording"],
                condition=models.Q(state="queued"),
                name="destruction_item_one_open_per_recording",
            )
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.recording_id} ({self.state})"


class DestructionRegisterEntry(models.Model):
    """销毁清册: one row per destroyed recording, kept permanently. There is no code path that
    changes or deletes a row; on PostgreSQL a trigger refuses UPDATE and DELETE too."""

    number = models.BigAutoField(primary_key=True)
    recording_id = models.UUIDField(_("音像记录编号"), db_index=True)
    file_name = models.CharField(_("文件名"), max_length=255)
    clip_id = models.CharField(_("设备片段编号"), max_length=128)
    media_kind = models.CharField(_("类型"), max_length=10)
    device_serial = models.CharField(_("设备序列号"), max_length=100)
    officer_name = models.CharField(_("执法人员"), max_length=100, blank=True)
    unit_name = models.CharField(_("单位"), max_length=200, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size_bytes = models.BigIntegerField(_("大小"))
    recorded_started_at = models.DateTimeField(_("开始时间"))
    recorded_ended_at = models.DateTimeField(_("结束时间"))
    stored_at = models.DateTimeField(_("入库时间"), null=True)
    retention_until = models.DateTimeField(_("保存至"))
    categories = models.CharField(_("类别"), max_length=500)
    reason_due = models.CharField(_("到期依据"), max_length=300)
    batch_id_ref = models.BigIntegerField(_("销毁批次"))
    prepared_by = models.CharField(_("经办人"), max_length=200)
    prepared_at = models.DateTimeField(_("提请时间"))
    approved_by = models.CharField(_("批准人"), max_length=400)
    approved_at = models.DateTimeField(_("批准时间"))
    destroyed_at = models.DateTimeField(_("销毁时间"))
    object_versions = models.JSONField(_("已删除对象版本"), default=list)
    derivatives = models.JSONField(_("已删除衍生文件"), default=list)
    object_shared = models.BooleanField(_("对象仍被其他记录引用"), default=False)
    audit_sequence = models.BigIntegerField(_("审计序号"), null=True)

    class Meta:
        verbose_name = _("销毁清册")
        verbose_name_plural = _("销毁清册")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"No.{self.number} {self.file_name} {self.sha256[:12]}"


class FixityOutcome(models.TextChoices):
    OK = "ok", _("一致")
    MISMATCH = "mismatch", _("哈希不符")
    MISSING = "missing", _("对象缺失")
    ERROR = "error", _("读取失败")


class FixityCheck(models.Model):
    recording = models.ForeignKey("footage.Recording", on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=10, choices=FixityOutcome.choices)
    expected_sha256 = models.CharField(max_length=64)
    actual_sha256 = models.CharField(max_length=64, blank=True)
    bytes_read = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("完整性校验")
        verbose_name_plural = _("完整性校验")
        indexes = [models.Index(fields=["recording", "-checked_at"])]

    def __str__(self) -> str:
        return f"{self.recording_id} {self.outcome} @ {self.checked_at}"


class FixityAlert(models.Model):
    recording = models.ForeignKey("footage.Recording", on_delete=models.PROTECT, related_name="+")
    check_result = models.ForeignKey(FixityCheck, on_delete=models.PROTECT, related_name="alerts")
    outcome = models.CharField(max_length=10, choices=FixityOutcome.choices)
    message = models.CharField(max_length=500)
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("完整性告警")
        verbose_name_plural = _("完整性告警")

    def __str__(self) -> str:
        return f"{self.recording_id} {self.outcome}"


class ReconciliationTrigger(models.TextChoices):
    MANUAL = "manual", _("手动")
    SCHEDULED = "scheduled", _("定期")
    AFTER_RESTORE = "after_restore", _("恢复之后")


class StorageReconciliation(models.Model):
    """One comparison of the database with the originals bucket (backend/retention/reconcile.py):
    every stored recording's object at its recorded key, VersionId and SHA-256, and every
    object version that no recording knows. The lists hold at most RECONCILE_LIST_LIMIT
    entries each; the counts are complete."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    trigger = models.CharField(max_length=20, choices=ReconciliationTrigger.choices)
    recordings_checked = models.PositiveIntegerField(default=0)
    recordings_ok = models.PositiveIntegerField(default=0)
    objects_listed = models.PositiveIntegerField(default=0)
    rehashed = models.PositiveIntegerField(default=0)
    missing_count = models.PositiveIntegerField(default=0)
    mismatch_count = models.PositiveIntegerField(default=0)
    orphan_count = models.PositiveIntegerField(default=0)
    reattached_count = models.PositiveIntegerField(default=0)
    audit_events_checked = models.PositiveIntegerField(default=0)
    audit_chain_intact = models.BooleanField(default=False)
    problems = models.JSONField(default=list, blank=True)
    orphans = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("存储对账")
        verbose_name_plural = _("存储对账")
        indexes = [models.Index(fields=["-finished_at"], name="reconcile_finished_idx")]

    def __str__(self) -> str:
        return f"reconciliation {self.finished_at:%Y-%m-%d %H:%M} clean={self.is_clean}"

    @property
    def is_clean(self) -> bool:
        return (
            self.audit_chain_intact
            and not self.missing_count
            and not self.mismatch_count
            and not self.orphan_count
        )


class OriginalReplica(models.Model):
    """A recording's original copied to the second site (backend/retention/replication.py):
    the version copied from, the replica's own VersionId there, and the COMPLIANCE lock date
    (and legal hold) last applied to the replica, so that lock extensions follow."""

    recording = models.OneToOneField(
        "footage.Recording", primary_key=True, on_delete=models.PROTECT, related_name="replica"
    )
    replica_bucket = models.CharField(max_length=63)
    source_version_id = models.CharField(max_length=200, blank=True)
    replica_version_id = models.CharField(max_length=200, blank=True)
    retain_until = models.DateTimeField()
    legal_hold = models.BooleanField(default=False)
    replicated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("第二站点副本")
        verbose_name_plural = _("第二站点副本")
        indexes = [models.Index(fields=["-replicated_at"], name="replica_replicated_idx")]

    def __str__(self) -> str:
        return f"replica of {self.recording_id} ({self.replica_version_id})"
