from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, Schema

from backend.footage.schemas import RecordingDetailOut


class LinkOut(Schema):
    recording_id: str
    officer_id: int | None
    source: str
    excluded: bool
    reason: str
    started_at: datetime.datetime
    ended_at: datetime.datetime
    state: str


class ExplanationOut(Schema):
    id: int
    officer_id: int
    reason: str
    reason_label: str
    text: str
    gap_from: datetime.datetime | None
    gap_to: datetime.datetime | None
    state: str
    submitted_at: datetime.datetime
    decided_at: datetime.datetime | None
    decision_note: str


class CoverageOut(Schema):
    activity_id: str
    verdict: str | None
    verdict_label_zh: str | None
    summary_zh: str | None
    summary_en: str | None
    reasons_zh: list[str]
    reasons_en: list[str]
    covered_fraction: float | None
    # Every uncovered piece {from, to, seconds, explanation_ids, explanation_status}.
    gaps: list[dict[str, Any]]
    late_start_seconds: float | None
    early_stop_seconds: float | None
    officers_recorded: list[int]
    unknown_offset_recordings: int
    explanation_status: str
    explanation_status_zh: str
    # The verdict (what the footage shows) followed by every explanation and its decision.
    verdict_explained_zh: str
    verdict_explained_en: str
    explanations: list[ExplanationOut]
    links: list[LinkOut]
    detail: dict[str, Any]
    evaluated_at: datetime.datetime | None


class LinkIn(Schema):
    recording_id: str
    reason: str
    officer_id: int | None = None


class UnlinkIn(Schema):
    reason: str


class ExplanationIn(Schema):
    reason: str  # device_failure | battery | third_party_privacy | other
    text: str = ""
    gap_from: datetime.datetime | None = None
    gap_to: datetime.datetime | None = None


class DecisionIn(Schema):
    accept: bool
    note: str = ""


class ReportOut(Schema):
    rows: list[dict[str, Any]]


class TimeCorrectionIn(Schema):
    offset_seconds: float = Field(
        description="Seconds to add to the corrected start and end (negative moves earlier); "
        "non-zero, at most 7 days either way."
    )
    reason: str = Field(description="Why the times are wrong (required, kept with the history).")


class VerdictChangeOut(Schema):
    activity_id: str
    before: str | None
    after: str | None


class TimeCorrectionResultOut(Schema):
    recording: RecordingDetailOut
    activities_rechecked: list[str]
    verdict_changes: list[VerdictChangeOut]
