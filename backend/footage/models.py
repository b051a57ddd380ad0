"""Recordings: one audio/video/photo file from a device, and its custody states."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MediaKind(models.TextChoices):
    VIDEO = "video", _("视频")
    AUDIO = "audio", _("录音")
    PHOTO = "photo", _("照片")


class RecordingState(models.TextChoices):
    ANNOUNCED = "announced", _("已申报")  # listed in a manifest, no bytes yet
    RECEIVING = "receiving", _("接收中")
    VERIFIED = "verified", _("已校验，待存储")  # whole-file SHA-256 matched; staged locally
    STORED = "stored", _("已存储")  # S3 confirmed: the device may delete its copy
    MISMATCH = "mismatch", _("哈希不符")  # received bytes differ from the declared hash
    # Destroyed after its retention ran out (retention/destruction.py): the original and the
    # derivatives are gone, the row stays as the record of what was held. Final.
    DESTROYED = "destroyed", _("已销毁")


class Recording(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(
        "devices.Device", on_delete=models.PROTECT, related_name="recordings"
    )
    clip_id = models.CharField(_("设备片段编号"), max_length=128)
    file_name = models.CharField(_("文件名"), max_length=255)
    size_bytes = models.BigIntegerField(_("大小"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    media_kind = models.CharField(_("类型"), max_length=10, choices=MediaKind.choices)
    # As reported, in the device's own clock …
    device_started_at = models.DateTimeField(_("设备时间：开始"))
    device_ended_at = models.DateTimeField(_("设备时间：结束"))
    # … and corrected by the clock offset measured at the sync that announced it, plus any
    # later correction by a person (RecordingTimeCorrection): always corrected − reported.
    clock_offset_ms = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(_("开始时间"), db_index=True)
    ended_at = models.DateTimeField(_("结束时间"))
    officer = models.ForeignKey(
        "accounts.Officer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recordings",
    )
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    trigger_reason = models.CharField(_("触发原因"), max_length=100, blank=True)
    state = models.CharField(
        max_length=12, choices=RecordingState.choices, default=RecordingState.ANNOUNCED
    )
    storage_key = models.CharField(max_length=200, blank=True)
    # The S3 version written (or found, for the same content stored before) at ingest:
    # every read of the original names it, so a later PUT on the same key changes nothing
    # we hand out. Blank for originals stored before it was recorded (read by key, and
    # still verified against `sha256`).
    storage_version_id = models.CharField(max_length=200, blank=True)
    stored_at = models.DateTimeField(null=True, blank=True)
    storage_attempts = models.PositiveIntegerField(default=0)
    storage_last_error = models.TextField(blank=True)
    storage_next_attempt_at = models.DateTimeField(null=True, blank=True)
    storage_lease_until = models.DateTimeField(null=True, blank=True)
    storage_lease_owner = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("音像记录")
        verbose_name_plural = _("音像记录")
        constraints = (
            models.UniqueConstraint(
                fields=["device", "clip_id"], name="recording_unique_clip_per_device"
            ),
            models.CheckConstraint(
                condition=models.Q(size_bytes__gte=0), name="recording_size_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(device_ended_at__gte=models.F("device_started_at")),
                name="recording_ends_after_start",
            ),
        )
        indexes = (
            models.Index(fields=["officer", "started_at"]),
            models.Index(fields=["state", "storage_next_attempt_at"]),
            # The list page's keyset order and its filters (issue 26).
            models.Index(fields=["started_at", "id"], name="recording_list_order"),
            models.Index(fields=["state", "started_at", "id"], name="recording_list_state"),
            models.Index(fields=["device", "started_at"], name="recording_list_device"),
            # The storage page's keyset order (newest arrivals first).
            models.Index(fields=["created_at", "id"], name="recording_storage_order"),
        )

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"


class RecordingStateChange(models.Model):
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="state_changes")
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    occurred_at = models.DateTimeField(auto_now_add=True)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ["recording", "occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.recording_id}: {self.from_state} -> {self.to_state}"


class RecordingTimeCorrection(models.Model):
    """One after-the-fact correction of a recording's corrected times by a person (a device
    clock found to have been wrong). The device-reported times and the bytes never change;
    every correction of one batch shares ``batch_id``. Rows are never edited or deleted."""

    recording = models.ForeignKey(
        Recording, on_delete=models.PROTECT, related_name="time_corrections"
    )
    batch_id = models.UUIDField(db_index=True)
    previous_started_at = models.DateTimeField(_("原开始时间"))
    previous_ended_at = models.DateTimeField(_("原结束时间"))
    new_started_at = models.DateTimeField(_("校正后开始时间"))
    new_ended_at = models.DateTimeField(_("校正后结束时间"))
    offset = models.DurationField(_("校正量"))
    reason = models.TextField(_("校正原因"))
    # Null when run at the server console (management command without --user).
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recording_time_corrections",
    )
    corrected_at = models.DateTimeField(_("校正时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("时间校正")
        verbose_name_plural = _("时间校正")
        ordering = ["recording", "corrected_at", "id"]

    def __str__(self) -> str:
        return f"{self.recording_id} {self.offset}"


class ProcessingState(models.TextChoices):
    PENDING = "pending", _("待处理")
    PROCESSING = "processing", _("处理中")
    READY = "ready", _("可播放")
    DAMAGED = "damaged", _("文件损坏")  # final: the original cannot be read; kept as uploaded
    FAILED = "failed", _("处理失败")  # final after the retry cap; the last error is kept


class RecordingProcessing(models.Model):
    """The media-processing state of one stored recording, owned by the project (not by the
    job queue): a job only carries the recording id; claims, leases, retries and the final
    outcome live here so that a killed worker or a lost job never strands a recording."""

    recording = models.OneToOneField(
        Recording, primary_key=True, on_delete=models.PROTECT, related_name="processing"
    )
    state = models.CharField(
        max_length=12, choices=ProcessingState.choices, default=ProcessingState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Damage reason (stable code + text a person understands) and warnings, from media/.
    reason_code = models.CharField(max_length=40, blank=True)
    reason = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    salvage = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=list, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    worker_id = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    elapsed_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("处理状态")
        verbose_name_plural = _("处理状态")
        indexes = (
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["state", "lease_until"]),
        )

    def __str__(self) -> str:
        return f"{self.recording_id} {self.state}"


class RecordingMetadata(models.Model):
    """What the file itself says, as found by processing (replaced on every re-run)."""

    recording = models.OneToOneField(
        Recording, primary_key=True, on_delete=models.PROTECT, related_name="media_metadata"
    )
    kind = models.CharField(max_length=10, blank=True)
    container = models.CharField(max_length=40, blank=True)
    format_name = models.CharField(max_length=100, blank=True)
    video_codec = models.CharField(max_length=40, blank=True)
    audio_codec = models.CharField(max_length=40, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    decode_errors = models.PositiveIntegerField(null=True, blank=True)
    # Creation time written into the file (MP4 creation_time, EXIF DateTimeOriginal) …
    file_created_at = models.DateTimeField(null=True, blank=True)
    file_time_source = models.CharField(max_length=40, blank=True)
    # … compared with the device-reported start: file time minus reported start.
    file_time_offset_seconds = models.FloatField(null=True, blank=True)
    file_time_disagrees = models.BooleanField(default=False)
    gps_latitude = models.FloatField(null=True, blank=True)
    gps_longitude = models.FloatField(null=True, blank=True)
    gps_altitude_m = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("媒体元数据")
        verbose_name_plural = _("媒体元数据")

    def __str__(self) -> str:
        return f"{self.recording_id} {self.container}"


class RecordingDerivative(models.Model):
    """A regenerable file made from an original (proxy, poster, thumbnails) in the
    derivatives bucket. The key derives from the original's hash and the profile, so a
    re-run writes the same key and this row is updated, never duplicated."""

    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="derivatives")
    profile = models.CharField(max_length=40)
    profile_version = models.PositiveIntegerField()
    bucket = models.CharField(max_length=100)
    key = models.CharField(max_length=300)
    content_type = models.CharField(max_length=100)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("衍生文件")
        verbose_name_plural = _("衍生文件")
        ordering = ["recording", "profile"]
        constraints = (
            models.UniqueConstraint(
                fields=["recording", "profile"], name="derivative_unique_profile_per_recording"
            ),
        )

    def __str__(self) -> str:
        return self.key
