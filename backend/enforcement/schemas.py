from __future__ import annotations

import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from backend.config.api_types import DbId


class MomentIn(Schema):
    occurred_at: datetime.datetime
    source: str  # tablet | terminal | gps | manual
    code: str = ""
    label: str = ""
    reason: str = ""  # required when source is "manual"


class ActivityIn(Schema):
    category: str
    stage: str
    item: str = ""
    unit_id: DbId | None = None
    officer_ids: list[DbId] = Field(default_factory=list, max_length=100)
    officer_certificates: list[str] = Field(default_factory=list)
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    start: MomentIn
    stop: MomentIn | None = None
    moments: list[MomentIn] = Field(default_factory=list)
    external_ref: str | None = None


class ActivityCloseIn(Schema):
    stop: MomentIn


class ParticipantOut(Schema):
    officer_id: int
    name: str
    certificate_valid: bool
    certificate_problem: str


class MomentOut(Schema):
    code: str
    label: str
    occurred_at: datetime.datetime
    source: str
    reason: str


class ActivityOut(Schema):
    id: str
    external_ref: str | None
    category: str
    stage: str
    item: str
    unit_id: int
    place: str
    latitude: float | None
    longitude: float | None
    started_at: datetime.datetime
    stopped_at: datetime.datetime | None
    state: str
    officers: list[ParticipantOut]
    uncertified_officers: list[ParticipantOut]
    moments: list[MomentOut]
    verdict: str | None
    summary_zh: str | None


class RecordListOut(Schema):
    id: int
    name: str
    effective_from: datetime.date
    source_file_name: str
    imported_at: datetime.datetime
    rules: int


class RecordRuleOut(Schema):
    id: int
    sequence: int | None
    category: str
    stage: str
    item: str
    place: str
    department: str
    start_text: str
    stop_text: str
    start_moment: str
    stop_moment: str
    remarks: str
    full_process: bool
    required: bool
    min_officers: int
    late_start_grace_seconds: float
    early_stop_grace_seconds: float
    max_split_gap_seconds: float


class ImportReportOut(Schema):
    report: dict[str, Any]
