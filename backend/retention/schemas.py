from __future__ import annotations

import datetime
import uuid

from ninja import Schema
from pydantic import Field


class PolicyOut(Schema):
    category: str
    name: str
    period_days: int | None
    permanent: bool


class PolicyIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    period_days: int | None = Field(default=None, gt=0, le=36500)
    permanent: bool = False


class PolicyPreviewIn(Schema):
    category: str = Field(min_length=1, max_length=120)
    period_days: int | None = Field(default=None, gt=0, le=36500)
    permanent: bool = False
    remove: bool = False
    limit: int = Field(default=1000, ge=1, le=10000)


class DateChangeOut(Schema):
    recording_id: str
    old_until: datetime.datetime
    new_until: datetime.datetime
    old_reason: str
    new_reason: str


class PolicyPreviewOut(Schema):
    category: str
    total_changed: int
    later: int
    earlier: int
    refused_reason: str | None
    changes: list[DateChangeOut]


class RetentionOut(Schema):
    recording_id: str
    retention_until: datetime.datetime
    permanent: bool
    reason: str
    categories: list[str]
    policy_until: datetime.datetime
    lock_until: datetime.datetime | None
    held: bool
    last_fixity_at: datetime.datetime | None
    last_fixity_outcome: str
    destroyed_at: datetime.datetime | None


class MarkIn(Schema):
    recording_id: uuid.UUID
    kind: str
    activity_ref: str = Field(default="", max_length=120)
    case_ref: str = Field(default="", max_length=120)
    note: str = Field(default="", max_length=500)


class MarkOut(Schema):
    id: int
    recording_id: str
    kind: str


class HoldIn(Schema):
    target_kind: str
    recording_id: uuid.UUID | None = None
    reference: str = Field(default="", max_length=120)
    reason: str = Field(min_length=1, max_length=500)


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=500)


class HoldOut(Schema):
    id: int
    target_kind: str
    recording_id: str | None
    reference: str
    reason: str
    placed_by: int
    placed_at: datetime.datetime
    released_by: int | None
    released_at: datetime.datetime | None


class BatchIn(Schema):
    recording_ids: list[uuid.UUID] | None = None
    limit: int = Field(default=500, ge=1, le=10000)
    note: str = Field(default="", max_length=500)


class ItemOut(Schema):
    id: int
    recording_id: str
    size_bytes: int
    sha256: str
    categories: list[str]
    links: dict[str, list[str]]
    retention_until: datetime.datetime
    reason_due: str
    state: str
    state_reason: str


class BatchOut(Schema):
    id: int
    state: str
    prepared_by: int
    prepared_at: datetime.datetime
    item_count: int
    total_bytes: int
    share: float
    approvals_required: int
    approvers: list[int]
    executes_after: datetime.datetime | None
    items: list[ItemOut]


class RegisterEntryOut(Schema):
    number: int
    recording_id: str
    file_name: str
    sha256: str
    size_bytes: int
    recorded_started_at: datetime.datetime
    retention_until: datetime.datetime
    reason_due: str
    prepared_by: str
    approved_by: str
    approved_at: datetime.datetime
    destroyed_at: datetime.datetime
    audit_sequence: int | None


class FixityRunIn(Schema):
    limit: int = Field(default=50, ge=1, le=5000)


class FixityRunOut(Schema):
    checked: int
    ok: int
    failed: list[str]
    bytes_read: int
    seconds: float
    overdue_remaining: int


class AlertOut(Schema):
    id: int
    recording_id: str
    outcome: str
    message: str
    raised_at: datetime.datetime
    acknowledged_at: datetime.datetime | None


class FixityCheckOut(Schema):
    id: int
    checked_at: datetime.datetime
    outcome: str
    expected_sha256: str
    actual_sha256: str
    bytes_read: int
    detail: str


class CapacityOut(Schema):
    total_bytes: int
    total_count: int
    by_unit: list[dict[str, object]]
    by_category: list[dict[str, object]]
    by_month: list[dict[str, object]]
    growth: list[dict[str, object]]
    bytes_per_month: float
    projected_12_months_bytes: int
    projection: list[dict[str, object]]
