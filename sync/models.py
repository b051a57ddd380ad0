"""Upload state of the tus endpoint. The bytes live in FV_STAGING_DIR until stored in S3."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models

from sync.tus.staging import fence_path_of


class UploadState(models.TextChoices):
    RECEIVING = "receiving", "receiving"
    COMPLETE = "complete", "complete"
    MISMATCH = "mismatch", "mismatch"
    TERMINATED = "terminated", "terminated"


class Upload(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey("devices.Device", on_delete=models.PROTECT, related_name="uploads")
    recording = models.ForeignKey(
        "footage.Recording", on_delete=models.PROTECT, related_name="uploads"
    )
    length = models.BigIntegerField(null=True, blank=True)  # null until declared (defer-length)
    offset = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict)
    declared_sha256 = models.CharField(max_length=64)
    received_sha256 = models.CharField(max_length=64, blank=True)
    state = models.CharField(
        max_length=12, choices=UploadState.choices, default=UploadState.RECEIVING
    )
    expires_at = models.DateTimeField()
    lock_token = models.UUIDField(null=True, blank=True)
    lock_expires_at = models.DateTimeField(null=True, blank=True)
    # Fencing token: +1 on every lease acquisition; every write, truncate and checkpoint
    # is conditional on it (in the row and in the staging file's `.fence` companion).
    lock_generation = models.BigIntegerField(default=0)
    # The process holding the lease (backend.lease_owner): a dead one's lease is void.
    lock_owner = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["recording", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(offset__gte=0), name="upload_offset_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(length__isnull=True) | models.Q(offset__lte=models.F("length")),
                name="upload_offset_within_length",
            ),
        ]

    @property
    def staging_path(self) -> Path:
        """Derived from the upload id only: nothing a device sends reaches a file path."""
        return Path(settings.FV_STAGING_DIR) / "uploads" / f"{self.id}.part"

    @property
    def fence_path(self) -> Path:
        return fence_path_of(self.staging_path)

    @property
    def mismatch_path(self) -> Path:
        return Path(settings.FV_STAGING_DIR) / "mismatch" / f"{self.id}.bin"

    @property
    def url_path(self) -> str:
        return f"/api/sync/v1/uploads/{self.id}"
