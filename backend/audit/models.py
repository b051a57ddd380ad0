"""The tamper-evident audit log: append-only, each entry chained to the previous by hash."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActorKind(models.TextChoices):
    USER = "user", _("用户")
    DEVICE = "device", _("设备")
    SYSTEM = "system", _("系统")


class AuditEvent(models.Model):
    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    data = models.JSONField(default=dict)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["object_type", "object_id", "sequence"])]
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """One row: the newest sequence and hash. Appenders lock it, so the chain has no forks,
    and verification can tell a deleted tail from a short chain."""

    singleton = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default="0" * 64)
