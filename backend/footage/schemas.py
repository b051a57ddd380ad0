from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, Schema


class StateChangeOut(Schema):
    from_state: str
    to_state: str
    occurred_at: datetime.datetime


class RecordingOut(Schema):
    id: str
    device_id: str
    clip_id: str
    file_name: str
    media_kind: str
    size_bytes: int
    sha256: str
    state: str
    officer_id: int | None
    device_started_at: datetime.datetime
    device_ended_at: datetime.datetime
    clock_offset_ms: int
    started_at: datetime.datetime
    ended_at: datetime.datetime
    latitude: float | None
    longitude: float | None
    stored_at: datetime.datetime | None
    state_history: list[StateChangeOut]


class ProcessingOut(Schema):
    state: str
    state_label: str
    attempts: int
    reason_code: str
    reason_message: str
    reason: dict[str, Any]
    warnings: list[dict[str, Any]]
    salvage: dict[str, Any]
    last_error: str
    finished_at: datetime.datetime | None


class MetadataOut(Schema):
    kind: str
    container: str
    video_codec: str
    audio_codec: str
    duration_seconds: float | None
    width: int | None
    height: int | None
    fps: float | None
    decode_errors: int | None
    file_created_at: datetime.datetime | None
    file_time_source: str
    file_time_offset_seconds: float | None
    file_time_disagrees: bool
    gps_latitude: float | None
    gps_longitude: float | None
    gps_altitude_m: float | None


class DerivativeOut(Schema):
    profile: str
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    url: str | None = Field(
        description="Short-lived presigned URL; null for callers who may not view content."
    )
    url_expires_at: datetime.datetime | None


class TimeCorrectionOut(Schema):
    batch_id: str
    previous_started_at: datetime.datetime
    previous_ended_at: datetime.datetime
    new_started_at: datetime.datetime
    new_ended_at: datetime.datetime
    offset_seconds: float
    reason: str
    corrected_by: str | None = Field(description="User name; null when run at the console.")
    corrected_at: datetime.datetime


class RecordingDetailOut(RecordingOut):
    processing: ProcessingOut | None
    metadata: MetadataOut | None
    derivatives: list[DerivativeOut]
    time_corrections: list[TimeCorrectionOut]
