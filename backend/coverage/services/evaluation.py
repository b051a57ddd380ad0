"""One activity's verdict: the rule, its linked recordings, the pure check, the stored row."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.config.errors import NotFound
from backend.coverage.models import (
    CoverageEvaluation,
    OfficerCoverage,
    RecordingLink,
)
from backend.coverage.services.aggregates import month_of, monthly_counts_follow
from backend.devices.models import ClockReading
from backend.enforcement.models import Activity, ActivityOfficer, RecordRule
from backend.enforcement.services import record_rule_for
from backend.footage.models import RecordingState, RecordingTimeCorrection
from coverage_core.evaluation import (
    ActivityWindow,
    CoverageResult,
    CoverageRule,
    RecordingInterval,
    Verdict,
    evaluate_activity,
)

# A recording destroyed after its retention still covered its activity: a re-check must
# not turn that activity into a gap (nor count the recording as pending storage).
COUNTED_STATES = frozenset({RecordingState.STORED, RecordingState.DESTROYED})
NEVER_LINKED_STATES = frozenset({RecordingState.MISMATCH})


def _activities_locked() -> QuerySet[Activity]:
    """Activities locked (the activity rows only) with their rule and its list version."""
    return Activity.objects.select_for_update(of=("self",)).select_related("rule__record_list")


def link_buffer() -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, "FV_COVERAGE_LINK_BUFFER_SECONDS", 120))


# ------------------------------------------------------------------ evaluation


def coverage_rule_from(rule: RecordRule | None) -> CoverageRule:
    """The pure rule for a record-list row; no row in force -> recording not required."""
    if rule is None:
        return CoverageRule(required=False)
    return CoverageRule(
        min_officers=max(1, rule.min_officers),
        late_start_grace=rule.late_start_grace,
        early_stop_grace=rule.early_stop_grace,
        max_split_gap=rule.max_split_gap,
        full_process=rule.full_process,
        required=rule.required,
    )


def coverage_evaluate(
    *, activity_id: uuid.UUID, as_of: datetime.datetime | None = None
) -> CoverageEvaluation:
    """Re-run the check for one activity and store the answer (locks the activity row)."""
    with transaction.atomic():
        activity = _activities_locked().filter(pk=activity_id).first()
        if activity is None:
            raise NotFound(_("没有该执法活动"), code="activity_not_found")
        return _evaluate_locked(activity, as_of=as_of or timezone.now())


def _offset_known() -> ExpressionWrapper:
    """For a RecordingLink row: is its recording placed in time? Yes when its device's
    clock was measured before the row was written (sync), or when a person corrected its
    times afterwards (coverage.retime.recordings_retime: the corrected time is a placement)."""
    measured = ClockReading.objects.filter(
        device_id=OuterRef("recording__device_id"),
        server_time__lte=OuterRef("recording__created_at"),
    )
    corrected = RecordingTimeCorrection.objects.filter(recording_id=OuterRef("recording_id"))
    return ExpressionWrapper(Exists(measured) | Exists(corrected), output_field=BooleanField())


def resolve_rule(activity: Activity) -> RecordRule | None:
    """The activity's record-list rule. Resolved by enforcement (the version in force on
    the activity's day); rows written without it (older rows, direct inserts) are resolved
    here once and remembered (one query each, rare)."""
    if activity.rule is None:
        rule = record_rule_for(
            category=activity.category,
            stage=activity.stage,
            item=activity.item,
            at=activity.started_at,
        )
        if rule is not None:
            Activity.objects.filter(pk=activity.pk).update(rule=rule)
            activity.rule = rule
    return activity.rule


def linked_recordings(
    activity_ids: list[uuid.UUID],
) -> tuple[dict[uuid.UUID, dict[int, list[RecordingInterval]]], dict[uuid.UUID, int]]:
    """What counts for each activity (one query, the one-by-one and the bulk path alike):
    its linked, not excluded recordings in custody per link officer, and how many of its
    linked recordings still wait for storage."""
    recordings: dict[uuid.UUID, dict[int, list[RecordingInterval]]] = defaultdict(
        lambda: defaultdict(list)
    )
    pending: dict[uuid.UUID, int] = defaultdict(int)
    for activity_id, officer_id, recording_id, started, ended, state, offset_known in (
        RecordingLink.objects.filter(activity_id__in=activity_ids, excluded=False)
        .annotate(offset_known=_offset_known())
        .values_list(
            "activity_id",
            "officer_id",
            "recording_id",
            "recording__started_at",
            "recording__ended_at",
            "recording__state",
            "offset_known",
        )
    ):
        if state not in COUNTED_STATES:
            pending[activity_id] += int(state not in NEVER_LINKED_STATES)
            continue
        if officer_id is None or ended < started:
            continue
        recordings[activity_id][officer_id].append(
            RecordingInterval(
                start=started,
                end=ended,
                offset_known=offset_known,
                recording_id=str(recording_id),
            )
        )
    return recordings, pending


def _evaluate_locked(activity: Activity, *, as_of: datetime.datetime) -> CoverageEvaluation:
    rule = resolve_rule(activity)
    participants = list(
        ActivityOfficer.objects.filter(activity_id=activity.pk)
        .order_by("pk")
        .values_list("officer_id", "officer__name", "certificate_valid")
    )
    officer_ids: list[int] = [officer_id for officer_id, _name, _valid in participants]
    labels: dict[int, str] = {officer_id: name for officer_id, name, _valid in participants}
    # 持证上岗: enforcement judged each participant's certificate on the activity's day.
    uncertified = [officer_id for officer_id, _name, valid in participants if not valid]
    linked, pending_of = linked_recordings([activity.pk])
    by_officer: dict[int, list[RecordingInterval]] = linked.get(activity.pk, {})
    pending = pending_of.get(activity.pk, 0)
    window = ActivityWindow(
        start=activity.started_at,
        stop=activity.stopped_at,
        start_label=rule.start_text if rule else "",
        stop_label=rule.stop_text if rule else "",
    )
    result = evaluate_activity(
        window=window,
        rule=coverage_rule_from(rule),
        required_officers=officer_ids,
        recordings_by_officer=by_officer,
        as_of=None if activity.stopped_at else as_of,
        officer_labels=labels,
        activity_id=str(activity.pk),
        uncertified_officers=uncertified,
    )
    return _store(activity, rule, result, pending=pending, now=as_of)


def _seconds(value: int | None) -> float | None:
    return None if value is None else value / 1_000_000


def _store(
    activity: Activity,
    rule: RecordRule | None,
    result: CoverageResult,
    *,
    pending: int,
    now: datetime.datetime,
) -> CoverageEvaluation:
    fields = _evaluation_fields(activity, rule, result, pending=pending, now=now)
    # Two upserts (no read first): this runs for every stored recording. Verdicts are not
    # audited one by one: they are derived from audited links, recordings and rules and
    # can be recomputed (coverage_recheck); the row keeps when it was last evaluated.
    # The monthly figures follow in this transaction (the activity row is locked).
    with monthly_counts_follow([activity.pk]):
        [evaluation] = CoverageEvaluation.objects.bulk_create(
            [CoverageEvaluation(activity=activity, **fields)],
            update_conflicts=True,
            unique_fields=["activity"],
            update_fields=list(fields),
        )
        OfficerCoverage.objects.bulk_create(
            _officer_rows(evaluation, result),
            update_conflicts=True,
            unique_fields=["evaluation", "officer"],
            update_fields=OFFICER_FIELDS,
        )
    return evaluation


OFFICER_FIELDS = [
    "recorded",
    "covered_fraction",
    "interior_gap_seconds",
    "late_start_seconds",
    "early_stop_seconds",
]


def _officer_rows(evaluation: CoverageEvaluation, result: CoverageResult) -> list[OfficerCoverage]:
    return [
        OfficerCoverage(
            evaluation=evaluation,
            officer_id=int(str(officer.officer_id)),
            recorded=officer.recorded,
            covered_fraction=officer.covered_fraction,
            interior_gap_seconds=[s.length_us / 1_000_000 for s in officer.interior_gaps],
            late_start_seconds=_seconds(officer.late_start_us),
            early_stop_seconds=_seconds(officer.early_stop_us),
        )
        for officer in result.officers
    ]


def _evaluation_fields(
    activity: Activity,
    rule: RecordRule | None,
    result: CoverageResult,
    *,
    pending: int,
    now: datetime.datetime,
) -> dict[str, Any]:
    """The stored columns of one verdict (shared by the one-by-one and the bulk path)."""
    detail = result.to_dict()
    detail["recordings_pending_storage"] = pending
    detail["rule"] = (
        {
            "id": rule.pk,
            "record_list_id": rule.record_list_id,
            "effective_from": rule.record_list.effective_from.isoformat(),
            "category": rule.category,
            "stage": rule.stage,
            "item": rule.item,
            "start_text": rule.start_text,
            "stop_text": rule.stop_text,
            "full_process": rule.full_process,
            "min_officers": rule.min_officers,
        }
        if rule
        else None
    )
    window_start, window_end = result_window(result)
    fields: dict[str, Any] = {
        "rule": rule,
        "verdict": result.verdict.value,
        "summary_zh": result.summary_zh[:300],
        "summary_en": result.summary_en[:300],
        "reasons_zh": result.reasons_zh,
        "reasons_en": result.reasons_en,
        "window_start": window_start,
        "window_end": window_end,
        "window_closed": result.window_closed,
        "required": result.verdict is not Verdict.NOT_REQUIRED,
        "covered_fraction": result.covered_fraction,
        "covered_seconds": result.covered_us / 1_000_000,
        "gaps": [span.to_dict() for span in result.gaps],
        "interior_gap_seconds": [span.length_us / 1_000_000 for span in result.interior_gaps],
        "late_start_seconds": _seconds(result.late_start_us),
        "early_stop_seconds": _seconds(result.early_stop_us),
        "late_start": result.has_blocking(Verdict.LATE_START),
        "early_stop": result.has_blocking(Verdict.EARLY_STOP),
        "any_recording": bool(result.officers_recorded),
        "officers_recorded": list(result.officers_recorded),
        "unknown_offset_recordings": result.unknown_offset_recordings,
        "detail": detail,
        "evaluated_at": now,
        "counted_month": month_of(activity.started_at),
        "counted_unit_id": activity.unit_id,
    }
    return fields


def result_window(result: CoverageResult) -> tuple[datetime.datetime, datetime.datetime]:
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (
        epoch + datetime.timedelta(microseconds=result.window_start_us),
        epoch + datetime.timedelta(microseconds=result.window_end_us),
    )
