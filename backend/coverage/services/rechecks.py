"""What re-checks which activities: triggers (activity changed, recording stored, corrected,
removed) and the bulk re-check of a range in chunks."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable

from django.db import transaction
from django.utils import timezone

from backend.coverage.models import (
    CoverageEvaluation,
    LinkSource,
    OfficerCoverage,
    RecordingLink,
)
from backend.coverage.services.aggregates import monthly_counts_follow
from backend.coverage.services.evaluation import (
    NEVER_LINKED_STATES,
    OFFICER_FIELDS,
    _activities_locked,
    _evaluate_locked,
    _evaluation_fields,
    _officer_rows,
    coverage_rule_from,
    linked_recordings,
    resolve_rule,
)
from backend.coverage.services.linking import (
    _add_auto_links,
    _audit_auto_links,
    _audit_links_removed,
    _autolink_activity,
    _autolink_chunk,
    _evaluate_all,
    _linked_activities,
    _linked_and_overlapped,
    _lock_activities,
)
from backend.enforcement.models import Activity, ActivityOfficer
from backend.footage.models import Recording
from coverage_core.evaluation import (
    ActivityInput,
    ActivityWindow,
    evaluate_many,
)

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


def _recheck_chunk(activity_ids: list[uuid.UUID]) -> None:
    """Link and re-check one chunk of activities in one transaction: lock, link, read
    participants and links, judge with evaluate_many, upsert, audit the new links."""
    now = timezone.now()
    with transaction.atomic():
        activities = _lock_activities(activity_ids)
        for activity in activities:
            resolve_rule(activity)
        new_links = _autolink_chunk(activities, now)
        pks = [activity.pk for activity in activities]
        participants: dict[uuid.UUID, list[int]] = defaultdict(list)
        uncertified: dict[uuid.UUID, set[int]] = defaultdict(set)
        labels: dict[Hashable, str] = {}
        for activity_id, officer_id, name, certified in (
            ActivityOfficer.objects.filter(activity_id__in=pks)
            .order_by("activity_id", "pk")
            .values_list("activity_id", "officer_id", "officer__name", "certificate_valid")
        ):
            participants[activity_id].append(officer_id)
            labels[officer_id] = name
            if not certified:
                uncertified[activity_id].add(officer_id)
        recordings, pending = linked_recordings(pks)
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
                uncertified=frozenset(uncertified.get(activity.pk, ())),
                # Links decide, not officer and time alone: each activity is judged on
                # exactly its own linked recordings, wherever they lie.
                recordings_by_officer=recordings.get(activity.pk, {}),
            )
            for activity in activities
        ]
        results = evaluate_many(inputs, as_of=now, officer_labels=labels)
        fields = [
            _evaluation_fields(
                activity, activity.rule, result, pending=pending.get(activity.pk, 0), now=now
            )
            for activity, result in zip(activities, results, strict=True)
        ]
        # The monthly figures follow in this transaction (the chunk's activities locked).
        with monthly_counts_follow(pks):
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
