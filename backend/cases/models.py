"""Cases (案件), their file (案卷: activities, recordings, documents), the legal review of
major decisions (法制审核) with its clock, and the decision (决定)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class PartyKind(models.TextChoices):
    NATURAL = "natural", _("自然人")
    LEGAL = "legal", _("法人或其他组织")


class CaseStage(models.TextChoices):
    FILED = "filed", _("立案")
    INVESTIGATING = "investigating", _("调查取证")
    REVIEW = "review", _("审核")
    DECIDED = "decided", _("决定")
    DELIVERED = "delivered", _("送达")
    EXECUTED = "executed", _("执行")
    CLOSED = "closed", _("结案")
    ARCHIVED = "archived", _("归档")


# The order of the stages (seed 003, 行政执法行为流程图); REVIEW only when review is needed.
STAGE_ORDER = [
    CaseStage.FILED,
    CaseStage.INVESTIGATING,
    CaseStage.REVIEW,
    CaseStage.DECIDED,
    CaseStage.DELIVERED,
    CaseStage.EXECUTED,
    CaseStage.CLOSED,
    CaseStage.ARCHIVED,
]


class Case(models.Model):
    """One case, one file, one number (一案一卷一号): the number is unique per bureau and
    year; `sequence` is its counter within (unit, year)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="cases")
    year = models.PositiveIntegerField(_("年度"))
    sequence = models.PositiveIntegerField(_("序号"))
    number = models.CharField(_("案号"), max_length=100)
    category = models.CharField(_("执法类别"), max_length=50)
    matter = models.CharField(_("案由"), max_length=300)
    party_name = models.CharField(_("当事人"), max_length=200)
    party_kind = models.CharField(_("当事人类型"), max_length=10, choices=PartyKind.choices)
    party_minor = models.BooleanField(_("未成年人"), default=False)
    needs_review = models.BooleanField(_("需法制审核"), default=True)
    review_basis = models.CharField(_("审核依据"), max_length=300, blank=True)
    stage = models.CharField(
        _("阶段"), max_length=20, choices=CaseStage.choices, default=CaseStage.FILED
    )
    filed_on = models.DateField(_("立案日期"))
    statutory_deadline = models.DateField(_("法定办理期限"), null=True, blank=True)
    closed_on = models.DateField(_("结案日期"), null=True, blank=True)
    archive_by = models.DateField(_("应归档日期"), null=True, blank=True)
    archive_number = models.CharField(_("卷宗号"), max_length=100, blank=True)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    # The day an overdue archive (结案后30日未归档) was alerted: once per case.
    archive_alerted_on = models.DateField(null=True, blank=True)
    officers = models.ManyToManyField(
        "accounts.Officer", related_name="cases", verbose_name=_("承办人员")
    )
    opened_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="cases_opened"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "year", "sequence"], name="case_unique_sequence_per_unit_year"
            ),
            models.UniqueConstraint(fields=["unit", "number"], name="case_unique_number_per_unit"),
        ]
        indexes = [models.Index(fields=["-created_at", "-id"], name="case_keyset")]

    def __str__(self) -> str:
        return self.number

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class CaseStageEntry(models.Model):
    """The date each stage was entered (全过程记录: every step has its date)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="stage_entries")
    stage = models.CharField(max_length=20, choices=CaseStage.choices)
    entered_on = models.DateField()
    entered_at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["entered_at", "pk"]


class CaseActivity(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="activity_links")
    activity = models.ForeignKey(
        "enforcement.Activity", on_delete=models.PROTECT, related_name="case_links"
    )
    linked_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "activity"], name="case_activity_once")
        ]


class CaseRecording(models.Model):
    """A recording linked by hand (not through an activity), with the reason."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="recording_links")
    recording = models.ForeignKey(
        "footage.Recording", on_delete=models.PROTECT, related_name="case_links"
    )
    reason = models.CharField(_("关联理由"), max_length=300)
    linked_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "recording"], name="case_recording_once")
        ]


class DocumentKind(models.TextChoices):
    # The submission checklist of 第五条 (seed 003, 重大行政执法决定法制审核办法).
    INVESTIGATION_REPORT = "investigation_report", _("调查终结报告")
    DECISION_PROPOSAL = "decision_proposal", _("决定建议及情况说明")
    DRAFT_DECISION = "draft_decision", _("决定书代拟稿")
    EVIDENCE_BASIS = "evidence_basis", _("证据和法律依据")
    HEARING_RECORD = "hearing_record", _("听证笔录或评估报告")
    SUPPLEMENT = "supplement", _("补充材料")
    OPINION_LETTER = "opinion_letter", _("法制审核意见书")
    DECISION = "decision", _("决定书")
    OTHER = "other", _("其他材料")


class CaseDocument(models.Model):
    """An enforcement document (执法文书) as received: hashed, stored under object lock,
    never altered; a new version is a new document (`replaces`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("材料类型"), max_length=30, choices=DocumentKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=300)
    storage_version_id = models.CharField(max_length=200, blank=True)
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]


class ReviewerQualification(models.Model):
    """任职培训 passed (法制审核人员定期培训制度 第六条): only then may one review."""

    user = models.OneToOneField(
        "accounts.User", on_delete=models.CASCADE, related_name="reviewer_qualification"
    )
    trained_on = models.DateField(_("培训合格日期"))
    suspended = models.BooleanField(_("暂停审核资格"), default=False)


class ReviewState(models.TextChoices):
    SUBMITTED = "submitted", _("待审核")
    PAUSED = "paused", _("暂停计时")
    OPINION = "opinion", _("已出具意见")
    DISPUTED = "disputed", _("报负责人处理")
    CLOSED = "closed", _("审核完结")


class PauseReason(models.TextChoices):
    SUPPLEMENT = "supplement", _("补充材料")
    EXPERT = "expert", _("专家论证")
    COMMENTS = "comments", _("征求意见")
    INTERPRETATION = "interpretation", _("提请解释")


class OpinionKind(models.TextChoices):
    AGREE = "agree", _("同意")
    FURTHER = "further", _("继续调查或不予作出决定")
    CHANGE = "change", _("变更")
    CORRECT = "correct", _("纠正")
    TRANSFER = "transfer", _("移送司法机关")


class LegalReview(models.Model):
    """One submission of a case to the legal unit and its clock: 10 working days from
    receipt, +10 once with the leader's approval; paused time does not count (第八条)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reviews")
    state = models.CharField(max_length=20, choices=ReviewState.choices)
    submitted_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    leader_agreed_by = models.CharField(_("分管领导"), max_length=100)
    received_on = models.DateField(_("收到材料日期"))
    late_submission = models.BooleanField(default=False)
    reviewer = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    extended_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    extension_reason = models.CharField(max_length=300, blank=True)
    paused_working_days = models.PositiveIntegerField(default=0)
    due_on = models.DateField(_("审核期限"), null=True, blank=True)
    due_provisional = models.BooleanField(default=False)
    points = models.JSONField(default=dict)
    opinion = models.CharField(max_length=20, choices=OpinionKind.choices, blank=True)
    opinion_reasons = models.TextField(blank=True)
    opinion_at = models.DateTimeField(null=True, blank=True)
    handling_objection = models.TextField(blank=True)
    head_decision = models.TextField(blank=True)
    head_decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=~models.Q(state="closed"),
                name="case_one_open_review",
            )
        ]
        indexes = [models.Index(fields=["state", "due_on"], name="review_queue")]


class ReviewPause(models.Model):
    review = models.ForeignKey(LegalReview, on_delete=models.CASCADE, related_name="pauses")
    reason = models.CharField(max_length=20, choices=PauseReason.choices)
    note = models.CharField(max_length=500)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["started_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["review"],
                condition=models.Q(ended_on__isnull=True),
                name="review_one_open_pause",
            )
        ]


class DecisionKind(models.TextChoices):
    PENALTY = "penalty", _("行政处罚决定")
    NO_PENALTY = "no_penalty", _("不予行政处罚决定")
    LICENCE_REFUSED = "licence_refused", _("不予行政许可决定")
    LICENCE_REVOKED = "licence_revoked", _("撤销行政许可决定")
    TRANSFER = "transfer", _("移送司法机关")
    OTHER = "other", _("其他决定")


class ReviewCatalogueEntry(models.Model):
    """One line of the 重大行政执法决定法制审核目录清单 (imported in the seed's columns): a
    decision of this 审核项目 needs legal review before it is made."""

    unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, related_name="review_catalogue"
    )
    sequence = models.PositiveIntegerField(_("序号"), null=True, blank=True)
    category = models.CharField(_("执法类别"), max_length=50)
    item = models.CharField(_("审核项目"), max_length=300)
    organiser = models.CharField(_("承办机构"), max_length=200, blank=True)
    condition = models.TextField(_("审核条件"), blank=True)
    basis = models.TextField(_("审核依据"), blank=True)
    reviewing_body = models.CharField(_("审核机构"), max_length=200, blank=True)
    materials = models.TextField(_("提交的审核材料"), blank=True)
    focus = models.TextField(_("审核重点"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "item"], name="review_catalogue_unique_item")
        ]

    def __str__(self) -> str:
        return self.item


class RevocationGround(models.TextChoices):
    """Why a decision no longer stands (执法决定信息公开发布撤销更新制度)."""

    REVOKED = "revoked", _("决定被撤销")
    UNLAWFUL = "unlawful", _("决定被确认违法")
    REMADE = "remade", _("决定被要求重新作出")


class Decision(models.Model):
    """The decision (决定): what publication (公示) and retention read."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="decision")
    kind = models.CharField(_("决定类型"), max_length=20, choices=DecisionKind.choices)
    document_number = models.CharField(_("决定书文号"), max_length=100)
    summary = models.TextField(_("主要内容"))
    legal_basis = models.TextField(_("法律依据"))
    decided_on = models.DateField(_("决定日期"))
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    # 撤销 / 确认违法 / 重新作出: the decision stays on record; publication withdraws it.
    revoked_on = models.DateField(_("撤销日期"), null=True, blank=True)
    revoked_ground = models.CharField(
        _("撤销情形"), max_length=20, choices=RevocationGround.choices, blank=True
    )
    revoked_reason = models.TextField(_("撤销说明"), blank=True)
    revoked_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    @property
    def revoked(self) -> bool:
        return self.revoked_on is not None


class CaseCounter(models.Model):
    """The last sequence number given per unit and year (一案一号, no gaps by race)."""

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="case_counter_unit_year")
        ]
