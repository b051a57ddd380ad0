"""API messages of the cases app."""

from __future__ import annotations

import datetime
import uuid

from ninja import Schema
from pydantic import Field


class CaseSummaryOut(Schema):
    id: uuid.UUID
    number: str
    category: str
    matter: str
    party_name: str
    party_minor: bool
    stage: str
    filed_on: datetime.date
    created_at: datetime.datetime


class CasePageOut(Schema):
    cases: list[CaseSummaryOut]
    older: str | None = Field(None, description="`before` value of the next (older) page")


class DocumentOut(Schema):
    id: uuid.UUID
    kind: str
    title: str
    sha256: str
    size_bytes: int
    uploaded_at: datetime.datetime
    replaces_id: uuid.UUID | None


class ReviewOut(Schema):
    id: int
    state: str
    received_on: datetime.date
    due_on: datetime.date | None
    due_provisional: bool
    paused_working_days: int
    extended: bool
    late_submission: bool
    opinion: str
    opinion_reasons: str


class ActivityVerdictOut(Schema):
    activity_id: uuid.UUID
    verdict: str
    verdict_label_zh: str
    recording_ids: list[uuid.UUID]


class CaseOut(CaseSummaryOut):
    needs_review: bool
    officers: list[str]
    archive_number: str
    archived_at: datetime.datetime | None
    documents: list[DocumentOut]
    reviews: list[ReviewOut]
    activities: list[ActivityVerdictOut]
    all_recorded: bool
    uncertified_officers: list[str]


class DecisionIn(Schema):
    kind: str = Field(
        ..., description="penalty, no_penalty, licence_refused, licence_revoked, transfer, other"
    )
    document_number: str = Field(..., max_length=100)
    summary: str = Field(..., max_length=5000)
    legal_basis: str = Field(..., max_length=2000)


class RevocationIn(Schema):
    ground: str = Field(..., description="revoked (撤销), unlawful (确认违法) or remade (重新作出)")
    reason: str = Field(..., max_length=2000)


class DecisionOut(Schema):
    id: int
    case_id: uuid.UUID
    case_number: str
    unit: str
    party_name: str
    party_kind: str
    party_minor: bool
    kind: str
    document_number: str
    summary: str
    legal_basis: str
    decided_on: datetime.date
    revoked_on: datetime.date | None = None
    revoked_ground: str = ""
