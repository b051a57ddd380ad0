"""Public items (行政执法公示), their history (what was public when) and the yearly tallies."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    INSPECTION = "inspection", _("双随机抽查结果")
    PENALTY = "penalty", _("行政处罚决定")
    CHECK = "check", _("行政检查结果")


class PartyKind(models.TextChoices):
    NATURAL = "natural", _("自然人")
    ORGANISATION = "organisation", _("法人或其他组织")


class ItemState(models.TextChoices):
    PENDING = "pending", _("待公示")
    PUBLISHED = "published", _("已公示")
    EXCLUDED = "excluded", _("不予公开")
    WITHDRAWN = "withdrawn", _("已撤下")
    EXPIRED = "expired", _("期满撤下")


class ExclusionGround(models.TextChoices):
    """第八条: grounds on which a decision is not published."""

    MINOR = "minor", _("行政相对人是未成年人")
    SECRET = "secret", _("涉及国家秘密、商业秘密、个人隐私")
    SECURITY = "security", _("可能危及国家安全、公共安全、经济安全和社会稳定")
    OBSTRUCTION = "obstruction", _("可能妨害正常执法活动")
    OTHER = "other", _("其他不宜公开的情形")


class PublicItem(models.Model):
    """One decision or result to be published: what the source offered (kept internal),
    and, once published, the de-identified text the public site shows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=40)  # e.g. "inspections.inspection", "cases.decision"
    source_key = models.CharField(max_length=64)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("类别"), max_length=12, choices=Category.choices)
    title = models.CharField(_("标题"), max_length=300)
    party_kind = models.CharField(max_length=12, choices=PartyKind.choices)
    # Internal: never rendered on the public site (public_* fields are).
    party_name = models.CharField(max_length=300)
    party_is_minor = models.BooleanField(default=False)
    withheld_texts = models.JSONField(default=list)  # identity numbers, addresses: scrubbed
    fields = models.JSONField(default=list)  # [[label, value], …] as offered
    decided_on = models.DateField(_("信息形成日期"))
    publish_by = models.DateField(_("公示期限"))
    publish_by_provisional = models.BooleanField(default=False)
    state = models.CharField(
        max_length=10, choices=ItemState.choices, default=ItemState.PENDING, db_index=True
    )
    # What the public site shows, fixed at publication (or correction).
    public_title = models.CharField(max_length=300, blank=True)
    public_party = models.CharField(max_length=300, blank=True)
    public_fields = models.JSONField(default=list)
    public_search = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    takedown_on = models.DateField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    exclusion_ground = models.CharField(max_length=12, choices=ExclusionGround.choices, blank=True)
    exclusion_approved_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("公示信息")
        verbose_name_plural = _("公示信息")
        constraints = (
            models.UniqueConstraint(fields=["source", "source_key"], name="public_item_once"),
            models.CheckConstraint(
                condition=~models.Q(state="published")
                | models.Q(published_at__isnull=False, takedown_on__isnull=False),
                name="public_item_published_has_dates",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="excluded")
                | models.Q(exclusion_ground="minor")
                | (~models.Q(exclusion_ground="") & models.Q(exclusion_approved_by__isnull=False)),
                name="public_item_exclusion_approved",
            ),
        )
        indexes = (
            # The public index: newest first, keyset on (published_at, id).
            models.Index(
                fields=["-published_at", "-id"],
                name="public_item_site",
                condition=models.Q(state="published"),
            ),
            models.Index(fields=["unit", "state", "publish_by"], name="public_item_queue"),
            # The public site's cache generation: the last change of any item.
            models.Index(fields=["-updated_at"], name="public_item_changed"),
            models.Index(
                fields=["takedown_on"],
                name="public_item_takedown",
                condition=models.Q(state="published"),
            ),
        )

    def __str__(self) -> str:
        return f"{self.source}:{self.source_key}"


class PublicItemVersion(models.Model):
    """Every publish, correction, withdrawal and take-down, with what was public from then."""

    item = models.ForeignKey(PublicItem, on_delete=models.PROTECT, related_name="versions")
    action = models.CharField(max_length=20)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    public = models.JSONField(default=dict)  # the public text from `at` on ({} = nothing)

    class Meta:
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.item_id} {self.action}"


class PublicNotice(models.Model):
    """A unit's 救济途径 and 投诉举报渠道 (事前公开), written by its staff, shown on the site."""

    unit = models.OneToOneField("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    remedies = models.TextField(_("救济途径"), blank=True)
    complaints = models.TextField(_("投诉举报渠道"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.unit_id}"


class ReportState(models.TextChoices):
    OPEN = "open", _("待核查")
    CORRECTED = "corrected", _("已更正")
    NO_ERROR = "no_error", _("经核查无误")


class ErrorReport(models.Model):
    """纠错: a member of the public says a published item is inaccurate. The id is the
    reporter's ticket (unguessable); the address is kept only as a keyed hash, to throttle."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(PublicItem, on_delete=models.PROTECT, related_name="error_reports")
    text = models.TextField(_("纠错内容"))
    contact = models.CharField(_("联系方式"), max_length=100, blank=True)
    address_key = models.CharField(max_length=64)
    submitted_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(
        max_length=12, choices=ReportState.choices, default=ReportState.OPEN, db_index=True
    )
    outcome = models.TextField(_("核查结果"), blank=True)
    handled_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["address_key", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.item_id} {self.state}"


class TallyMeasure(models.TextChoices):
    OFFERED = "offered", _("应公示")
    PUBLISHED = "published", _("已公示")
    ON_TIME = "on_time", _("按期公示")
    EXCLUDED = "excluded", _("不予公开")
    WITHDRAWN = "withdrawn", _("撤下（撤销、违法、重作）")
    EXPIRED = "expired", _("期满撤下")


class PublicationTally(models.Model):
    """Yearly counts per unit, category and measure, kept current by the services in the
    same transaction (F() increments), rebuilt and proved by `publication_tallies_rebuild`.
    The yearly report reads these rows, never a COUNT over the items."""

    year = models.PositiveSmallIntegerField()
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=12, choices=Category.choices)
    measure = models.CharField(max_length=12, choices=TallyMeasure.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["year", "unit", "category", "measure"], name="publication_tally_once"
            ),
        )

    def __str__(self) -> str:
        return f"{self.year} {self.unit_id} {self.category} {self.measure}={self.count}"


class YearlyReportFiling(models.Model):
    """A unit's filed yearly report (统计年报): computed and hand-entered figures frozen
    together at filing; never changed afterwards (no service updates it)."""

    year = models.PositiveSmallIntegerField()
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField()
    filed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    snapshot = models.JSONField()

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["year", "unit"], name="yearly_report_filed_once"),
        )

    def __str__(self) -> str:
        return f"{self.year} {self.unit_id}"
