"""Typical cases (典型案例) of the case library, their de-identification and their review.

A case is written from a closed case file or a correction subject's record. Its sections
are kept as the officer wrote them (real names included, never shown outside the author
unit and its reviewers); what leaves the building is the text with every active
`Redaction` applied, frozen into the ``public_*`` columns when the last level accepts it."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class LibraryCategory(models.Model):
    """A node of the category tree (案例分类明细): the nine areas of the seed at the top,
    configurable below them; `quota` is the number a unit owes per deadline (每类不少于5个)."""

    code = models.SlugField(_("代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    position = models.PositiveSmallIntegerField(default=0)
    quota = models.PositiveSmallIntegerField(_("每期最低数量"), default=5)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("案例类别")
        verbose_name_plural = _("案例类别")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class SubjectTerm(models.Model):
    """A term of the controlled vocabulary (规范的检索主题词)."""

    term = models.CharField(_("主题词"), max_length=30, unique=True)
    category = models.ForeignKey(
        LibraryCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="terms"
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("主题词")
        verbose_name_plural = _("主题词")
        ordering = ["term"]

    def __str__(self) -> str:
        return self.term


class LibraryState(models.TextChoices):
    DRAFT = "draft", _("编写中")
    IN_REVIEW = "in_review", _("评审中")
    RETURNED = "returned", _("退回修改")
    REJECTED = "rejected", _("不予入库")
    ACCEPTED = "accepted", _("已入库")


EDITABLE_STATES = (LibraryState.DRAFT, LibraryState.RETURNED)


class SourceKind(models.TextChoices):
    CASE = "case", _("执法案卷")
    CORRECTION = "correction", _("社区矫正档案")
    IMPORTED = "imported", _("报送包导入")


class LibraryCase(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state = models.CharField(
        _("状态"), max_length=20, choices=LibraryState.choices, default=LibraryState.DRAFT
    )
    category = models.ForeignKey(LibraryCategory, on_delete=models.PROTECT, related_name="cases")
    terms = models.ManyToManyField(SubjectTerm, related_name="cases", verbose_name=_("主题词"))
    # The template's sections as written (source text, real names included).
    title = models.CharField(_("标题"), max_length=200)
    facts = models.TextField(_("基本案情"), blank=True)
    handling = models.TextField(_("处理过程与结果"), blank=True)
    analysis = models.TextField(_("评析/法律依据"), blank=True)
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices)
    source_case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_subject = models.ForeignKey(
        "corrections.Subject", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    author_name = models.CharField(_("编写人"), max_length=100, blank=True)
    # The level the case waits at (0: the author's own bureau), while in review.
    level = models.PositiveSmallIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    # What the library shows, frozen at acceptance.
    public_title = models.CharField(max_length=200, blank=True)
    public_facts = models.TextField(blank=True)
    public_handling = models.TextField(blank=True)
    public_analysis = models.TextField(blank=True)
    # An imported case: its id where it was written, its unit there, its signed history.
    origin = models.CharField(max_length=64, blank=True)
    origin_unit = models.CharField(_("原编写单位"), max_length=200, blank=True)
    origin_history = models.JSONField(default=list, blank=True)
    # Bigrams of the public text, the full-text index's input (backend/caselibrary/search.py).
    search_terms = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("典型案例")
        verbose_name_plural = _("典型案例")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(source_kind="case", source_case__isnull=False)
                    | models.Q(source_kind="correction", source_subject__isnull=False)
                    | (models.Q(source_kind="imported") & ~models.Q(origin=""))
                ),
                name="library_case_has_source",
            ),
            models.UniqueConstraint(
                fields=["origin"], condition=~models.Q(origin=""), name="library_origin_once"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "-accepted_at", "-id"], name="library_accepted_keyset"),
            models.Index(fields=["author_unit", "-updated_at"], name="library_author_unit"),
        ]

    def __str__(self) -> str:
        return self.public_title or str(self.pk)


class RedactionKind(models.TextChoices):
    NAME = "name", _("姓名")
    ID_NUMBER = "id_number", _("身份证号")
    PHONE = "phone", _("电话号码")
    PLATE = "plate", _("车牌号")
    ADDRESS = "address", _("详细地址")
    BIRTH_DATE = "birth_date", _("出生日期")
    OTHER = "other", _("其他")


class Redaction(models.Model):
    """One change of the de-identification: every occurrence of `original` in the case's
    text becomes `replacement`. Found automatically (the parties known from the source
    data, the masking patterns) or added by the officer; undone ones are kept (history)."""

    case = models.ForeignKey(LibraryCase, on_delete=models.CASCADE, related_name="redactions")
    kind = models.CharField(max_length=20, choices=RedactionKind.choices)
    original = models.CharField(max_length=200)
    replacement = models.CharField(max_length=200, blank=True)
    manual = models.BooleanField(default=False)
    # A minor's identity is masked always (未成年人保护): such a change cannot be undone.
    minor = models.BooleanField(default=False)
    undone = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "original"], name="redaction_once_per_text")
        ]


class EvidenceLink(models.Model):
    """A link back to the evidence the case rests on (a document, recording, activity)."""

    case = models.ForeignKey(LibraryCase, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=20)
    target = models.CharField(max_length=64)
    label = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["pk"]


class ReviewLevel(models.Model):
    """A level of the chain the case has reached (its bureau, the city, the province …):
    that unit's reviewers see it from then on (保密: author unit and its reviewers only)."""

    case = models.ForeignKey(LibraryCase, on_delete=models.CASCADE, related_name="levels")
    level = models.PositiveSmallIntegerField()
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["level"]
        constraints = [
            models.UniqueConstraint(fields=["case", "level"], name="library_level_once"),
        ]
        indexes = [models.Index(fields=["unit", "case"], name="library_level_unit")]


class ReviewAction(models.TextChoices):
    SUBMIT = "submit", _("署名报送")
    APPROVE = "approve", _("审核通过")
    RETURN = "return", _("退回修改")
    REJECT = "reject", _("不予入库")


class ReviewEntry(models.Model):
    """The history: the author's signed submissions and every reviewer's verdict, each
    under the person's real name (署名制, 实名评审); never deleted."""

    case = models.ForeignKey(LibraryCase, on_delete=models.CASCADE, related_name="history")
    action = models.CharField(max_length=20, choices=ReviewAction.choices)
    level = models.PositiveSmallIntegerField(default=0)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    by_name = models.CharField(max_length=100)
    comments = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
