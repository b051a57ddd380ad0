"""API messages of the inspections app."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from ninja import Schema
from pydantic import Field


class ImportReportOut(Schema):
    created: int
    updated: int
    unchanged: int
    errors: list[dict[str, Any]]
    warnings: list[str] = []


class ItemOut(Schema):
    id: int
    sequence: int | None
    inspecting_body: str
    name: str
    legal_basis: str
    content: str
    methods: str
    target_type: str
    ratio_percent: str
    declared_target_count: int | None
    frequency: str


class ConflictIn(Schema):
    officer_id: int
    target_id: int
    reason: str = Field(default="", max_length=300)


class DrawIn(Schema):
    item_id: int
    period: str = Field(min_length=1, max_length=20, description="e.g. 2026 or 2026-H2")


class DrawnInspectionOut(Schema):
    inspection_id: uuid.UUID
    target_id: int
    inspector_ids: list[int]


class DrawOut(Schema):
    id: uuid.UUID
    item_id: int
    item_name: str
    period: str
    drawn_on: datetime.date
    algorithm: str
    seed: str
    inputs: dict[str, Any]
    result: list[dict[str, Any]]
    result_sha256: str
    inspections: list[DrawnInspectionOut]


class DrawSummaryOut(Schema):
    id: uuid.UUID
    item_id: int
    item_name: str
    inspecting_body: str
    period: str
    drawn_on: datetime.date
    algorithm: str
    seed: str
    result_sha256: str
    targets_drawn: int


class DrawVerificationOut(Schema):
    matches: bool
    algorithm: str
    stored_sha256: str
    recomputed_sha256: str
    inspectors_certified: bool
    inspections_match: bool


class InspectorOut(Schema):
    officer_id: int
    name: str
    certificate_number: str


class PublishedInspectionOut(Schema):
    id: uuid.UUID
    item_name: str
    inspecting_body: str
    target_name: str
    draw_id: uuid.UUID | None
    inspectors: list[InspectorOut]
    arrived_at: datetime.datetime | None
    departed_at: datetime.datetime | None
    findings: str
    rectification_required: bool
    rectification_deadline: datetime.date | None
    publish_by: datetime.date | None
    publish_by_provisional: bool  # counted before the year's official arrangement was entered
    published_at: datetime.datetime
    published_within_deadline: bool | None


class PendingPublicationOut(Schema):
    id: uuid.UUID
    item_name: str
    target_name: str
    departed_at: datetime.datetime | None
    publish_by: datetime.date | None
    publish_by_provisional: bool  # counted before the year's official arrangement was entered
    working_days_left: int | None
    overdue: bool | None
