"""Each local day's Merkle root (RFC 6962) over what FieldVault took into custody that day,
chained to the day before and timestamped by an RFC 3161 TSA; and the leaves, kept so any
inclusion proof can be rebuilt."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LeafKind(models.TextChoices):
    RECORDING = "recording", _("音像记录")
    ACCESS_DOCUMENT = "access_document", _("申请材料")
    AUDIT_CHAIN = "audit_chain", _("审计链")


class DayRoot(models.Model):
    day = models.DateField(_("日期"), unique=True)
    tree_size = models.PositiveIntegerField(_("叶子数"))
    root = models.CharField(_("默克尔根"), max_length=64)
    previous = models.CharField(max_length=64)  # SHA-256 of the previous day's statement
    statement = models.TextField()  # the canonical JSON that is timestamped
    statement_hash = models.CharField(max_length=64, unique=True)
    sealed_at = models.DateTimeField(_("封存时间"))
    stamp_token = models.BinaryField(null=True, blank=True)  # DER TimeStampResp
    stamp_gen_time = models.DateTimeField(_("时间戳时间"), null=True, blank=True)
    stamp_serial = models.CharField(max_length=80, blank=True)
    stamp_tsa_url = models.CharField(max_length=500, blank=True)
    stamp_attempts = models.PositiveIntegerField(default=0)
    stamp_last_attempt_at = models.DateTimeField(null=True, blank=True)
    stamp_last_error = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)  # statement file written
    stamp_published_at = models.DateTimeField(null=True, blank=True)  # token file written

    class Meta:
        ordering = ["day"]
        verbose_name = _("每日默克尔根")
        verbose_name_plural = _("每日默克尔根")

    def __str__(self) -> str:
        return f"{self.day} {self.root[:16]}… ({self.tree_size})"

    @property
    def stamped(self) -> bool:
        return self.stamp_token is not None


class Leaf(models.Model):
    day = models.ForeignKey(DayRoot, on_delete=models.PROTECT, related_name="leaves")
    index = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=LeafKind.choices)
    object_id = models.CharField(max_length=64)
    data = models.TextField()  # canonical JSON: exactly the bytes hashed as the leaf
    leaf_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["day", "index"]
        constraints = (
            models.UniqueConstraint(fields=["day", "index"], name="integrity_leaf_unique_index"),
        )
        indexes = (models.Index(fields=["kind", "object_id"]),)

    def __str__(self) -> str:
        return f"{self.day_id}#{self.index} {self.kind}:{self.object_id}"
