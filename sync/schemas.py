"""Device-facing messages of the sync protocol (documented in mobile_contract/)."""

from __future__ import annotations

import datetime
import re
from typing import Literal

from ninja import Schema
from pydantic import BaseModel, Field, field_validator, model_validator

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class ClipIn(BaseModel):
    # Plain pydantic (not ninja.Schema): a manifest carries up to 20,000 of these, and
    # ninja's ORM-friendly root validator costs ~1 ms each.

    clip_id: str = Field(
        min_length=1, max_length=128, description="The device's own id for the clip."
    )
    file_name: str = Field(min_length=1, max_length=255, description="Display only; never a path.")
    size: int = Field(ge=0, description="Bytes.")
    sha256: str = Field(description="Lowercase hex SHA-256 of the whole file.")
    recorded_start: datetime.datetime = Field(description="In the device's clock, with offset.")
    recorded_end: datetime.datetime
    media_kind: Literal["video", "audio", "photo"]
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    trigger_reason: str | None = Field(default=None, max_length=100)

    @field_validator("sha256")
    @classmethod
    def _hex_sha256(cls, value: str) -> str:
        value = value.lower()
        if not SHA256_PATTERN.match(value):
            raise ValueError("sha256 must be 64 hexadecimal digits")
        return value

    @field_validator("recorded_start", "recorded_end")
    @classmethod
    def _aware(cls, value: datetime.datetime) -> datetime.datetime:
        if value.tzinfo is None:
            raise ValueError("times must carry a UTC offset, e.g. 2026-11-23T09:30:00+08:00")
        return value

    @model_validator(mode="after")
    def _end_after_start(self) -> ClipIn:
        if self.recorded_end < self.recorded_start:
            raise ValueError("recorded_end is before recorded_start")
        return self


class ManifestIn(Schema):
    device_time: datetime.datetime = Field(description="The device clock when it sent this.")
    clips: list[ClipIn] = Field(max_length=20_000)

    @field_validator("device_time")
    @classmethod
    def _aware(cls, value: datetime.datetime) -> datetime.datetime:
        if value.tzinfo is None:
            raise ValueError("device_time must carry a UTC offset")
        return value


ClipStatus = Literal["stored", "storing", "partial", "missing", "mismatch"]


class ClipOut(BaseModel):
    clip_id: str
    status: ClipStatus = Field(
        description=(
            "stored: verified and in storage, the device may delete it. storing: verified, "
            "being written to storage; keep it. partial: some bytes received; resume at "
            "`offset`. missing: send it. mismatch: what arrived (or what is stored) differs "
            "from the declared hash; keep the clip, and send again when `upload_url` is given."
        )
    )
    recording_id: str
    offset: int = 0
    upload_url: str | None = None
    detail: str | None = None


class ManifestOut(Schema):
    server_time: datetime.datetime
    clock_offset_ms: int = Field(description="server time − device time, as measured now.")
    clips: list[ClipOut]


class EnrolIn(Schema):
    code: str = Field(
        min_length=4, max_length=40, description="One-time code from the administrator."
    )
    serial: str = Field(min_length=1, max_length=100)
    model_name: str = Field(default="", max_length=100)
    firmware: str = Field(default="", max_length=100)


class EnrolOut(Schema):
    device_id: str
    token: str = Field(description="Keep it secret; send as `Authorization: Bearer <token>`.")
