"""The check against the database: auto-linking, duplicates, midnight, clock offsets,
manual links, incremental re-checks and the recheck command."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, TestCase
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.coverage.models import CoverageEvaluation, RecordingLink
from backend.coverage.services import (
    coverage_on_recording_removed,
    coverage_on_recording_stored,
    coverage_on_recording_time_changed,
)
from backend.devices.models import DeviceAssignment
from backend.enforcement.models import Activity
from backend.footage.models import Recording, RecordingState
from backend.footage.services import AFTER_STORED_HOOKS, recording_upload_received
from sync.models import Upload
from tests.coverage_integration.conftest import (
    World,
    at,
    client_for,
    create_activity,
    make_recording,
)
from tests.factories import make_device, random_clip

pytestmark = pytest.mark.django_db
MINUTE = datetime.timedelta(minutes=1)


def evaluation(activity_id: str) -> CoverageEvaluation:
    return CoverageEvaluation.objects.get(activity_id=activity_id)


def closed_activity(
    world: World,
    *,
    stage: str = "调查取证",
    officers: Any = None,
    start: str = "2026-03-02 09:00",
    minutes: int = 30,
) -> str:
    begin = at(start)
    response = create_activity(
        client_for(world.supervisor),
        stage=stage,
        category="行政检查" if stage == "现场检查" else "行政处罚",
        officers=officers or [world.alice, world.bob],
        start=begin,
        stop=begin + minutes * MINUTE,
        unit_id=world.office.pk,
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def test_close_links_overlapping_recordings_of_participants_only(world: World) -> None:
    start = at("2026-03-02 09:00")
    alice = make_recording(world.alice_device, world.alice, start - MINUTE, start + 31 * MINUTE)
    bob = make_recording(world.bob_device, world.bob, start, start + 30 * MINUTE)
    # Within the 120 s buffer before the start, but covering nothing of the window.
    near = make_recording(world.alice_device, world.alice, start - 3 * MINUTE, start - MINUTE)
    far = make_recording(world.alice_device, world.alice, start - 60 * MINUTE, start - 50 * MINUTE)
    stranger = make_recording(world.carol_device, world.carol, start, start + 30 * MINUTE)
    activity_id = closed_activity(world)
    linked = set(
        RecordingLink.objects.filter(activity_id=activity_id).values_list("recording_id", flat=True)
    )
    assert linked == {alice.pk, bob.pk, near.pk}
    assert far.pk not in linked and stranger.pk not in linked
    result = evaluation(activity_id)
    assert result.verdict == "compliant", result.reasons_zh
    assert result.covered_fraction == 1.0
    assert sorted(result.officers_recorded) == sorted([world.alice.pk, world.bob.pk])
    assert (
        AuditEvent.objects.filter(action="coverage.link_added", object_id=activity_id).count() == 3
    )


def test_evidence_collection_needs_two_recording_officers(world: World) -> None:
    start = at("2026-03-02 09:00")
    make_recording(world.alice_device, world.alice, start, start + 30 * MINUTE)
    result = evaluation(closed_activity(world))
    assert result.verdict == "insufficient_officers"
    assert any("至少 2 人" in reason for reason in result.reasons_zh)


def test_overlapping_duplicates_count_once(world: World) -> None:
    start = at("2026-03-02 09:00")
    second_device, _ = make_device(officer=world.alice)
    from tests.coverage_integration.conftest import measure_clock

    measure_clock(second_device)
    make_recording(world.alice_device, world.alice, start, start + 20 * MINUTE)
    make_recording(second_device, world.alice, start + 5 * MINUTE, start + 20 * MINUTE)
    make_recording(world.alice_device, world.alice, start, start + 20 * MINUTE)  # same span
    result = evaluation(closed_activity(world, stage="送达", officers=[world.alice]))
    assert result.verdict == "early_stop"
    assert result.covered_seconds == pytest.approx(20 * 60)
    assert result.early_stop_seconds == pytest.approx(10 * 60)
    assert result.covered_fraction == pytest.approx(20 / 30)


def test_recording_crossing_midnight(world: World) -> None:
    start = at("2026-03-02 23:40")
    make_recording(world.alice_device, world.alice, start - MINUTE, at("2026-03-03 00:05"))
    make_recording(world.alice_device, world.alice, at("2026-03-03 00:05"), at("2026-03-03 00:21"))
    activity_id = closed_activity(
        world, stage="现场检查", officers=[world.alice], start="2026-03-02 23:40", minutes=40
    )
    result = evaluation(activity_id)
    assert result.verdict == "compliant", result.reasons_zh
    assert result.covered_fraction == 1.0


def test_gap_in_full_process_activity_is_reported_in_chinese(world: World) -> None:
    start = at("2026-03-02 09:00")
    make_recording(world.alice_device, world.alice, start, start + 10 * MINUTE)
    make_recording(world.alice_device, world.alice, start + 14 * MINUTE, start + 30 * MINUTE)
    result = evaluation(closed_activity(world, stage="现场检查", officers=[world.alice]))
    assert result.verdict == "gaps"
    assert result.interior_gap_seconds == [240.0]
    assert any("全过程记录中断" in reason for reason in result.reasons_zh)
    assert any("4分" in reason for reason in result.reasons_zh)


def test_unknown_clock_offset_is_undecidable(world: World) -> None:
    unmeasured, _ = make_device(officer=world.alice)  # never synced: no clock reading
    start = at("2026-03-02 09:00")
    make_recording(unmeasured, world.alice, start + 5 * MINUTE, start + 30 * MINUTE)
    result = evaluation(closed_activity(world, stage="送达", officers=[world.alice]))
    assert result.verdict == "undecidable"
    assert result.unknown_offset_recordings == 1
    assert any("时钟偏差未知" in reason for reason in result.reasons_zh)


def test_unknown_offset_stays_unknown_after_a_later_measurement(world: World) -> None:
    """The recording's times were computed without a measured offset; measuring the clock
    later does not correct them, so the activity stays undecidable (never a settled
    verdict on unplaced times)."""
    from tests.coverage_integration.conftest import measure_clock

    unmeasured, _ = make_device(officer=world.alice)
    start = at("2026-03-02 09:00")
    make_recording(unmeasured, world.alice, start + 5 * MINUTE, start + 30 * MINUTE)
    activity_id = closed_activity(world, stage="送达", officers=[world.alice])
    assert evaluation(activity_id).verdict == "undecidable"
    measure_clock(unmeasured)
    call_command("coverage_recheck", "--from", "2026-03-02", "--to", "2026-03-02", "--no-progress")
    result = evaluation(activity_id)
    assert result.verdict == "undecidable" and result.unknown_offset_recordings == 1


def test_open_activity_is_undecidable_until_closed(world: World) -> None:
    response = create_activity(
        client_for(world.supervisor),
        stage="送达",
        officers=[world.alice],
        start=at("2026-03-02 09:00"),
        unit_id=world.office.pk,
    )
    assert response.json()["verdict"] == "undecidable"


def test_manual_unlink_and_link_are_audited_and_sticky(world: World) -> None:
    start = at("2026-03-02 09:00")
    wrong = make_recording(world.alice_device, world.alice, start, start + 30 * MINUTE)
    activity_id = closed_activity(world, stage="送达", officers=[world.alice])
    assert evaluation(activity_id).verdict == "compliant"
    client = client_for(world.supervisor)
    url = f"/api/coverage/activities/{activity_id}/links/{wrong.pk}/remove"
    assert client.post(url, {"reason": ""}, content_type="application/json").json()["code"] == (
        "reason_required"
    )
    removed = client.post(url, {"reason": "该录像是另一次送达"}, content_type="application/json")
    assert removed.status_code == 200, removed.content
    assert removed.json()["verdict"] == "not_recorded"
    event = AuditEvent.objects.get(action="coverage.link_removed", object_id=activity_id)
    assert event.data["reason"] == "该录像是另一次送达"
    assert event.actor_id == str(world.supervisor.pk)
    # A re-check does not bring the excluded recording back.
    call_command("coverage_recheck", "--from", "2026-03-02", "--to", "2026-03-02", "--no-progress")
    assert evaluation(activity_id).verdict == "not_recorded"
    # Field officers may not link; supervisors may, for a participant only.
    denied = client_for(world.alice_user).post(
        f"/api/coverage/activities/{activity_id}/links",
        {"recording_id": str(wrong.pk), "reason": "x"},
        content_type="application/json",
    )
    assert denied.status_code == 403
    other = make_recording(world.carol_device, world.carol, start, start + 30 * MINUTE)
    not_visible = client.post(
        f"/api/coverage/activities/{activity_id}/links",
        {"recording_id": str(other.pk), "reason": "x"},
        content_type="application/json",
    )
    assert not_visible.status_code == 404
    relinked = client.post(
        f"/api/coverage/activities/{activity_id}/links",
        {"recording_id": str(wrong.pk), "reason": "核实后确认属于本次送达"},
        content_type="application/json",
    )
    assert relinked.status_code == 201 and relinked.json()["verdict"] == "compliant"
    assert (
        AuditEvent.objects.filter(
            action="coverage.link_added", object_id=activity_id, data__source="manual"
        ).count()
        == 1
    )


def test_recheck_on_store_touches_only_affected_activities(world: World) -> None:
    assert coverage_on_recording_stored in AFTER_STORED_HOOKS
    target = closed_activity(world, stage="送达", officers=[world.alice])
    bystander = closed_activity(world, stage="送达", officers=[world.bob], start="2026-03-02 09:00")
    later = closed_activity(world, stage="送达", officers=[world.alice], start="2026-03-02 15:00")
    before = {a: evaluation(a).evaluated_at for a in (target, bystander, later)}
    start = at("2026-03-02 09:00")
    recording = make_recording(world.alice_device, world.alice, start, start + 30 * MINUTE)
    assert coverage_on_recording_stored(recording.pk) == [Activity.objects.get(pk=target).pk]
    assert evaluation(target).verdict == "compliant"
    assert evaluation(bystander).evaluated_at == before[bystander]
    assert evaluation(later).evaluated_at == before[later]

    # Time corrected (e.g. the clock was off by 6 hours): moves to the afternoon activity.
    Recording.objects.filter(pk=recording.pk).update(
        started_at=at("2026-03-02 15:00"), ended_at=at("2026-03-02 15:30")
    )
    affected = coverage_on_recording_time_changed(recording.pk)
    assert {str(a) for a in affected} == {target, later}
    assert evaluation(target).verdict == "not_recorded"
    assert evaluation(later).verdict == "compliant"

    # Removed: the activity no longer counts it.
    coverage_on_recording_removed(recording.pk)
    assert evaluation(later).verdict == "not_recorded"
    assert not RecordingLink.objects.filter(recording=recording).exists()


def test_not_yet_stored_recordings_are_pending_not_counted(world: World) -> None:
    start = at("2026-03-02 09:00")
    announced = make_recording(
        world.alice_device, world.alice, start, start + 30 * MINUTE, state=RecordingState.ANNOUNCED
    )
    activity_id = closed_activity(world, stage="送达", officers=[world.alice])
    result = evaluation(activity_id)
    assert result.verdict == "not_recorded"
    assert result.detail["recordings_pending_storage"] == 1
    Recording.objects.filter(pk=announced.pk).update(state=RecordingState.STORED)
    coverage_on_recording_stored(announced.pk)
    assert evaluation(activity_id).verdict == "compliant"


def test_end_to_end_store_with_device_clock_three_hours_slow(
    world: World, s3: Any, staging_dir: Path
) -> None:
    """Manifest from a camera whose clock is 3 h behind, upload, store: the store hook links
    the corrected recording and re-checks the activity."""
    now = timezone.now().replace(microsecond=0)
    # The camera was handed to the officer yesterday (recordings are attributed by time).
    DeviceAssignment.objects.filter(device=world.alice_device).update(
        starts_at=now - datetime.timedelta(days=1)
    )
    response = create_activity(
        client_for(world.supervisor),
        stage="送达",
        officers=[world.alice],
        start=now - 10 * MINUTE,
        stop=now + 20 * MINUTE,
        unit_id=world.office.pk,
    )
    activity_id = response.json()["id"]
    assert evaluation(activity_id).verdict == "not_recorded"
    skew = datetime.timedelta(hours=3)
    data, digest = random_clip()
    clip = {
        "clip_id": "SLOW-1",
        "file_name": "slow.mp4",
        "size": len(data),
        "sha256": digest,
        "recorded_start": (now - 10 * MINUTE - skew).isoformat(),
        "recorded_end": (now + 20 * MINUTE - skew).isoformat(),
        "media_kind": "video",
    }
    manifest = Client().post(
        "/api/sync/v1/manifest",
        {"device_time": (timezone.now() - skew).isoformat(), "clips": [clip]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {world.alice_token}"},
    )
    assert manifest.status_code == 200, manifest.content
    recording = Recording.objects.get(clip_id="SLOW-1")
    assert abs(recording.started_at - (now - 10 * MINUTE)) < datetime.timedelta(seconds=5)
    upload = Upload.objects.get(recording=recording)
    upload.staging_path.parent.mkdir(parents=True, exist_ok=True)
    upload.staging_path.write_bytes(data)
    Upload.objects.filter(pk=upload.pk).update(offset=len(data))
    with TestCase.captureOnCommitCallbacks(execute=True):
        recording_upload_received(upload_id=upload.pk, sha256=hashlib.sha256(data).hexdigest())
    recording.refresh_from_db()
    assert recording.state == RecordingState.STORED
    result = evaluation(activity_id)
    # Up to a few seconds of clock measurement: within the 30 s graces.
    assert result.verdict == "compliant", result.reasons_zh
    assert RecordingLink.objects.filter(activity_id=activity_id, recording=recording).exists()


def test_recheck_command_shows_progress_and_redoes_the_range(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = closed_activity(world, stage="送达", officers=[world.alice])
    outside = closed_activity(world, stage="送达", officers=[world.alice], start="2026-03-05 09:00")
    start = at("2026-03-02 09:00")
    # Stored behind the hooks' back (e.g. restored from backup): only a re-check sees it.
    make_recording(world.alice_device, world.alice, start, start + 30 * MINUTE)
    make_recording(world.alice_device, world.alice, at("2026-03-05 09:00"), at("2026-03-05 09:30"))
    call_command("coverage_recheck", "--from", "2026-03-01", "--to", "2026-03-02")
    captured = capsys.readouterr()
    assert "re-checked 1 activities" in captured.out
    assert "[##############################] 1/1" in captured.err
    assert evaluation(inside).verdict == "compliant"
    assert evaluation(outside).verdict == "not_recorded"


def test_a_destroyed_recording_still_covers_its_activity(world: World) -> None:
    """Destroyed after its retention (retention/destruction.py): the recording was in
    custody when it mattered; a later re-check neither loses it nor calls it pending."""
    from backend.coverage.services import coverage_evaluate

    start = at("2026-03-02 09:00")
    recording = make_recording(world.alice_device, world.alice, start, start + 30 * MINUTE)
    activity_id = closed_activity(world, stage="送达", officers=[world.alice])
    assert evaluation(activity_id).verdict == "compliant"
    Recording.objects.filter(pk=recording.pk).update(state=RecordingState.DESTROYED)
    result = coverage_evaluate(activity_id=activity_id)
    assert result.verdict == "compliant"
    assert result.detail["recordings_pending_storage"] == 0
