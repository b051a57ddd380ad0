"""Correction subjects, their reporting schedules, logged contacts and overdue alerts.

Contacts (check-in 报到, home visit 走访, talk 谈话, phone report) are usually written by
tablets through sync/records with client-generated ids; deletes are soft (`deleted_at`)
so that a deleted contact still propagates as a tombstone and stays traceable.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class SentenceKind(models.TextChoices):
    SURVEILLANCE = "surveillance", _("管制")
    PROBATION = "probation", _("缓刑")
    PAROLE = "parole", _("假释")
    MEDICAL_PAROLE = "medical_parole", _("暂予监外执行")


class ContactKind(models.TextChoices):
    CHECK_IN = "check_in", _("报到")
    HOME_VISIT = "home_visit", _("走访")
    TALK = "talk", _("谈话")
    PHONE_REPORT = "phone_report", _("电话报告")


IN_PERSON_KINDS = (ContactKind.CHECK_IN, ContactKind.HOME_VISIT, ContactKind.TALK)


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")


class IdentityMethod(models.TextChoices):
    ID_CARD = "id_card", _("身份证核验")
    FACE = "face", _("人脸识别")
    FINGERPRINT = "fingerprint", _("指纹核验")
    IN_PERSON = "in_person", _("工作人员当面确认")
    VIDEO_CALL = "video_call", _("视频通话")


class CrossCheckStatus(models.TextChoices):
    PENDING = "pending", _("待核验")
    CONSISTENT = "consistent", _("一致")
    MISMATCH = "mismatch", _("不一致")
    NO_FOOTAGE = "no_footage", _("无音像记录")


class Subject(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("姓名"), max_length=100)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    address = models.CharField(_("居住地"), max_length=300, blank=True)
    sentence_kind = models.CharField(_("矫正类别"), max_length=20, choices=SentenceKind.choices)
    term_start = models.DateField(_("矫正期起"))
    term_end = models.DateField(_("矫正期止"))
    office = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, related_name="correction_subjects"
    )
    responsible_officer = models.ForeignKey(
        "accounts.Officer", on_delete=models.PROTECT, related_name="responsible_subjects"
    )
    team = models.ManyToManyField(
        "accounts.Officer", blank=True, related_name="correction_teams", verbose_name=_("矫正小组")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("社区矫正对象")
        verbose_name_plural = _("社区矫正对象")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(term_end__gte=models.F("term_start")), name="subject_term_order"
            ),
        )
        indexes = (models.Index(fields=["office", "term_end"]),)

    def __str__(self) -> str:
        return self.name


class ReportingSchedule(models.Model):
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="schedules")
    kind = models.CharField(max_length=20, choices=ContactKind.choices)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    times = models.PositiveSmallIntegerField(default=1)
    grace_working_days = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["subject", "kind"], name="schedule_one_per_kind"),
            models.CheckConstraint(
                condition=models.Q(times__gte=1), name="schedule_times_positive"
            ),
        )

    def __str__(self) -> str:
        return f"{self.subject_id} {self.kind} {self.times}/{self.frequency}"


class Contact(models.Model):
    """One logged contact with a subject. Times are clock-corrected (UTC); the device's own
    readings are kept beside them."""

    id = models.UUIDField(primary_key=True, editable=False)
    kind = models.CharField(max_length=20, choices=ContactKind.choices)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="contacts")
    office = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey("accounts.Officer", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("开始时间"))
    ended_at = models.DateTimeField(_("结束时间"))
    device_started_at = models.DateTimeField(null=True, blank=True)
    device_ended_at = models.DateTimeField(null=True, blank=True)
    place = models.CharField(_("地点"), max_length=300, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    notes = models.TextField(_("记录"), blank=True)
    # Check-ins only: how identity was verified, the photo, the cross-check with footage.
    identity_method = models.CharField(max_length=20, choices=IdentityMethod.choices, blank=True)
    photo = models.ForeignKey(
        "footage.Recording", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recordings = models.ManyToManyField("footage.Recording", blank=True, related_name="+")
    crosscheck_status = models.CharField(
        max_length=12, choices=CrossCheckStatus.choices, default=CrossCheckStatus.PENDING
    )
    crosscheck_findings = models.JSONField(default=list, blank=True)
    # The coverage activity (执法活动) whose footage is checked; linked after commit.
    activity = models.ForeignKey(
        "enforcement.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("矫正工作记录")
        verbose_name_plural = _("矫正工作记录")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(ended_at__gte=models.F("started_at")),
                name="contact_end_after_start",
            ),
        )
        indexes = (
            models.Index(fields=["subject", "kind", "started_at"]),
            models.Index(fields=["office", "started_at"]),
        )

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id} @ {self.started_at:%Y-%m-%d %H:%M}"


class OverdueAlert(models.Model):
    """A scheduled check-in/visit/talk/report not done by its due date."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="overdue_alerts")
    office = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey("accounts.Officer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=ContactKind.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    due_date = models.DateField()
    # Counted without the official arrangement of a year it crosses (recomputed when the
    # arrangement is entered: backend.corrections.deadlines).
    due_date_provisional = models.BooleanField(default=False)
    required = models.PositiveSmallIntegerField()
    done = models.PositiveSmallIntegerField()
    raised_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("逾期提醒")
        verbose_name_plural = _("逾期提醒")
        constraints = (
            models.UniqueConstraint(
                fields=["subject", "kind", "period_start"], name="overdue_once_per_period"
            ),
        )
        indexes = (models.Index(fields=["office", "resolved_at", "due_date"]),)

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id} due {self.due_date}"


class SubjectTransfer(models.Model):
    """A subject moved to another justice office (变更执行地). The subject counts under the
    new office from `effective_on` (overdue alerts, monthly figures); before it, under the
    old one. Who was responsible before is kept for alerts of periods due before it."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="transfers")
    from_office = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    to_office = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    from_officer = models.ForeignKey("accounts.Officer", on_delete=models.PROTECT, related_name="+")
    to_officer = models.ForeignKey("accounts.Officer", on_delete=models.PROTECT, related_name="+")
    effective_on = models.DateField(_("生效日期"))
    reason = models.TextField(_("变更原因"))
    transferred_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("变更执行地")
        verbose_name_plural = _("变更执行地")
        indexes = (models.Index(fields=["subject", "effective_on"]),)

    def __str__(self) -> str:
        return f"{self.subject_id} {self.from_office_id}→{self.to_office_id} {self.effective_on}"


# --- positioning (手机定位、电子腕带), areas, approvals, steps (宣告 … 解除) -------------------


class PositionSource(models.TextChoices):
    GPS = "gps", _("卫星定位")
    BASE_STATION = "base_station", _("基站定位")
    WRISTBAND = "wristband", _("电子腕带")


class PositionEvent(models.TextChoices):
    NONE = "", _("无")
    STRAP_OFF = "strap_off", _("腕带脱离")
    TAMPER = "tamper", _("设备被拆改")


class PositioningBinding(models.Model):
    """Which subject a positioning device (a subject's phone app or a wristband gateway)
    belonged to when: positions are attributed by their recorded time."""

    device = models.ForeignKey(
        "devices.Device", on_delete=models.PROTECT, related_name="positioning_bindings"
    )
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, related_name="positioning_bindings"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    bound_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(ends_at__isnull=True),
                name="positioning_one_open_binding",
            ),
        )
        indexes = (models.Index(fields=["device", "starts_at"]),)


class Position(models.Model):
    """One position of a subject, sent by a device with its own id (`client_id`): a batch
    sent again, late or out of order stores each position exactly once."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey("devices.Device", on_delete=models.PROTECT, related_name="+")
    client_id = models.UUIDField()
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="positions")
    recorded_at = models.DateTimeField()
    device_recorded_at = models.DateTimeField()
    received_at = models.DateTimeField()
    latitude = models.FloatField()
    longitude = models.FloatField()
    accuracy_m = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=PositionSource.choices)
    battery = models.PositiveSmallIntegerField(null=True, blank=True)
    event = models.CharField(max_length=20, choices=PositionEvent.choices, blank=True)
    outside_area = models.BooleanField(default=False)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["device", "client_id"], name="position_once"),
        )
        indexes = (models.Index(fields=["subject", "recorded_at"]),)


class SupervisionArea(models.Model):
    """The area a subject may move in without permission (the county by default): a GeoJSON
    Polygon or MultiPolygon geometry, WGS-84 [lon, lat]."""

    subject = models.OneToOneField(Subject, on_delete=models.CASCADE, related_name="area")
    name = models.CharField(_("活动区域"), max_length=200)
    geometry = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)


class PositionAlertKind(models.TextChoices):
    LEFT_AREA = "left_area", _("越出活动区域")
    STRAP_OFF = "strap_off", _("腕带脱离")
    TAMPER = "tamper", _("设备被拆改")


class AlertHandling(models.TextChoices):
    CALLED = "called", _("电话联系")
    VISITED = "visited", _("上门核查")
    EXPLAINED = "explained", _("本人说明情况")


class PositionAlert(models.Model):
    """An open alert per subject and kind: positions that repeat it (or arrive again) only
    widen its time span; it is closed with how it was handled and a note."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="position_alerts")
    office = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=PositionAlertKind.choices)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handling = models.CharField(max_length=20, choices=AlertHandling.choices, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["subject", "kind"],
                condition=models.Q(closed_at__isnull=True),
                name="position_alert_one_open",
            ),
        )
        indexes = (models.Index(fields=["office", "closed_at", "first_at"]),)


class PermissionKind(models.TextChoices):
    OUTING = "outing", _("请假外出")
    VISITOR = "visitor", _("会客")
    RELOCATION = "relocation", _("迁居")


class PermissionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("不予批准")


class PermissionRequest(models.Model):
    """外出、会客、迁居: filed by the office, decided by someone else (requester ≠ approver).
    An approved outing widens the allowed area for its dates: positions then do not alert."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="permissions")
    office = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("事项"), max_length=20, choices=PermissionKind.choices)
    reason = models.TextField(_("事由"))
    destination = models.CharField(_("目的地/会客对象/迁居地址"), max_length=300)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=10, choices=PermissionStatus.choices, default=PermissionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        constraints = (
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="permission_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | ~models.Q(decided_by=models.F("requested_by")),
                name="permission_requester_not_approver",
            ),
        )
        indexes = (
            models.Index(fields=["subject", "kind", "status", "starts_at"]),
            models.Index(fields=["office", "status", "requested_at"]),
        )


class StepKind(models.TextChoices):
    ANNOUNCEMENT = "announcement", _("宣告")
    WARNING = "warning", _("警告")
    REVOCATION_PROPOSAL = "revocation_proposal", _("提请收监执行")
    RELEASE = "release", _("解除矫正")


class CorrectionStep(models.Model):
    """One step of the execution, from 宣告 to 解除, with what proves it."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(max_length=30, choices=StepKind.choices)
    on_date = models.DateField(_("日期"))
    present = models.TextField(_("到场人员"), blank=True)
    letter_number = models.CharField(_("矫正责任书编号"), max_length=100, blank=True)
    reason = models.TextField(_("事由"), blank=True)
    evidence = models.JSONField(default=list, blank=True)
    certificate_number = models.CharField(_("解除矫正证明书编号"), max_length=100, blank=True)
    outcome = models.CharField(_("结果"), max_length=300, blank=True)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["subject", "kind"],
                condition=models.Q(kind__in=["announcement", "release"]),
                name="step_announce_release_once",
            ),
        )
        indexes = (models.Index(fields=["subject", "on_date"]),)


class TrackView(models.Model):
    """定位轨迹查阅登记: one row per view of a subject's track (one local day), written before
    the track is shown. Append-only: no code path updates or deletes a row, and on
    PostgreSQL a trigger refuses it (migration 0005). Kept when the positions are purged."""

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    user_display = models.CharField(_("查阅人"), max_length=200)
    user_role = models.CharField(max_length=30)
    user_unit = models.CharField(_("查阅人单位"), max_length=200, blank=True)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="track_views")
    office_path = models.CharField(max_length=500, db_index=True)
    day = models.DateField(_("轨迹日期"))
    purpose = models.CharField(_("事由"), max_length=300)
    positions = models.PositiveIntegerField(default=0)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("定位轨迹查阅登记")
        verbose_name_plural = _("定位轨迹查阅登记")
        indexes = (models.Index(fields=["subject", "occurred_at"]),)
