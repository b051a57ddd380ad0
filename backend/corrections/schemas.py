"""API messages of the corrections app."""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from backend.config.api_types import DbId


class ScheduleIn(Schema):
    kind: Literal["check_in", "home_visit", "talk", "phone_report"]
    frequency: Literal["weekly", "monthly", "quarterly"]
    times: int = Field(default=1, ge=1, le=31)
    grace_working_days: int = Field(default=0, ge=0, le=30)


class SubjectIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    id_number: str = Field(default="", max_length=18)
    phone: str = Field(default="", max_length=30)
    address: str = Field(default="", max_length=300)
    sentence_kind: Literal["surveillance", "probation", "parole", "medical_parole"]
    term_start: datetime.date
    term_end: datetime.date
    office_id: DbId
    responsible_officer_id: DbId
    team_officer_ids: list[DbId] = Field(default_factory=list, max_length=20)
    schedules: list[ScheduleIn] = Field(default_factory=list, max_length=4)


class SubjectChangeIn(Schema):
    """Only the fields sent change. The office cannot change here (see the transfer)."""

    responsible_officer_id: DbId | None = None
    team_officer_ids: list[DbId] | None = Field(default=None, max_length=20)
    schedules: list[ScheduleIn] | None = Field(default=None, max_length=4)
    term_end: datetime.date | None = None
    phone: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=300)


class SubjectTransferIn(Schema):
    to_office_id: DbId = Field(description="The receiving justice office (司法所).")
    responsible_officer_id: DbId = Field(description="An officer of the receiving office.")
    reason: str = Field(min_length=1, max_length=2000, description="变更原因 (required).")
    effective_on: datetime.date = Field(
        description="The day the subject counts under the new office (not in the future)."
    )


class SubjectTransferOut(Schema):
    transfer_id: int
    subject_id: uuid.UUID
    from_office_id: int
    to_office_id: int
    responsible_officer_id: int
    effective_on: datetime.date


class ScheduleOut(Schema):
    kind: str
    frequency: str
    times: int
    grace_working_days: int


class SubjectSummaryOut(Schema):
    id: uuid.UUID
    name: str
    sentence_kind: str
    term_start: datetime.date
    term_end: datetime.date
    office_id: int
    office_name: str
    responsible_officer_id: int
    responsible_officer_name: str


class ContactOut(Schema):
    id: uuid.UUID
    kind: str
    officer_id: int
    started_at: datetime.datetime
    ended_at: datetime.datetime
    place: str
    latitude: float | None
    longitude: float | None
    notes: str
    identity_method: str
    photo_recording_id: uuid.UUID | None
    recording_ids: list[uuid.UUID]
    crosscheck_status: str
    crosscheck_findings: list[dict[str, Any]]
    activity_id: uuid.UUID | None


class SubjectOut(SubjectSummaryOut):
    id_number: str
    phone: str
    address: str
    team_officer_ids: list[int]
    schedules: list[ScheduleOut]
    recent_contacts: list[ContactOut]


class AlertOut(Schema):
    id: int
    subject_id: uuid.UUID
    subject_name: str
    office_id: int
    officer_id: int
    kind: str
    period_start: datetime.date
    period_end: datetime.date
    due_date: datetime.date
    due_date_provisional: bool  # counted without next year's official arrangement
    required: int
    done: int
    raised_at: datetime.datetime
    resolved_at: datetime.datetime | None


class FiguresOut(Schema):
    office_id: int
    office_name: str
    month: str
    as_of: datetime.date
    subjects_active: int
    subjects_located_30d: int
    located_share: float | None
    located_target: float
    located_meets_target: bool | None
    check_ins_due: int
    check_ins_missed: int
    check_ins_flagged: int
    visits_due: int
    visits_done: int
