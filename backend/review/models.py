"""Access to recorded enforcement information (行政执法记录信息调阅监督制度, seed 003).

Requests (调阅申请) name a purpose and recordings; the approval the seed requires turns a
request into a grant with a scope, a view or copy permission and an expiry. Every view,
download and export is written to the access register (查阅登记簿), which is append-only.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LoginAttempt(models.Model):
    """One sign-in attempt; repeated failures for a user name lock it for a while."""

    username = models.CharField(max_length=150)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    succeeded = models.BooleanField()
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = (
            models.Index(fields=["username", "occurred_at"]),
            models.Index(fields=["ip_address", "occurred_at"], name="review_login_ip_time"),
        )
        verbose_name = _("登录尝试")
        verbose_name_plural = _("登录尝试")

    def __str__(self) -> str:
        outcome = "ok" if self.succeeded else "failed"
        return f"{self.username} {self.occurred_at:%Y-%m-%d %H:%M} {outcome}"


class ApprovalAuthority(models.TextChoices):
    # 第四条: a legal officer's copy needs the office head (办公室主要负责人);
    # 第五至七条: everyone else needs the bureau head (局主要负责人).
    OFFICE_HEAD = "office_head", _("办公室主要负责人")
    BUREAU_HEAD = "bureau_head", _("局主要负责人")


class Approver(models.Model):
    """Who holds an approving office, for the records of which unit (and its sub-units).

    The bureau head may also approve what the office head approves."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approver_offices"
    )
    authority = models.CharField(_("审批权限"), max_length=20, choices=ApprovalAuthority.choices)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="approvers")

    class Meta:
        verbose_name = _("审批人")
        verbose_name_plural = _("审批人")
        constraints = (
            models.UniqueConstraint(
                fields=["user", "authority", "unit"], name="approver_unique_office"
            ),
        )

    def __str__(self) -> str:
        return f"{self.user} · {self.get_authority_display()} · {self.unit}"


class RequesterKind(models.TextChoices):
    LEGAL_OFFICER = "legal_officer", _("本单位法制项目负责人")
    STAFF = "staff", _("本局其他工作人员")
    POLICE = "police", _("公安机关")
    PROCURATORATE = "procuratorate", _("检察院")
    COURT = "court", _("法院")
    STATE_SECURITY = "state_security", _("国家安全机关")
    DISCIPLINE = "discipline", _("纪检监察机关")
    PARTY = "party", _("行政管理相对人（当事人）")
    PARTY_LAWYER = "party_lawyer", _("当事人的代理律师")


OUTSIDE_BODIES = frozenset(
    {
        RequesterKind.POLICE,
        RequesterKind.PROCURATORATE,
        RequesterKind.COURT,
        RequesterKind.STATE_SECURITY,
        RequesterKind.DISCIPLINE,
    }
)
PARTIES = frozenset({RequesterKind.PARTY, RequesterKind.PARTY_LAWYER})


class AccessRequestState(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("未批准")


class AccessRequest(models.Model):
    """A request to view (or copy) recordings. Entered by a signed-in user: staff for
    themselves, or the office clerk on behalf of an outside body or a party, whose
    identity is then recorded in the applicant fields."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    requester_kind = models.CharField(_("申请人类别"), max_length=20, choices=RequesterKind.choices)
    applicant_name = models.CharField(_("申请人姓名"), max_length=100, blank=True)
    applicant_organisation = models.CharField(_("申请单位"), max_length=200, blank=True)
    applicant_id_number = models.CharField(_("有效证件号码"), max_length=64, blank=True)
    purpose = models.TextField(_("调阅事由"))
    want_copy = models.BooleanField(_("申请复制"), default=False)
    recordings = models.ManyToManyField(
        "footage.Recording", related_name="access_requests", verbose_name=_("音像记录")
    )
    activity_ref = models.CharField(_("执法活动"), max_length=64, blank=True)
    required_authority = models.CharField(max_length=20, choices=ApprovalAuthority.choices)
    state = models.CharField(
        max_length=10, choices=AccessRequestState.choices, default=AccessRequestState.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_requests_decided",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("调阅申请")
        verbose_name_plural = _("调阅申请")
        constraints = (
            # Requester and approver are never the same person, whatever code path writes.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requester")),
                name="access_request_not_self_decided",
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_requester_kind_display()} {self.applicant_name or self.requester}"


class AccessDocumentKind(models.TextChoices):
    LETTER_OF_INTRODUCTION = "letter_of_introduction", _("单位介绍信")
    IDENTITY = "identity", _("申请人有效证件")
    POWER_OF_ATTORNEY = "power_of_attorney", _("委托书、授权书")
    LAWYER_LICENCE = "lawyer_licence", _("律师执业证")


class AccessDocument(models.Model):
    """An uploaded supporting document (scan of a letter, an ID, a licence)."""

    request = models.ForeignKey(AccessRequest, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("材料类型"), max_length=30, choices=AccessDocumentKind.choices)
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=300)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"


class AccessGrant(models.Model):
    """What an approval allows: these recordings, view or also copy, until the expiry."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_grants"
    )
    recordings = models.ManyToManyField("footage.Recording", related_name="access_grants")
    can_copy = models.BooleanField(_("允许复制"), default=False)
    expires_at = models.DateTimeField(_("有效期至"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_grants_given"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    # Revoked early (提前撤销) by the approver, the bureau head or a system administrator:
    # the grant stops working at once, whatever its expiry.
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_grants_revoked",
    )
    revoke_reason = models.TextField(_("撤销理由"), blank=True)

    class Meta:
        ordering = ("-granted_at",)
        verbose_name = _("调阅授权")
        verbose_name_plural = _("调阅授权")
        constraints = (
            models.CheckConstraint(
                condition=~Q(granted_by=F("holder")), name="access_grant_not_self_granted"
            ),
            # The holder never revokes their own grant (nor revokes-and-reissues to themselves).
            models.CheckConstraint(
                condition=Q(revoked_by__isnull=True) | ~Q(revoked_by=F("holder")),
                name="access_grant_not_self_revoked",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_by__isnull=True)
                | Q(revoked_at__isnull=False, revoked_by__isnull=False),
                name="access_grant_revocation_complete",
            ),
        )

    def __str__(self) -> str:
        return f"grant {self.pk} until {self.expires_at:%Y-%m-%d %H:%M}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_active(self, at: datetime.datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (at or timezone.now())


class RegisterAction(models.TextChoices):
    VIEW = "view", _("查看")
    DOWNLOAD = "download", _("下载")
    EXPORT = "export", _("导出")


class AccessBasis(models.TextChoices):
    SCOPE = "scope", _("职责范围内直接查阅")
    GRANT = "grant", _("经批准调阅")


class ProxiesState(models.TextChoices):
    NONE = "none", _("无需副本")  # staff exports: originals only
    PENDING = "pending", _("待生成")
    WORKING = "working", _("生成中")
    READY = "ready", _("已生成")
    FAILED = "failed", _("生成失败")
    # Final: the grant stopped working, so no copies are kept — before they were published
    # (export_proxies_prepare checks when it starts and before it publishes) or after
    # (export_copies_withdraw: queued by a revocation, run for expiry by retention_periodic).
    REVOKED = "revoked", _("授权已撤销，未生成副本")
    EXPIRED = "expired", _("授权已过期，未生成副本")


class ExportPackage(models.Model):
    """One export made under a copy grant: what went in and with which hashes.

    Exports for outside bodies and parties also carry watermarked viewing copies; those are
    transcoded by a background job (export_proxies_prepare) into the derivatives bucket
    before the package can be downloaded, so a download never waits on ffmpeg."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grant = models.ForeignKey(AccessGrant, on_delete=models.PROTECT, related_name="exports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)
    purpose = models.TextField()
    watermark_text = models.CharField(max_length=300, blank=True)
    with_proxies = models.BooleanField(default=False)
    manifest = models.JSONField(default=dict)
    proxies_state = models.CharField(
        max_length=10, choices=ProxiesState.choices, default=ProxiesState.NONE
    )
    # [{"recording_id", "path", "bucket", "key", "sha256", "size_bytes"}] once ready.
    proxies = models.JSONField(default=list)
    proxies_claimed_at = models.DateTimeField(null=True, blank=True)
    proxies_error = models.TextField(blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("导出包")
        verbose_name_plural = _("导出包")

    def __str__(self) -> str:
        return f"export {self.pk}"


class AccessRegisterEntry(models.Model):
    """查阅登记簿: one row per view, download or export. Append-only: no code path updates
    or deletes a row, and on PostgreSQL a trigger refuses it (migration 0002)."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="register_entries"
    )
    user_display = models.CharField(_("查阅人"), max_length=200)
    user_role = models.CharField(max_length=30)
    user_unit = models.CharField(_("查阅人单位"), max_length=200, blank=True)
    action = models.CharField(_("方式"), max_length=10, choices=RegisterAction.choices)
    recording = models.ForeignKey(
        "footage.Recording",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entries",
    )
    recording_unit_path = models.CharField(max_length=500, blank=True, db_index=True)
    grant = models.ForeignKey(
        AccessGrant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entries",
    )
    export = models.ForeignKey(
        ExportPackage,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entries",
    )
    basis = models.CharField(_("依据"), max_length=10, choices=AccessBasis.choices)
    purpose = models.TextField(_("事由"))
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = (
            "-occurred_at",
            "-id",
        )
        verbose_name = _("查阅登记")
        verbose_name_plural = _("查阅登记簿")

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.user_display} {self.action}"
