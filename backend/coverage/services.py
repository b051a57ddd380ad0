"""Running the coverage check against the database: linking, evaluating, explaining.

What counts for an activity:
- recordings linked to it (automatically when the recording's officer took part and the
  recording overlaps the window ± ``FV_COVERAGE_LINK_BUFFER_SECONDS``, or by a person),
  attributed to the link's officer;
- only recordings in custody (state ``stored``, or ``destroyed`` once their retention ran
  out: they were held when it mattered): a clip announced but not yet stored is
  linked, counted in ``detail.recordings_pending_storage``, and the activity is
  re-checked when it is stored (footage.after_stored, wired in backend/wiring/registry.py);
- times are the clock-corrected ``Recording.started_at/ended_at``. **Unknown clock
  offset:** ``Recording.clock_offset_ms`` has no "unknown" value, so a recording's offset
  counts as unknown when its device had no clock measurement (ClockReading) at or
  before the moment the recording row was written: its corrected times were then
  computed without a measured offset. (Sync measures the clock in the same transaction
  before it announces clips, so its recordings always count as placed.) A measurement
  taken later does not make such a recording placeable — its stored times were not
  corrected by it; a corrected time must come through
  :func:`coverage_on_recording_time_changed` (after ``coverage.retime.recordings_retime``,
  whose history row makes the recording count as placed). Such recordings are passed to the check
  with ``offset_known=False``; the check then answers ``undecidable`` unless the
  placeable recordings already satisfy the rule.

Re-checks touch only the affected activities: the activity that closed or whose links
changed, or the activities linked to a recording that was stored, corrected or removed.
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, User
from backend.audit.services import Actor, AuditEntry, audit_record, audit_record_many
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.coverage.models import (
    CoverageEvaluation,
    ExplanationReason,
    ExplanationState,
    GapExplanation,
    LinkSource,
    OfficerCoverage,
    RecordingLink,
)
from backend.devices.models import ClockReading
from backend.enforcement.models import Activity, ActivityOfficer, RecordRule
from backend.enforcement.services import record_rule_for
from backend.footage.models import Recording, RecordingState, RecordingTimeCorrection
from coverage_core.evaluation import (
    OPEN_ACTIVITY_HORIZON,
    ActivityInput,
    ActivityWindow,
    CoverageResult,
    CoverageRule,
    RecordingInterval,
    Verdict,
    evaluate_activity,
    evaluate_many,
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


def _evaluate_locked(activity: Activity, *, as_of: datetime.datetime) -> CoverageEvaluation:
    # Resolved by enforcement (the version in force on the activity's day); rows written
    # without it (older rows, direct inserts) are resolved here once and remembered.
    rule = activity.rule
    if rule is None:
        rule = record_rule_for(
            category=activity.category,
            stage=activity.stage,
            item=activity.item,
            at=activity.started_at,
        )
        if rule is not None:
            Activity.objects.filter(pk=activity.pk).update(rule=rule)
            activity.rule = rule
    participants = list(
        ActivityOfficer.objects.filter(activity_id=activity.pk)
        .order_by("pk")
        .values_list("officer_id", "officer__name")
    )
    officer_ids = [officer_id for officer_id, _name in participants]
    labels: dict[Hashable, str] = {officer_id: name for officer_id, name in participants}
    links = (
        RecordingLink.objects.filter(activity_id=activity.pk, excluded=False)
        .annotate(offset_known=_offset_known())
        .values_list(
            "officer_id",
            "recording_id",
            "recording__started_at",
            "recording__ended_at",
            "recording__state",
            "offset_known",
        )
    )
    by_officer: dict[Hashable, list[RecordingInterval]] = defaultdict(list)
    pending = 0
    for officer_id, recording_id, started, ended, state, offset_known in links:
        if state not in COUNTED_STATES:
            pending += int(state not in NEVER_LINKED_STATES)
            continue
        if officer_id is None or ended < started:
            continue
        by_officer[officer_id].append(
            RecordingInterval(
                start=started,
                end=ended,
                offset_known=offset_known,
                recording_id=str(recording_id),
            )
        )
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
    fields = _evaluation_fields(rule, result, pending=pending, now=now)
    # Two upserts (no read first): this runs for every stored recording. Verdicts are not
    # audited one by one: they are derived from audited links, recordings and rules and
    # can be recomputed (coverage_recheck); the row keeps when it was last evaluated.
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
        "officers_recorded": [_plain_id(officer) for officer in result.officers_recorded],
        "unknown_offset_recordings": result.unknown_offset_recordings,
        "detail": detail,
        "evaluated_at": now,
    }
    return fields


def _plain_id(value: Hashable) -> Hashable:
    """An officer key as a plain int (the bulk path's keys are int subclasses)."""
    return int(value) if isinstance(value, int) else value


def result_window(result: CoverageResult) -> tuple[datetime.datetime, datetime.datetime]:
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (
        epoch + datetime.timedelta(microseconds=result.window_start_us),
        epoch + datetime.timedelta(microseconds=result.window_end_us),
    )


# ---------------------------------------------------------------- auto-linking


def _overlap_q(start: datetime.datetime, end: datetime.datetime | None) -> Q:
    """Recordings overlapping ``[start, end]`` widened by the buffer (open: start + horizon)."""
    buffer = link_buffer()
    upper = end if end is not None else max(start + OPEN_ACTIVITY_HORIZON, timezone.now())
    return Q(started_at__lte=upper + buffer, ended_at__gte=start - buffer)


def _autolink_activity(activity: Activity) -> list[uuid.UUID]:
    """Link every recording of the participants that overlaps the window ± buffer."""
    officer_ids = list(
        ActivityOfficer.objects.filter(activity_id=activity.pk).values_list("officer_id", flat=True)
    )
    if not officer_ids:
        return []
    candidates = list(
        Recording.objects.filter(_overlap_q(activity.started_at, activity.stopped_at))
        .filter(officer_id__in=officer_ids)
        .exclude(state__in=NEVER_LINKED_STATES)
        .exclude(activity_links__activity_id=activity.pk)
        .values_list("pk", "officer_id")
    )
    links = [
        RecordingLink(
            activity_id=activity.pk, recording_id=pk, officer_id=officer_id, source=LinkSource.AUTO
        )
        for pk, officer_id in candidates
    ]
    created = RecordingLink.objects.bulk_create(links, ignore_conflicts=True)
    _audit_auto_links((activity.pk, link.recording_id, link.officer_id) for link in created)
    return [link.recording_id for link in created]


def _audit_auto_links(links: Iterable[tuple[uuid.UUID, object, int | None]]) -> None:
    """One `coverage.link_added` event per new automatic link (activity, recording,
    officer), appended to the audit chain in one go."""
    audit_record_many(
        AuditEntry(
            actor=Actor.system(),
            action="coverage.link_added",
            object_type="activity",
            object_id=activity_id,
            data={
                "recording_id": str(recording_id),
                "officer_id": officer_id,
                "source": LinkSource.AUTO,
            },
        )
        for activity_id, recording_id, officer_id in links
    )


def _audit_links_removed(links: Iterable[RecordingLink], *, reason: str) -> None:
    audit_record_many(
        AuditEntry(
            actor=Actor.system(),
            action="coverage.link_removed",
            object_type="activity",
            object_id=link.activity_id,
            data={"recording_id": str(link.recording_id), "reason": reason},
        )
        for link in links
    )


def _linked_and_overlapped(
    recording: Recording, *, look_for_new: bool
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(activities the recording is linked to, activities its officer took part in whose
    window ± buffer it overlaps; an open activity counts up to OPEN_ACTIVITY_HORIZON after
    its start) in one round trip: this runs for every stored recording."""
    buffer = link_buffer()
    if connection.vendor != "postgresql":
        return _linked_and_overlapped_portable(recording, look_for_new=look_for_new)
    params: list[Any] = [recording.pk]
    sql = f"""
        SELECT activity_id, true FROM {RecordingLink._meta.db_table} WHERE recording_id = %s
    """  # noqa: S608 - table names are ours, values are parameters
    if look_for_new and recording.officer_id is not None:
        sql += f"""
        UNION ALL
        SELECT participant.activity_id, false
          FROM {ActivityOfficer._meta.db_table} AS participant
          JOIN {Activity._meta.db_table} AS activity ON activity.id = participant.activity_id
         WHERE participant.officer_id = %s
           AND activity.started_at <= %s
           AND (activity.stopped_at >= %s
                OR (activity.stopped_at IS NULL AND activity.started_at >= %s))
        """  # noqa: S608
        params += [
            recording.officer_id,
            recording.ended_at + buffer,
            recording.started_at - buffer,
            recording.started_at - OPEN_ACTIVITY_HORIZON - buffer,
        ]
    linked: set[uuid.UUID] = set()
    overlapped: set[uuid.UUID] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for activity_id, is_link in cursor.fetchall():
            (linked if is_link else overlapped).add(activity_id)
    return linked, overlapped


# -- portable paths ---------------------------------------------------------------------------
# The statements above use PostgreSQL (unnest, uuid[] parameters, GREATEST, one round trip).
# The embedded default runs on SQLite, which serialises writers: there the same results come
# from the ORM in a few more queries. Both are exercised by the tests (the SQLite ones in
# tests/coverage_integration/test_sqlite_paths.py).


def _linked_and_overlapped_portable(
    recording: Recording, *, look_for_new: bool
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    buffer = link_buffer()
    linked = _linked_activities(recording.pk)
    overlapped: set[uuid.UUID] = set()
    if look_for_new and recording.officer_id is not None:
        overlapped = set(
            ActivityOfficer.objects.filter(
                officer_id=recording.officer_id,
                activity__started_at__lte=recording.ended_at + buffer,
            )
            .filter(
                Q(activity__stopped_at__gte=recording.started_at - buffer)
                | Q(
                    activity__stopped_at__isnull=True,
                    activity__started_at__gte=recording.started_at - OPEN_ACTIVITY_HORIZON - buffer,
                )
            )
            .values_list("activity_id", flat=True)
        )
    return linked, overlapped


def _insert_new_auto_links(candidates: list[RecordingLink]) -> list[RecordingLink]:
    """Insert the candidate links that do not exist yet; return exactly those inserted.
    Runs inside the caller's transaction, where SQLite's single writer makes the check
    and the insert one step."""
    if not candidates:
        return []
    existing = set(
        RecordingLink.objects.filter(
            activity_id__in={c.activity_id for c in candidates},
            recording_id__in={c.recording_id for c in candidates},
        ).values_list("activity_id", "recording_id")
    )
    new = [c for c in candidates if (c.activity_id, c.recording_id) not in existing]
    RecordingLink.objects.bulk_create(new)
    return new


def _add_auto_links_portable(recording: Recording, wanted: list[uuid.UUID]) -> list[uuid.UUID]:
    created = _insert_new_auto_links(
        [
            RecordingLink(
                activity_id=activity_id,
                recording_id=recording.pk,
                officer_id=recording.officer_id,
                source=LinkSource.AUTO,
            )
            for activity_id in wanted
        ]
    )
    return [link.activity_id for link in created]


def _autolink_chunk_portable(
    activities: list[Activity], now: datetime.datetime
) -> list[tuple[uuid.UUID, uuid.UUID, int | None]]:
    buffer = link_buffer()
    officers_of: dict[uuid.UUID, list[int]] = defaultdict(list)
    for activity_id, officer_id in ActivityOfficer.objects.filter(
        activity_id__in=[a.pk for a in activities]
    ).values_list("activity_id", "officer_id"):
        officers_of[activity_id].append(officer_id)
    candidates: list[RecordingLink] = []
    for activity in activities:
        if not officers_of[activity.pk]:
            continue
        window_end = activity.stopped_at or max(activity.started_at + OPEN_ACTIVITY_HORIZON, now)
        for recording_id, officer_id in (
            Recording.objects.filter(
                officer_id__in=officers_of[activity.pk],
                started_at__lte=window_end + buffer,
                ended_at__gte=activity.started_at - buffer,
            )
            .exclude(state__in=list(NEVER_LINKED_STATES))
            .values_list("pk", "officer_id")
        ):
            candidates.append(
                RecordingLink(
                    activity_id=activity.pk,
                    recording_id=recording_id,
                    officer_id=officer_id,
                    source=LinkSource.AUTO,
                )
            )
    created = _insert_new_auto_links(candidates)
    return [(link.activity_id, link.recording_id, link.officer_id) for link in created]


def _linked_activities(recording_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        RecordingLink.objects.filter(recording_id=recording_id).values_list(
            "activity_id", flat=True
        )
    )


def _lock_activities(activity_ids: Iterable[uuid.UUID]) -> list[Activity]:
    """Lock in primary-key order, before any link row is touched: every path that changes
    links (close, store, correction, manual) takes the activity locks first, in this
    order, so they cannot deadlock on each other's link rows."""
    ids = set(activity_ids)
    if not ids:
        return []
    return list(_activities_locked().filter(pk__in=ids).order_by("pk"))


def _add_auto_links_postgresql(recording: Recording, wanted: list[uuid.UUID]) -> list[uuid.UUID]:
    table = RecordingLink._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (activity_id, recording_id, officer_id, source, excluded, reason,
                 changed_by_id, created_at, updated_at)
            SELECT wanted.id, %s, %s, %s, false, '', NULL, now(), now()
              FROM unnest(%s::uuid[]) AS wanted(id)
            ON CONFLICT (activity_id, recording_id) DO NOTHING
            RETURNING activity_id
            """,  # noqa: S608 - the table name is ours, values are parameters
            [recording.pk, recording.officer_id, LinkSource.AUTO, wanted],
        )
        return [row[0] for row in cursor.fetchall()]


def _add_auto_links(recording: Recording, activity_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Insert the automatic links that do not exist yet and audit exactly those (one
    statement: ON CONFLICT DO NOTHING RETURNING tells which rows are new)."""
    wanted = sorted(set(activity_ids), key=str)
    if not wanted:
        return []
    if connection.vendor != "postgresql":
        new = _add_auto_links_portable(recording, wanted)
    else:
        new = _add_auto_links_postgresql(recording, wanted)
    _audit_auto_links((activity_id, recording.pk, recording.officer_id) for activity_id in new)
    return new


def _evaluate_all(activities: Iterable[Activity]) -> list[uuid.UUID]:
    now = timezone.now()
    done = []
    for activity in activities:
        _evaluate_locked(activity, as_of=now)
        done.append(activity.pk)
    return done


# ------------------------------------------------------------ re-check triggers


def coverage_activity_refresh(activity_id: uuid.UUID) -> None:
    """After an activity was created, closed or changed: link, then re-check it.

    Runs inside the caller's transaction (ACTIVITY_CHANGED_HOOKS)."""
    with transaction.atomic():
        activity = _activities_locked().filter(pk=activity_id).first()
        if activity is None:
            return
        _autolink_activity(activity)
        _evaluate_locked(activity, as_of=timezone.now())


def coverage_on_recording_stored(recording_id: uuid.UUID) -> list[uuid.UUID]:
    """AFTER_STORED_HOOKS entry: link the new recording to the activities of its officer
    that it overlaps, and re-check only the activities it is linked to."""
    with transaction.atomic():
        recording = (
            Recording.objects.filter(pk=recording_id)
            .only("pk", "officer_id", "started_at", "ended_at", "state")
            .first()
        )
        if recording is None:
            return []
        linked, candidates = _linked_and_overlapped(
            recording, look_for_new=recording.state not in NEVER_LINKED_STATES
        )
        activities = _lock_activities(linked | candidates)
        _add_auto_links(recording, candidates)
        return _evaluate_all(activities)


def coverage_on_recording_time_changed(recording_id: uuid.UUID) -> list[uuid.UUID]:
    """Call after a recording's corrected times changed (clock correction): automatic
    links that no longer overlap are dropped (audited), new overlaps linked, and the
    activities on either side re-checked. Manual links and exclusions are kept."""
    with transaction.atomic():
        recording = Recording.objects.filter(pk=recording_id).first()
        if recording is None:
            return []
        linked, candidates = _linked_and_overlapped(recording, look_for_new=True)
        activities = _lock_activities(linked | candidates)
        stale = list(
            RecordingLink.objects.filter(
                recording_id=recording_id, source=LinkSource.AUTO, excluded=False
            ).exclude(activity_id__in=candidates)
        )
        _audit_links_removed(stale, reason="recording time corrected")
        RecordingLink.objects.filter(pk__in=[link.pk for link in stale]).delete()
        _add_auto_links(recording, candidates)
        return _evaluate_all(activities)


def coverage_on_recording_removed(recording_id: uuid.UUID) -> list[uuid.UUID]:
    """Call before a recording row is deleted (or when it must stop counting): its links
    are removed (audited) and the activities re-checked without it."""
    with transaction.atomic():
        activities = _lock_activities(_linked_activities(recording_id))
        links = list(RecordingLink.objects.filter(recording_id=recording_id))
        _audit_links_removed(links, reason="recording removed")
        RecordingLink.objects.filter(recording_id=recording_id).delete()
        return _evaluate_all(activities)


RECHECK_CHUNK = 2000


def coverage_recheck_range(
    *,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    rule_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk_size: int = RECHECK_CHUNK,
) -> int:
    """Re-link and re-check every activity that started in ``[start, end)`` (either
    bound may be open), optionally only those judged by one record-list rule.

    In chunks of ``chunk_size`` activities (one transaction each): a fixed number of
    set-based queries per chunk, the check by :func:`evaluate_many`, the verdicts written
    by two bulk upserts. Same stored results, links and audit events as re-checking the
    activities one by one with :func:`coverage_activity_refresh`."""
    activities = Activity.objects.all()
    if start is not None:
        activities = activities.filter(started_at__gte=start)
    if end is not None:
        activities = activities.filter(started_at__lt=end)
    if rule_id is not None:
        activities = activities.filter(rule_id=rule_id)
    ids = list(activities.order_by("started_at", "pk").values_list("pk", flat=True))
    total = len(ids)
    for offset in range(0, total, max(1, chunk_size)):
        chunk = ids[offset : offset + max(1, chunk_size)]
        _recheck_chunk(chunk)
        if progress is not None:
            for done in range(offset + 1, offset + len(chunk) + 1):
                progress(done, total)
    return total


class _LinkedOfficer(int):
    """An officer as a key of :func:`evaluate_many` scoped to one activity: the bulk
    check is fed each activity's *linked* recordings (links decide, not officer and
    time alone), so the same officer in two activities must be two keys. Behaves as
    the officer's id everywhere else (text, JSON, ``int()``)."""

    activity_id: uuid.UUID

    def __new__(cls, officer_id: int, activity_id: uuid.UUID) -> _LinkedOfficer:
        key = super().__new__(cls, officer_id)
        key.activity_id = activity_id
        return key

    def __hash__(self) -> int:
        return hash((int(self), self.activity_id))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _LinkedOfficer)
            and int(self) == int(other)
            and self.activity_id == other.activity_id
        )


# Every linked recording counts, wherever it lies (as in evaluate_activity): the bulk
# check's overlap search is widened past any real time line.
_ALL_LINKED = datetime.timedelta(days=1_000_000)


def _autolink_chunk(activities: list[Activity], now: datetime.datetime) -> list[tuple[Any, ...]]:
    """Link, in one statement, every recording of the participants of ``activities``
    that overlaps the activity's window ± buffer and has no link (or exclusion) to it
    yet. Returns the new links (activity_id, recording_id, officer_id)."""
    if not activities:
        return []
    if connection.vendor != "postgresql":
        return _autolink_chunk_portable(activities, now)
    buffer = link_buffer()
    link_table = RecordingLink._meta.db_table
    params: list[Any] = [
        LinkSource.AUTO,
        [activity.pk for activity in activities],
        OPEN_ACTIVITY_HORIZON,
        now,
        buffer,
        buffer,
        list(NEVER_LINKED_STATES),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {link_table}
                (activity_id, recording_id, officer_id, source, excluded, reason,
                 changed_by_id, created_at, updated_at)
            SELECT activity.id, recording.id, recording.officer_id, %s, false, '', NULL,
                   now(), now()
              FROM {Activity._meta.db_table} AS activity
              JOIN {ActivityOfficer._meta.db_table} AS participant
                ON participant.activity_id = activity.id
              JOIN {Recording._meta.db_table} AS recording
                ON recording.officer_id = participant.officer_id
             WHERE activity.id = ANY(%s::uuid[])
               AND recording.started_at <= COALESCE(
                       activity.stopped_at,
                       GREATEST(activity.started_at + %s, %s)) + %s
               AND recording.ended_at >= activity.started_at - %s
               AND NOT (recording.state = ANY(%s))
               AND NOT EXISTS (SELECT 1 FROM {link_table} AS link
                                WHERE link.activity_id = activity.id
                                  AND link.recording_id = recording.id)
            ON CONFLICT (activity_id, recording_id) DO NOTHING
            RETURNING activity_id, recording_id, officer_id
            """,  # noqa: S608 - table names are ours, values are parameters
            params,
        )
        return list(cursor.fetchall())


def _recheck_chunk(activity_ids: list[uuid.UUID]) -> None:
    """Link and re-check one chunk of activities in one transaction: lock, link, read
    participants and links, judge with evaluate_many, upsert, audit the new links."""
    now = timezone.now()
    with transaction.atomic():
        activities = _lock_activities(activity_ids)
        for activity in activities:
            if activity.rule is None:
                # Rows written without a rule (older rows, direct inserts): resolved once
                # and remembered, as the one-by-one path does (one query each, rare).
                rule = record_rule_for(
                    category=activity.category,
                    stage=activity.stage,
                    item=activity.item,
                    at=activity.started_at,
                )
                if rule is not None:
                    Activity.objects.filter(pk=activity.pk).update(rule=rule)
                    activity.rule = rule
        new_links = _autolink_chunk(activities, now)
        pks = [activity.pk for activity in activities]
        participants: dict[uuid.UUID, list[_LinkedOfficer]] = defaultdict(list)
        labels: dict[Hashable, str] = {}
        for activity_id, officer_id, name in (
            ActivityOfficer.objects.filter(activity_id__in=pks)
            .order_by("activity_id", "pk")
            .values_list("activity_id", "officer_id", "officer__name")
        ):
            key = _LinkedOfficer(officer_id, activity_id)
            participants[activity_id].append(key)
            labels[key] = name
        recordings: dict[Hashable, list[RecordingInterval]] = defaultdict(list)
        pending: dict[uuid.UUID, int] = defaultdict(int)
        for activity_id, officer_id, recording_id, started, ended, state, offset_known in (
            RecordingLink.objects.filter(activity_id__in=pks, excluded=False)
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
            recordings[_LinkedOfficer(officer_id, activity_id)].append(
                RecordingInterval(
                    start=started,
                    end=ended,
                    offset_known=offset_known,
                    recording_id=str(recording_id),
                )
            )
        inputs = [
            ActivityInput(
                activity_id=str(activity.pk),
                window=ActivityWindow(
                    start=activity.started_at,
                    stop=activity.stopped_at,
                    start_label=activity.rule.start_text if activity.rule else "",
                    stop_label=activity.rule.stop_text if activity.rule else "",
                ),
                rule=coverage_rule_from(activity.rule),
                officers=tuple(participants.get(activity.pk, ())),
            )
            for activity in activities
        ]
        results = evaluate_many(
            inputs, recordings, link_buffer=_ALL_LINKED, as_of=now, officer_labels=labels
        )
        fields = [
            _evaluation_fields(activity.rule, result, pending=pending.get(activity.pk, 0), now=now)
            for activity, result in zip(activities, results, strict=True)
        ]
        if fields:
            evaluations = CoverageEvaluation.objects.bulk_create(
                [
                    CoverageEvaluation(activity=activity, **values)
                    for activity, values in zip(activities, fields, strict=True)
                ],
                update_conflicts=True,
                unique_fields=["activity"],
                update_fields=list(fields[0]),
            )
            OfficerCoverage.objects.bulk_create(
                [
                    row
                    for evaluation, result in zip(evaluations, results, strict=True)
                    for row in _officer_rows(evaluation, result)
                ],
                update_conflicts=True,
                unique_fields=["evaluation", "officer"],
                update_fields=OFFICER_FIELDS,
            )
        # Audited last, so the audit chain's head is locked only until the commit.
        order = {pk: index for index, pk in enumerate(activity_ids)}
        _audit_auto_links(sorted(new_links, key=lambda link: (order[link[0]], str(link[1]))))


# ------------------------------------------------------------ manual linking


def recording_link_add(
    *,
    user: User,
    activity: Activity,
    recording: Recording,
    reason: str,
    officer: Officer | None = None,
) -> RecordingLink:
    """A person links a recording to an activity (for ``officer``, by default the
    recording's). The officer must take part in the activity. Re-checks the activity."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("人工关联必须说明原因"), code="reason_required")
    officer_id = officer.pk if officer is not None else recording.officer_id
    if officer_id is None:
        raise InvalidInput(_("请指定该记录计入哪名执法人员"), code="officer_required")
    if not ActivityOfficer.objects.filter(activity=activity, officer_id=officer_id).exists():
        raise InvalidInput(
            _("该执法人员未参与此执法活动"),
            code="officer_not_participant",
            details={"officer_id": officer_id},
        )
    with transaction.atomic():
        _activities_locked().filter(pk=activity.pk).first()
        link, created = RecordingLink.objects.select_for_update().get_or_create(
            activity=activity,
            recording=recording,
            defaults={
                "officer_id": officer_id,
                "source": LinkSource.MANUAL,
                "reason": reason,
                "changed_by": user,
            },
        )
        if not created:
            if not link.excluded and link.officer_id == officer_id:
                raise Conflict(_("该记录已关联到此执法活动"), code="already_linked")
            link.excluded = False
            link.officer_id = officer_id
            link.source = LinkSource.MANUAL
            link.reason = reason
            link.changed_by = user
            link.save()
        audit_record(
            actor=Actor.user(user),
            action="coverage.link_added",
            object_type="activity",
            object_id=activity.pk,
            data={
                "recording_id": str(recording.pk),
                "officer_id": officer_id,
                "source": LinkSource.MANUAL,
                "reason": reason,
            },
        )
        _evaluate_all(_lock_activities([activity.pk]))
    return link


def recording_link_remove(
    *, user: User, activity: Activity, recording: Recording, reason: str
) -> RecordingLink:
    """A person unlinks a recording (kept as an exclusion, so auto-linking won't re-add it)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("取消关联必须说明原因"), code="reason_required")
    with transaction.atomic():
        _activities_locked().filter(pk=activity.pk).first()
        link = (
            RecordingLink.objects.select_for_update()
            .filter(activity=activity, recording=recording, excluded=False)
            .first()
        )
        if link is None:
            raise NotFound(_("该记录未关联到此执法活动"), code="link_not_found")
        link.excluded = True
        link.reason = reason
        link.changed_by = user
        link.save()
        audit_record(
            actor=Actor.user(user),
            action="coverage.link_removed",
            object_type="activity",
            object_id=activity.pk,
            data={"recording_id": str(recording.pk), "reason": reason},
        )
        _evaluate_all(_lock_activities([activity.pk]))
    return link


# ---------------------------------------------------------------- explanations


def explanation_submit(
    *,
    user: User,
    activity: Activity,
    reason: str,
    text: str = "",
    gap_from: datetime.datetime | None = None,
    gap_to: datetime.datetime | None = None,
) -> GapExplanation:
    """The officer (a participant) explains a gap or a missing recording."""
    officer = getattr(user, "officer", None)
    if (
        officer is None
        or not ActivityOfficer.objects.filter(activity=activity, officer=officer).exists()
    ):
        raise PermissionDenied(
            _("只有参与该执法活动的执法人员可以提交说明"), code="not_a_participant"
        )
    if reason not in ExplanationReason.values:
        raise InvalidInput(
            _("未知的说明原因"),
            code="unknown_explanation_reason",
            details={"allowed": ExplanationReason.values},
        )
    if reason == ExplanationReason.OTHER and not text.strip():
        raise InvalidInput(_("选择“其他”时必须填写说明"), code="explanation_text_required")
    if gap_from is not None and gap_to is not None and gap_to < gap_from:
        raise InvalidInput(_("中断结束时间早于开始时间"), code="gap_ends_before_start")
    with transaction.atomic():
        explanation = GapExplanation.objects.create(
            activity=activity,
            officer=officer,
            reason=reason,
            text=text.strip(),
            gap_from=gap_from,
            gap_to=gap_to,
            submitted_by=user,
        )
        audit_record(
            actor=Actor.user(user),
            action="coverage.explanation_submitted",
            object_type="activity",
            object_id=activity.pk,
            data={
                "explanation_id": explanation.pk,
                "reason": reason,
                "gap_from": gap_from.isoformat() if gap_from else None,
                "gap_to": gap_to.isoformat() if gap_to else None,
            },
        )
    return explanation


def explanation_decide(
    *, user: User, explanation: GapExplanation, accept: bool, note: str = ""
) -> GapExplanation:
    """A supervisor accepts or rejects an explanation (not their own); once only."""
    with transaction.atomic():
        locked = GapExplanation.objects.select_for_update().get(pk=explanation.pk)
        if locked.state != ExplanationState.PENDING:
            raise Conflict(
                _("该说明已审核"),
                code="explanation_already_decided",
                details={"state": locked.state},
            )
        if locked.submitted_by_id == user.pk:
            raise PermissionDenied(_("不能审核自己提交的说明"), code="own_explanation")
        locked.state = ExplanationState.ACCEPTED if accept else ExplanationState.REJECTED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()
        locked.save()
        audit_record(
            actor=Actor.user(user),
            action="coverage.explanation_decided",
            object_type="activity",
            object_id=locked.activity_id,
            data={"explanation_id": locked.pk, "state": locked.state, "note": locked.decision_note},
        )
    return locked
