"""Categories follow the activity a recording is linked to: its enforcement category and its
coverage verdict. The real path: enforcement creates the activity, coverage links the
recording, retention recomputes and extends the COMPLIANCE lock in SeaweedFS."""

from __future__ import annotations

import datetime

import pytest
from django.test import TestCase
from django.utils import timezone

from backend.accounts.models import User
from backend.audit.services import Actor
from backend.coverage.models import CoverageEvaluation, RecordingLink
from backend.enforcement.services import MomentIn, activity_create
from backend.footage.models import Recording
from backend.retention.destruction import destruction_refusals
from backend.retention.models import RetentionPolicy
from backend.retention.periodic import retention_periodic
from backend.retention.services import (
    legal_hold_place,
    retention_check_locks,
    retention_refresh,
    retention_sync_locks,
)
from tests.retention.conftest import StoreRecording, object_lock_until, retention_of

pytestmark = pytest.mark.django_db


def activity_around(recording: Recording, *, category: str = "行政处罚", ref: str = "") -> str:
    """An activity of the recording's officer spanning the recording (created and closed)."""
    assert recording.officer is not None
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = activity_create(
            actor=Actor.system(),
            category=category,
            stage="调查取证",
            unit=recording.officer.unit,
            officers=[recording.officer],
            start=MomentIn(occurred_at=recording.started_at, source="manual", reason="测试"),
            stop=MomentIn(occurred_at=recording.ended_at, source="manual", reason="测试"),
            external_ref=ref or None,
        )
    return str(created.activity.pk)


@pytest.fixture
def policies() -> None:
    RetentionPolicy.objects.create(
        category="enforcement:行政处罚", name="行政处罚案件音像记录", period_days=730
    )
    RetentionPolicy.objects.create(
        category="verdict:late_start", name="开始记录过晚（需复核）", period_days=1095
    )


def test_linked_activity_category_sets_retention_and_extends_the_lock(
    store_recording: StoreRecording, policies: None
) -> None:
    recording = store_recording(ended_days_ago=2)
    assert retention_of(recording).categories == ",default,"
    activity_id = activity_around(recording, ref="(2026)司罚立字第3号")
    assert RecordingLink.objects.filter(activity_id=activity_id, recording=recording).exists()

    # The activity-changed hook recomputed the recording once the activity committed.
    row = retention_of(recording)
    assert "enforcement:行政处罚" in row.categories
    assert row.retention_until == row.anchor_at + datetime.timedelta(days=730)
    assert row.reason.startswith("行政处罚案件音像记录") and "730" in row.reason
    assert activity_id in row.activity_refs and "(2026)司罚立字第3号" in row.activity_refs
    # ... and the COMPLIANCE lock in SeaweedFS followed.
    assert object_lock_until(recording) == row.retention_until
    assert retention_check_locks() == []


def test_coverage_verdict_is_a_category_and_the_longest_period_wins(
    store_recording: StoreRecording, policies: None
) -> None:
    recording = store_recording(ended_days_ago=2)
    activity_id = activity_around(recording)
    assert retention_of(recording).retention_until == (
        retention_of(recording).anchor_at + datetime.timedelta(days=730)
    )
    # A later re-check finds the recording started late: the verdict changes after the
    # retention was computed; the periodic pass notices and recomputes.
    CoverageEvaluation.objects.filter(activity_id=activity_id).update(
        verdict="late_start", evaluated_at=timezone.now()
    )
    summary = retention_periodic(fixity_limit=0)
    assert summary["refreshed"] == 1
    row = retention_of(recording)
    assert ",verdict:late_start," in row.categories
    assert row.retention_until == row.anchor_at + datetime.timedelta(days=1095)  # 1095 > 730
    assert "开始记录过晚" in row.reason
    assert object_lock_until(recording) == row.retention_until
    # Nothing changed since: the next pass recomputes nothing.
    assert retention_periodic(fixity_limit=0)["refreshed"] == 0


def test_hold_on_an_activity_covers_its_linked_recordings(
    store_recording: StoreRecording, legal_officer: User
) -> None:
    recording = store_recording(ended_days_ago=2)
    activity_around(recording, ref="HOLD-ACT-1")
    legal_hold_place(
        actor=legal_officer, target_kind="activity", reference="HOLD-ACT-1", reason="投诉调查"
    )
    assert retention_of(recording).held
    refusals = destruction_refusals([recording.pk], now=timezone.now())
    assert [r.code for r in refusals] == ["recording_held"]


def test_removing_a_link_never_takes_the_date_below_the_applied_lock(
    store_recording: StoreRecording, policies: None
) -> None:
    recording = store_recording(ended_days_ago=2)
    activity_around(recording)
    locked = object_lock_until(recording)
    RecordingLink.objects.filter(recording=recording).delete()
    retention_refresh(recording_ids=[recording.pk])
    row = retention_of(recording)
    assert row.categories == ",default,"
    assert row.policy_until == row.anchor_at + datetime.timedelta(days=184)
    # The object stays locked to the later date, and the database says so.
    assert row.retention_until == locked == row.lock_until_applied
    retention_sync_locks()
    assert retention_check_locks() == []
