from __future__ import annotations

import datetime

from ninja import Schema
from pydantic import Field


class DeviceEnrolIn(Schema):
    kind: str = Field(description="body_camera, handheld, tablet or dock")
    serial: str = Field(min_length=1, max_length=100)
    model_name: str = Field(default="", max_length=100)
    firmware: str = Field(default="", max_length=100)
    officer_certificate_number: str | None = None


class DeviceEnrolOut(Schema):
    device_id: str
    token: str = Field(description="Shown once. Only its hash is stored.")
    tls_ca_pem: str | None = Field(
        default=None,
        description=(
            "The internal CA certificate (PEM) the device pins for this server's TLS; "
            "null when no CA is configured (a publicly trusted certificate)."
        ),
    )


class DeviceOut(Schema):
    id: str
    kind: str
    serial: str
    model_name: str
    firmware: str
    state: str
    unit_id: int | None
    last_seen_at: datetime.datetime | None
    last_clock_offset_ms: int | None


class DeviceReenrolIn(Schema):
    reason: str = Field(min_length=1, max_length=500)


class DeviceRevokeIn(Schema):
    reason: str = Field(default="", max_length=500)


class EnrolmentCodeIn(Schema):
    kind: str = Field(description="body_camera, handheld, tablet or dock")
    serial: str = Field(
        default="",
        max_length=100,
        description="The one device the code enrols; empty: any device not yet registered.",
    )
    officer_certificate_number: str | None = None
    valid_hours: int = Field(default=24, ge=1, le=168)


class EnrolmentCodeOut(Schema):
    code: str = Field(description="Shown once; the device redeems it at POST /api/sync/v1/enrol.")
    expires_in_hours: int
