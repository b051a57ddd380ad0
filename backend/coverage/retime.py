"""Retiming: correcting recordings' times after the fact, and what it does to coverage.

A coverage workflow: the recordings' corrected times are footage's (it moves them, keeps
the history and audits them: ``backend.footage.services.recordings_shift_times`` /
``time_corrections_audit``); which activities the new times overlap, and which verdicts
change, are this app's. Lock order: recordings, then every activity the re-check may touch
(before anything is written), then the audit chain head (the audit comes last).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from backend.accounts.models import User
from backend.coverage.models import CoverageEvaluation, RecordingLink
from backend.coverage.services import coverage_on_recording_time_changed, link_buffer
from backend.devices.models import Device
from backend.enforcement.models import Activity
from backend.footage.models import Recording, RecordingTimeCorrection
from backend.footage.services import (
    recordings_lock_for_time_correction,
    recordings_shift_times,
    time_correction_holders,
    time_correction_select,
    time_correction_validate,
    time_corrections_audit,
)


@dataclass(frozen=True)
class VerdictChange:
    activity_id: uuid.UUID
    before: str | None
    after: str | None


@dataclass(frozen=True)
class RetimeResult:
    batch_id: uuid.UUID
    recording_ids: list[uuid.UUID]
    corrections: list[RecordingTimeCorrection]
    activity_ids: list[uuid.UUID]  # activities re-checked (links moved or verdict re-run)
    verdict_changes: list[VerdictChange]
    dry_run: bool


def _lock_activities_for(
    recordings: list[Recording],
    offset: datetime.timedelta,
    extra_officers: Iterable[int] = (),
) -> set[Any]:
    """Lock, in primary-key order and before anything is written, every activity the
    coverage re-check may touch (those linked to the recordings, and those of their
    officers that the corrected spans may overlap: a superset). The coverage paths take
    activity locks before the audit chain head; a batch re-checking recording after
    recording would otherwise take further activity locks while holding the head."""
    if not recordings:
        return set()
    buffer = link_buffer()
    ids = set(
        RecordingLink.objects.filter(recording_id__in=[r.pk for r in recordings]).values_list(
            "activity_id", flat=True
        )
    )
    officers = {r.officer_id for r in recordings if r.officer_id is not None}
    officers |= set(extra_officers)
    if officers:
        earliest = min(r.started_at for r in recordings) + offset - buffer
        latest = max(r.ended_at for r in recordings) + offset + buffer
        ids |= set(
            Activity.objects.filter(participants__officer_id__in=officers, started_at__lte=latest)
            .filter(Q(stopped_at__gte=earliest) | Q(stopped_at__isnull=True))
            .values_list("pk", flat=True)
        )
    if ids:
        list(
            Activity.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return ids


def recordings_retime(
    *,
    actor_user: User | None,
    offset: datetime.timedelta,
    reason: str,
    recording_ids: Sequence[uuid.UUID | str] | None = None,
    device: Device | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    dry_run: bool = False,
) -> RetimeResult:
    """Correct the corrected times of recordings after the fact (a device clock found to
    have been wrong): ``started_at``/``ended_at`` move by ``offset``; the device-reported
    times and the original bytes never change. Choose the recordings by id, or by
    ``device`` and a period ``[start, end)`` of the device-reported start. A recording
    whose corrected start falls in another officer's assignment of its device is
    attributed to that officer (as sync attributes by recorded time; audited with
    ``officer_id_before``); where the device's history names nobody then, it stays.

    ``actor_user`` is the person correcting (scoped like the recording endpoints: a
    recording they may not see is ``recording_not_found``; only TIME_CORRECTION_ROLES may
    correct); ``None`` is an operator at the server console (management command).
    One history row per recording, one ``recording.time_corrected`` audit event per
    recording (appended in one statement, sharing ``batch_id``), then the coverage
    re-check of each recording inside this transaction (links that no longer overlap
    dropped, new overlaps linked, verdicts on both sides re-run). ``dry_run`` does all of
    it and rolls it back: the result tells what would change, nothing is written."""
    ids = time_correction_select(
        actor_user=actor_user, recording_ids=recording_ids, device=device, start=start, end=end
    )
    reason = time_correction_validate(offset, reason)
    batch_id = uuid.uuid4()
    with transaction.atomic():
        recordings = recordings_lock_for_time_correction(ids)
        new_holders = time_correction_holders(recordings, offset)
        previous_officers = {r.pk: r.officer_id for r in recordings}
        locked = _lock_activities_for(recordings, offset, new_holders.values())
        verdicts_before = dict(
            CoverageEvaluation.objects.filter(activity_id__in=locked).values_list(
                "activity_id", "verdict"
            )
        )
        corrections = recordings_shift_times(
            recordings,
            offset=offset,
            reason=reason,
            batch_id=batch_id,
            corrected_by=actor_user,
            new_holders=new_holders,
        )
        rechecked: list[uuid.UUID] = []
        for recording in recordings:
            for activity_id in coverage_on_recording_time_changed(recording.pk):
                if activity_id not in rechecked:
                    rechecked.append(activity_id)
        verdicts_after = dict(
            CoverageEvaluation.objects.filter(activity_id__in=rechecked).values_list(
                "activity_id", "verdict"
            )
        )
        changes = [
            VerdictChange(activity_id, verdicts_before.get(activity_id), verdict)
            for activity_id in rechecked
            if verdicts_before.get(activity_id) != (verdict := verdicts_after.get(activity_id))
        ]
        time_corrections_audit(
            corrections,
            actor_user=actor_user,
            offset=offset,
            reason=reason,
            batch_id=batch_id,
            previous_officers=previous_officers,
            new_holders=new_holders,
        )
        if dry_run:
            transaction.set_rollback(True)
    return RetimeResult(
        batch_id=batch_id,
        recording_ids=[r.pk for r in recordings],
        corrections=[] if dry_run else corrections,
        activity_ids=rechecked,
        verdict_changes=changes,
        dry_run=dry_run,
    )
