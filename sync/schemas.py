"""Device-facing messages of the sync protocol (documented in mobile_contract/)."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Sha256Hex = Annotated[
    str,
    StringConstraints(to_lower=True, pattern=r"^[0-9a-fA-F]{64}$"),
    Field(description="Hex SHA-256 of the whole file (64 digits; sent back lowercase)."),
]


class ClipIn(BaseModel):
    # Plain pydantic (not ninja.Schema) and constraints checked inside pydantic-core (no
    # Python validator per field): a manifest carries up to 20,000 of these.

    clip_id: str = Field(
        min_length=1, max_length=128, description="The device's own id for the clip."
    )
    file_name: str = Field(min_length=1, max_length=255, description="Display only; never a path.")
    size: int = Field(ge=0, description="Bytes.")
    sha256: Sha256Hex
    recorded_start: AwareDatetime = Field(
        description="In the device's clock, with its UTC offset (e.g. +08:00)."
    )
    recorded_end: AwareDatetime
    media_kind: Literal["video", "audio", "photo"]
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    trigger_reason: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _end_after_start(self) -> ClipIn:
        if self.recorded_end < self.recorded_start:
            raise ValueError("recorded_end is before recorded_start")
        return self


class ManifestIn(BaseModel):
    device_time: datetime.datetime = Field(description="The device clock when it sent this.")
    clips: list[ClipIn] = Field(max_length=20_000)

    @field_validator("device_time")
    @classmethod
    def _aware(cls, value: datetime.datetime) -> datetime.datetime:
        if value.tzinfo is None:
            raise ValueError("device_time must carry a UTC offset")
        return value


ClipStatus = Literal["stored", "storing", "partial", "missing", "mismatch", "insufficient_storage"]


class ClipOut(BaseModel):
    clip_id: str
    status: ClipStatus = Field(
        description=(
            "stored: verified and in storage, the device may delete it. storing: verified, "
            "being written to storage; keep it. partial: some bytes received; resume at "
            "`offset`. missing: send it. mismatch: what arrived (or what is stored) differs "
            "from the declared hash; keep the clip, and send again when `upload_url` is given. "
            "insufficient_storage: the server cannot stage this clip now (its staging space, "
            "or this device's share of it, is taken); no `upload_url`: keep the clip and sync "
            "again later (`detail` says why)."
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
    tls_ca_pem: str | None = Field(
        default=None,
        description=(
            "The internal CA certificate (PEM) to pin for this server's TLS from now on; "
            "null when the server's certificate is publicly trusted (no CA configured)."
        ),
    )


DockableKind = Literal["body_camera", "handheld"]


class DockCameraIn(BaseModel):
    kind: DockableKind = Field(description="The camera's device kind.")
    serial: str = Field(
        min_length=1,
        max_length=100,
        description="As read from the camera (ID file, volume label or file names).",
    )
    model_name: str = Field(default="", max_length=100)
    slot: str = Field(default="", max_length=40, description="The dock slot it sits in.")
    camera_time: AwareDatetime | None = Field(
        default=None,
        description=(
            "The camera's clock, read by the dock at `measured_at` (workstation clock); "
            "omit when the camera does not expose it."
        ),
    )
    measured_at: AwareDatetime | None = Field(
        default=None,
        description="Workstation clock when `camera_time` was read (default: `device_time`).",
    )
    clips: list[ClipIn] = Field(max_length=20_000)


class DockManifestIn(BaseModel):
    device_time: AwareDatetime = Field(description="The workstation clock when it sent this.")
    cameras: list[DockCameraIn] = Field(min_length=1, max_length=64)


ClockSource = Literal["measured", "last_known", "dock"]


class DockCameraOut(BaseModel):
    kind: str
    serial: str
    camera_id: str
    assignment: Literal["assigned", "unassigned"] = Field(
        description=(
            "unassigned: the camera is registered to the dock's unit but no officer holds "
            "it; its clips are kept (an administrator assigns it) and answered as usual."
        )
    )
    clock_offset_ms: int = Field(description="server time − camera time, as applied.")
    clock_source: ClockSource = Field(
        description=(
            "measured: from `camera_time`; last_known: the camera's last measured offset; "
            "dock: the workstation's own (the camera's clock taken as the workstation's)."
        )
    )
    clips: list[ClipOut]


class DockManifestOut(Schema):
    server_time: datetime.datetime
    clock_offset_ms: int = Field(description="server time − workstation time, as measured now.")
    cameras: list[DockCameraOut]
