"""Coverage results, links, explanations and reports for signed-in users (scoped)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.security import django_auth

from backend.accounts.models import Officer, Role, User
from backend.accounts.selectors import user_has_role
from backend.config.errors import NotFound, PermissionDenied
from backend.coverage import selectors, services
from backend.coverage.exports import check_format, table_response
from backend.coverage.models import CoverageEvaluation, ExplanationReason, GapExplanation
from backend.coverage.retime import recordings_retime
from backend.coverage.schemas import (
    CoverageOut,
    DecisionIn,
    ExplanationIn,
    ExplanationOut,
    LinkIn,
    LinkOut,
    ReportOut,
    TimeCorrectionIn,
    TimeCorrectionResultOut,
    UnlinkIn,
    VerdictChangeOut,
)
from backend.enforcement.models import Activity
from backend.enforcement.selectors import UNIT_WIDE_ROLES, activity_get_visible
from backend.footage.api import recording_detail_out
from backend.footage.selectors import recording_get_visible
from backend.footage.services import time_correction_offset
from coverage_core.evaluation import Verdict
from coverage_core.wording import VERDICT_LABELS_ZH

router = Router(tags=["coverage"], auth=django_auth)
# Coverage workflows on a recording, mounted under /api/recordings/ beside footage's router.
recordings_router = Router(tags=["recordings"], auth=django_auth)

REVIEWER_ROLES = {Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _activity(user: User, activity_id: str) -> Activity:
    activity = activity_get_visible(user=user, activity_id=activity_id)
    if activity is None:
        raise NotFound("no such activity", code="activity_not_found")
    return activity


def _reviewer(user: User) -> None:
    if not user_has_role(user, *REVIEWER_ROLES):
        raise PermissionDenied("only supervisors and legal officers may do this")


def _explanation_out(e: GapExplanation) -> ExplanationOut:
    return ExplanationOut(
        id=e.pk,
        officer_id=e.officer_id,
        reason=e.reason,
        reason_label=str(ExplanationReason(e.reason).label),
        text=e.text,
        gap_from=e.gap_from,
        gap_to=e.gap_to,
        state=e.state,
        submitted_at=e.submitted_at,
        decided_at=e.decided_at,
        decision_note=e.decision_note,
    )


def _coverage_out(activity: Activity) -> CoverageOut:
    evaluation = CoverageEvaluation.objects.filter(activity=activity).first()
    explanations = list(activity.explanations.select_related("officer").order_by("submitted_at"))
    status = selectors.explanation_status(explanations)
    explained_zh, explained_en = selectors.verdict_with_explanations(
        evaluation, explanations, {e.officer_id: e.officer.name for e in explanations}
    )
    links = [
        LinkOut(
            recording_id=str(link.recording_id),
            officer_id=link.officer_id,
            source=link.source,
            excluded=link.excluded,
            reason=link.reason,
            started_at=link.recording.started_at,
            ended_at=link.recording.ended_at,
            state=link.recording.state,
        )
        for link in selectors.links_of_activity(activity)
    ]
    return CoverageOut(
        activity_id=str(activity.pk),
        verdict=evaluation.verdict if evaluation else None,
        verdict_label_zh=VERDICT_LABELS_ZH[Verdict(evaluation.verdict)] if evaluation else None,
        summary_zh=evaluation.summary_zh if evaluation else None,
        summary_en=evaluation.summary_en if evaluation else None,
        reasons_zh=evaluation.reasons_zh if evaluation else [],
        reasons_en=evaluation.reasons_en if evaluation else [],
        covered_fraction=evaluation.covered_fraction if evaluation else None,
        gaps=selectors.gaps_with_explanations(evaluation.gaps, explanations) if evaluation else [],
        late_start_seconds=evaluation.late_start_seconds if evaluation else None,
        early_stop_seconds=evaluation.early_stop_seconds if evaluation else None,
        officers_recorded=evaluation.officers_recorded if evaluation else [],
        unknown_offset_recordings=evaluation.unknown_offset_recordings if evaluation else 0,
        explanation_status=status,
        explanation_status_zh=selectors.EXPLANATION_STATUS_ZH[status],
        verdict_explained_zh=explained_zh,
        verdict_explained_en=explained_en,
        explanations=[_explanation_out(e) for e in explanations],
        links=links,
        detail=evaluation.detail if evaluation else {},
        evaluated_at=evaluation.evaluated_at if evaluation else None,
    )


@router.get("activities/{activity_id}", response=CoverageOut, operation_id="coverage_get")
def get_coverage(request: HttpRequest, activity_id: str) -> CoverageOut:
    """The stored verdict of an activity with its gaps, reasons (zh/en), linked recordings
    and explanations (with their decisions). `verdict_explained_zh` is the line a
    supervisor reads: the verdict as the footage shows it, then each explanation and
    whether it was accepted; every gap lists the explanations that concern it.
    404 outside the caller's scope."""
    return _coverage_out(_activity(_user(request), activity_id))


@router.post(
    "activities/{activity_id}/recheck", response=CoverageOut, operation_id="coverage_recheck"
)
def recheck(request: HttpRequest, activity_id: str) -> CoverageOut:
    """Link and re-check one activity now."""
    user = _user(request)
    activity = _activity(user, activity_id)
    _reviewer(user)
    services.coverage_activity_refresh(activity.pk)
    return _coverage_out(activity)


@router.post(
    "activities/{activity_id}/links", response={201: CoverageOut}, operation_id="coverage_link"
)
def link(request: HttpRequest, activity_id: str, payload: LinkIn) -> Status:
    """Link a recording to the activity by hand (reason required; audited)."""
    user = _user(request)
    activity = _activity(user, activity_id)
    _reviewer(user)
    recording = recording_get_visible(user=user, recording_id=payload.recording_id)
    if recording is None:
        raise NotFound("no such recording", code="recording_not_found")
    officer = None
    if payload.officer_id is not None:
        officer = Officer.objects.filter(pk=payload.officer_id).first()
        if officer is None:
            raise NotFound("no such officer", code="officer_not_found")
    services.recording_link_add(
        user=user, activity=activity, recording=recording, reason=payload.reason, officer=officer
    )
    return Status(201, _coverage_out(activity))


@router.post(
    "activities/{activity_id}/links/{recording_id}/remove",
    response=CoverageOut,
    operation_id="coverage_unlink",
)
def unlink(
    request: HttpRequest, activity_id: str, recording_id: str, payload: UnlinkIn
) -> CoverageOut:
    """Unlink a recording (reason required; audited; automatic linking will not re-add it)."""
    user = _user(request)
    activity = _activity(user, activity_id)
    _reviewer(user)
    recording = recording_get_visible(user=user, recording_id=recording_id)
    if recording is None:
        raise NotFound("no such recording", code="recording_not_found")
    services.recording_link_remove(
        user=user, activity=activity, recording=recording, reason=payload.reason
    )
    return _coverage_out(activity)


@router.post(
    "activities/{activity_id}/explanations",
    response={201: ExplanationOut},
    operation_id="coverage_explain",
)
def explain(request: HttpRequest, activity_id: str, payload: ExplanationIn) -> Status:
    """A participating officer explains a gap: `device_failure`, `battery`,
    `third_party_privacy` or `other` (text required)."""
    user = _user(request)
    activity = _activity(user, activity_id)
    explanation = services.explanation_submit(
        user=user,
        activity=activity,
        reason=payload.reason,
        text=payload.text,
        gap_from=payload.gap_from,
        gap_to=payload.gap_to,
    )
    return Status(201, _explanation_out(explanation))


@router.post(
    "explanations/{explanation_id}/decision",
    response=ExplanationOut,
    operation_id="coverage_explanation_decide",
)
def decide(request: HttpRequest, explanation_id: int, payload: DecisionIn) -> ExplanationOut:
    """A supervisor accepts or rejects an explanation (once)."""
    user = _user(request)
    explanation = selectors.explanation_get_visible(user=user, explanation_id=explanation_id)
    if explanation is None:
        raise NotFound("no such explanation", code="explanation_not_found")
    _reviewer(user)
    decided = services.explanation_decide(
        user=user, explanation=explanation, accept=payload.accept, note=payload.note
    )
    return _explanation_out(decided)


def _report(
    rows: list[dict[str, Any]], columns: Any, fmt: str, name: str
) -> HttpResponse | ReportOut:
    if check_format(fmt) == "json":
        return ReportOut(rows=rows)
    return table_response(rows, columns, fmt, name)


@router.get("reports/activities", response=ReportOut, operation_id="coverage_report_activities")
def report_activities(
    request: HttpRequest,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    unit_id: int | None = None,
    format: str = "json",
) -> Any:
    """One row per activity (`format`: json, csv, xlsx)."""
    rows = selectors.report_activities(
        _user(request), date_from=date_from, date_to=date_to, unit_id=unit_id
    )
    return _report(rows, selectors.ACTIVITY_REPORT_COLUMNS, format, "coverage-activities")


@router.get("reports/officers", response=ReportOut, operation_id="coverage_report_officers")
def report_officers(
    request: HttpRequest,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    unit_id: int | None = None,
    format: str = "json",
) -> Any:
    """Per officer per month: activation and compliance rates, late starts, early stops,
    median gap (`format`: json, csv, xlsx)."""
    rows = selectors.report_officers(
        _user(request), date_from=date_from, date_to=date_to, unit_id=unit_id
    )
    return _report(rows, selectors.OFFICER_REPORT_COLUMNS, format, "coverage-officers")


@router.get("reports/units", response=ReportOut, operation_id="coverage_report_units")
def report_units(
    request: HttpRequest,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    unit_id: int | None = None,
    format: str = "json",
) -> Any:
    """Per unit per month (`format`: json, csv, xlsx)."""
    user = _user(request)
    if not user_has_role(user, *UNIT_WIDE_ROLES, Role.SYSTEM_ADMIN):
        raise PermissionDenied("unit reports are for supervisors")
    rows = selectors.report_units(user, date_from=date_from, date_to=date_to, unit_id=unit_id)
    return _report(rows, selectors.UNIT_REPORT_COLUMNS, format, "coverage-units")


@recordings_router.post(
    "{recording_id}/time-correction",
    response=TimeCorrectionResultOut,
    operation_id="recordings_time_correct",
)
def correct_time(
    request: HttpRequest, recording_id: str, payload: TimeCorrectionIn
) -> TimeCorrectionResultOut:
    """Correct a recording's clock-corrected start and end after the fact, when its
    device's clock is found to have been wrong: both move by `offset_seconds` (non-zero,
    at most 7 days either way; `offset_out_of_range` otherwise) and a `reason` is required
    (`reason_required`). The device-reported times and the original file never change.
    The correction is kept in the recording's `time_corrections` history and audited;
    the coverage check then re-links the recording and re-checks the activities on both
    sides (`verdict_changes` lists the verdicts that changed). Corrections stack.
    Supervisors (their unit and sub-units) and the system administrator only
    (`time_correction_not_allowed`, 403); a recording outside the caller's scope is 404.
    For a device's whole period use `python manage.py recordings_retime`."""
    user = request.user
    assert isinstance(user, User)
    offset = time_correction_offset(payload.offset_seconds)
    result = recordings_retime(
        actor_user=user, recording_ids=[recording_id], offset=offset, reason=payload.reason
    )
    recording = recording_get_visible(user=user, recording_id=str(result.recording_ids[0]))
    if recording is None:  # corrected a moment ago: visible unless the roster changed
        raise NotFound("no such recording", code="recording_not_found")
    return TimeCorrectionResultOut(
        recording=recording_detail_out(recording, links=[], content_allowed=False),
        activities_rechecked=[str(a) for a in result.activity_ids],
        verdict_changes=[
            VerdictChangeOut(activity_id=str(c.activity_id), before=c.before, after=c.after)
            for c in result.verdict_changes
        ],
    )
