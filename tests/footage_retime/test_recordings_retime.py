"""Correcting recording times after the fact: a body camera whose clock ran 3 hours slow
while the dock measured no offset. The corrected recordings must cover the activity they
really filmed; device times, bytes and everything refused stay untouched."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.audit.services import audit_verify
from backend.config.errors import InvalidInput, NotFound, PermissionDenied
from backend.coverage.models import CoverageEvaluation, LinkSource, RecordingLink
from backend.coverage.retime import recordings_retime
from backend.coverage.services import coverage_on_recording_stored
from backend.footage.models import Recording, RecordingTimeCorrection
from tests.coverage_integration.conftest import (
    World,
    at,
    client_for,
    create_activity,
    make_recording,
)
from tests.factories import make_device, make_user

pytestmark = pytest.mark.django_db
MINUTE = datetime.timedelta(minutes=1)
THREE_HOURS = datetime.timedelta(hours=3)


def verdict(activity_id: str) -> str:
    return CoverageEvaluation.objects.get(activity_id=activity_id).verdict


def delivery(world: World, start: str, officers: Any = None) -> str:
    """A closed 30-minute delivery (送达: must be recorded) of Alice's."""
    begin = at(start)
    response = create_activity(
        client_for(world.supervisor),
        stage="送达",
        officers=officers or [world.alice],
        start=begin,
        stop=begin + 30 * MINUTE,
        unit_id=world.office.pk,
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def slow_clip(world: World, real_start: str, *, device: Any = None) -> Recording:
    """A clip really filmed at ``real_start`` for 30 minutes by a camera 3 h slow, stored
    uncorrected (the offset measured at the dock was wrong), then linked by the store hook."""
    real = at(real_start)
    recording = make_recording(
        device or world.alice_device,
        world.alice,
        real - THREE_HOURS,
        real - THREE_HOURS + 30 * MINUTE,
    )
    coverage_on_recording_stored(recording.pk)
    recording.refresh_from_db()
    return recording


def auto_link_activities(recording: Recording) -> set[str]:
    return {
        str(a)
        for a in RecordingLink.objects.filter(
            recording=recording, source=LinkSource.AUTO, excluded=False
        ).values_list("activity_id", flat=True)
    }


def test_three_hours_slow_camera_corrected_covers_what_it_filmed_and_corrections_stack(
    world: World,
) -> None:
    filmed = delivery(world, "2026-03-02 12:00")  # what the camera really filmed
    wrong = delivery(world, "2026-03-02 09:00")  # where the slow clock put the clip
    recording = slow_clip(world, "2026-03-02 12:00")
    assert auto_link_activities(recording) == {wrong}
    assert verdict(wrong) == "compliant" and verdict(filmed) == "not_recorded"
    device_times = (recording.device_started_at, recording.device_ended_at)
    sha, size = recording.sha256, recording.size_bytes

    result = recordings_retime(
        actor_user=world.supervisor,
        recording_ids=[recording.pk],
        offset=THREE_HOURS,
        reason="该执法记录仪时钟慢3小时（对时记录缺失）",
    )

    recording.refresh_from_db()
    assert (recording.started_at, recording.ended_at) == (
        at("2026-03-02 12:00"),
        at("2026-03-02 12:30"),
    )
    assert (recording.device_started_at, recording.device_ended_at) == device_times
    assert (recording.sha256, recording.size_bytes) == (sha, size)
    assert recording.clock_offset_ms == 3 * 3600 * 1000
    # The automatic link moved; the verdicts swapped.
    assert auto_link_activities(recording) == {filmed}
    assert verdict(filmed) == "compliant" and verdict(wrong) == "not_recorded"
    assert {str(c.activity_id): (c.before, c.after) for c in result.verdict_changes} == {
        filmed: ("not_recorded", "compliant"),
        wrong: ("compliant", "not_recorded"),
    }
    # History row, audit events (the correction, the link removed and the link added).
    [row] = RecordingTimeCorrection.objects.filter(recording=recording)
    assert row.previous_started_at == at("2026-03-02 09:00")
    assert row.new_started_at == at("2026-03-02 12:00")
    assert row.offset == THREE_HOURS and row.corrected_by == world.supervisor
    [event] = AuditEvent.objects.filter(action="recording.time_corrected")
    assert event.object_id == str(recording.pk)
    assert event.actor_id == str(world.supervisor.pk)
    assert event.data["offset_seconds"] == 10800
    assert event.data["reason"] == "该执法记录仪时钟慢3小时（对时记录缺失）"
    assert event.data["batch_id"] == str(row.batch_id)
    assert AuditEvent.objects.filter(
        action="coverage.link_removed",
        object_id=wrong,
        data__recording_id=str(recording.pk),
        data__reason="recording time corrected",
    ).exists()
    assert AuditEvent.objects.filter(
        action="coverage.link_added", object_id=filmed, data__recording_id=str(recording.pk)
    ).exists()

    # A second correction stacks on the first (the clock was 2 h 50 min slow after all).
    recordings_retime(
        actor_user=world.supervisor,
        recording_ids=[str(recording.pk)],
        offset=datetime.timedelta(minutes=-10),
        reason="复核：实际慢2小时50分",
    )
    recording.refresh_from_db()
    assert recording.started_at == at("2026-03-02 11:50")
    assert (recording.device_started_at, recording.device_ended_at) == device_times
    first, second = RecordingTimeCorrection.objects.filter(recording=recording)
    assert second.previous_started_at == first.new_started_at == at("2026-03-02 12:00")
    assert second.new_started_at == at("2026-03-02 11:50")
    assert second.batch_id != first.batch_id
    assert recording.clock_offset_ms == (3 * 60 - 10) * 60 * 1000
    assert auto_link_activities(recording) == {filmed}
    assert verdict(filmed) == "early_stop"  # it now ends at 12:20, the delivery at 12:30
    assert AuditEvent.objects.filter(action="recording.time_corrected").count() == 2
    report = audit_verify()
    assert not report.problems, report.problems


def test_correction_places_a_recording_whose_clock_was_never_measured(world: World) -> None:
    """A device whose clock was never measured: its recording's time is unknown and the
    check cannot decide on it; once a person corrected the time, it counts as placed."""
    unmeasured, _token = make_device(officer=world.alice)
    filmed = delivery(world, "2026-03-02 12:00")
    wrong = delivery(world, "2026-03-02 09:00")
    recording = slow_clip(world, "2026-03-02 12:00", device=unmeasured)
    assert verdict(wrong) == "undecidable"
    assert verdict(filmed) == "not_recorded"
    recordings_retime(
        actor_user=world.supervisor,
        recording_ids=[recording.pk],
        offset=THREE_HOURS,
        reason="设备未对时，按画面时间校正",
    )
    evaluation = CoverageEvaluation.objects.get(activity_id=filmed)
    assert evaluation.verdict == "compliant"
    assert evaluation.unknown_offset_recordings == 0
    assert verdict(wrong) == "not_recorded"


def test_refused_corrections_change_nothing(world: World) -> None:
    recording = slow_clip(world, "2026-03-02 12:00")
    other_unit = make_recording(
        world.carol_device, world.carol, at("2026-03-02 09:00"), at("2026-03-02 09:30")
    )
    legal = make_user(role=Role.LEGAL_OFFICER, unit=world.bureau)
    events_before = AuditEvent.objects.count()
    attempts: list[tuple[Any, type[Exception], str]] = [
        ({"reason": "  ", "offset": THREE_HOURS}, InvalidInput, "reason_required"),
        (
            {"reason": "x", "offset": datetime.timedelta(days=8)},
            InvalidInput,
            "offset_out_of_range",
        ),
        (
            {"reason": "x", "offset": -datetime.timedelta(days=7, seconds=1)},
            InvalidInput,
            "offset_out_of_range",
        ),
        ({"reason": "x", "offset": datetime.timedelta(0)}, InvalidInput, "offset_zero"),
    ]
    for kwargs, error, code in attempts:
        with pytest.raises(error) as raised:
            recordings_retime(actor_user=world.supervisor, recording_ids=[recording.pk], **kwargs)
        assert raised.value.code == code
    for user in (world.alice_user, legal):  # they see the recording but may not correct it
        with pytest.raises(PermissionDenied) as denied:
            recordings_retime(
                actor_user=user, recording_ids=[recording.pk], offset=THREE_HOURS, reason="x"
            )
        assert denied.value.code == "time_correction_not_allowed"
    # Another unit's recording, alone or in a batch: not found, as the recording endpoints.
    for ids in ([other_unit.pk], [recording.pk, other_unit.pk]):
        with pytest.raises(NotFound) as hidden:
            recordings_retime(
                actor_user=world.supervisor, recording_ids=ids, offset=THREE_HOURS, reason="x"
            )
        assert hidden.value.code == "recording_not_found"
    assert not RecordingTimeCorrection.objects.exists()
    assert AuditEvent.objects.count() == events_before
    recording.refresh_from_db()
    assert recording.started_at == at("2026-03-02 09:00")


def test_api_time_correction(world: World) -> None:
    filmed = delivery(world, "2026-03-02 12:00")
    recording = slow_clip(world, "2026-03-02 12:00")
    url = f"/api/recordings/{recording.pk}/time-correction"
    supervisor = client_for(world.supervisor)

    def post(client: Any, body: dict[str, Any]) -> Any:
        return client.post(url, body, content_type="application/json")

    no_reason = post(supervisor, {"offset_seconds": 10800, "reason": ""})
    assert no_reason.status_code == 400
    assert no_reason.json()["code"] == "reason_required"
    absurd = post(supervisor, {"offset_seconds": 8 * 86400, "reason": "x"})
    assert absurd.status_code == 400
    assert set(absurd.json()) == {"code", "message", "details"}
    assert absurd.json()["code"] == "offset_out_of_range"
    assert absurd.json()["details"]["max_seconds"] == 7 * 86400
    officer = post(client_for(world.alice_user), {"offset_seconds": 10800, "reason": "x"})
    assert officer.status_code == 403
    assert officer.json()["code"] == "time_correction_not_allowed"
    # Another unit's supervisor: 404, exactly as reading the recording answers.
    stranger = client_for(world.other_supervisor)
    assert stranger.get(f"/api/recordings/{recording.pk}").status_code == 404
    hidden = post(stranger, {"offset_seconds": 10800, "reason": "x"})
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "recording_not_found"
    assert not RecordingTimeCorrection.objects.exists()

    done = post(supervisor, {"offset_seconds": 10800, "reason": "执法记录仪时钟慢3小时"})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["recording"]["started_at"].startswith("2026-03-02T04:00:00")  # 12:00 +08:00
    assert body["recording"]["device_started_at"].startswith("2026-03-02T01:00:00")
    assert [c["offset_seconds"] for c in body["recording"]["time_corrections"]] == [10800]
    assert body["recording"]["time_corrections"][0]["corrected_by"] == world.supervisor.username
    assert filmed in body["activities_rechecked"]
    assert {"activity_id": filmed, "before": "not_recorded", "after": "compliant"} in body[
        "verdict_changes"
    ]
    detail = supervisor.get(f"/api/recordings/{recording.pk}").json()
    assert len(detail["time_corrections"]) == 1


def test_recording_page_shows_the_correction_history(world: World) -> None:
    recording = slow_clip(world, "2026-03-02 12:00")
    client = client_for(world.supervisor)
    page = client.get(f"/recordings/{recording.pk}/")
    assert page.status_code == 200
    assert 'id="time-corrections"' not in page.content.decode()
    recordings_retime(
        actor_user=world.supervisor,
        recording_ids=[recording.pk],
        offset=THREE_HOURS,
        reason="执法记录仪时钟慢3小时",
    )
    html = client.get(f"/recordings/{recording.pk}/").content.decode()
    assert 'id="time-corrections"' in html
    assert "时间校正记录" in html and "执法记录仪时钟慢3小时" in html
    assert "10800 秒" in html
    assert (world.supervisor.get_full_name() or world.supervisor.username) in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get(f"/recordings/{recording.pk}/").content.decode()
    assert "Time corrections" in english and "10800 s" in english


def test_command_corrects_a_device_period_and_dry_run_writes_nothing(world: World) -> None:
    filmed = [delivery(world, "2026-03-02 12:00"), delivery(world, "2026-03-03 15:00")]
    inside = [slow_clip(world, "2026-03-02 12:00"), slow_clip(world, "2026-03-03 15:00")]
    outside = slow_clip(world, "2026-03-10 12:00")  # after the clock was fixed
    args = [
        "--device",
        world.alice_device.serial,
        "--from",
        "2026-03-01T00:00:00+08:00",
        "--to",
        "2026-03-08T00:00:00+08:00",
        "--offset-seconds",
        "10800",
        "--reason",
        "该执法记录仪3月1日至7日时钟慢3小时",
    ]
    snapshot = lambda: (  # noqa: E731
        list(Recording.objects.order_by("pk").values_list("pk", "started_at", "ended_at")),
        list(RecordingLink.objects.order_by("pk").values_list("pk", "activity_id", "recording_id")),
        list(CoverageEvaluation.objects.order_by("pk").values_list("pk", "verdict")),
        AuditEvent.objects.count(),
        RecordingTimeCorrection.objects.count(),
    )
    before = snapshot()
    out = io.StringIO()
    call_command("recordings_retime", *args, "--dry-run", stdout=out)
    assert "dry run" in out.getvalue()
    assert "2 recording(s)" in out.getvalue()
    assert "2 verdict(s) changed" in out.getvalue()
    assert snapshot() == before
    assert all(verdict(a) == "not_recorded" for a in filmed)

    out = io.StringIO()
    call_command("recordings_retime", *args, stdout=out)
    assert "2 recording(s)" in out.getvalue() and "dry run" not in out.getvalue()
    assert all(verdict(a) == "compliant" for a in filmed)
    for recording in inside:
        moved = Recording.objects.get(pk=recording.pk)
        assert moved.started_at == recording.started_at + THREE_HOURS
        assert moved.device_started_at == recording.device_started_at
    assert Recording.objects.get(pk=outside.pk).started_at == outside.started_at
    rows = RecordingTimeCorrection.objects.all()
    assert len(rows) == 2 and len({r.batch_id for r in rows}) == 1
    assert all(r.corrected_by is None for r in rows)
    events = AuditEvent.objects.filter(action="recording.time_corrected")
    assert {e.object_id for e in events} == {str(r.pk) for r in inside}
    assert {e.actor_kind for e in events} == {"system"}

    with pytest.raises(CommandError, match="offset_out_of_range"):
        call_command(
            "recordings_retime", *args[:-4], "--offset-seconds", "-900000", "--reason", "x"
        )


def test_a_correction_into_another_officers_shift_reattributes_the_recording(
    world: World,
) -> None:
    from backend.devices.models import DeviceAssignment

    # The camera went from Alice to Bob at 10:00; its clock was 3 h slow all day.
    device = world.alice_device
    DeviceAssignment.objects.filter(device=device).delete()
    DeviceAssignment.objects.create(
        device=device,
        officer=world.alice,
        starts_at=at("2026-03-01 00:00"),
        ends_at=at("2026-03-02 10:00"),
    )
    DeviceAssignment.objects.create(
        device=device, officer=world.bob, starts_at=at("2026-03-02 10:00")
    )
    bobs = delivery(world, "2026-03-02 12:00", officers=[world.bob])
    alices = delivery(world, "2026-03-02 09:00")
    recording = slow_clip(world, "2026-03-02 12:00")  # stored at 09:00, as Alice's
    assert recording.officer_id == world.alice.pk
    assert auto_link_activities(recording) == {alices}

    recordings_retime(
        actor_user=world.supervisor,
        recording_ids=[recording.pk],
        offset=THREE_HOURS,
        reason="时钟慢3小时：12:00 时设备已交王芳",
    )

    recording.refresh_from_db()
    assert recording.officer_id == world.bob.pk
    assert auto_link_activities(recording) == {bobs}
    assert RecordingLink.objects.get(recording=recording, activity_id=bobs).officer_id == (
        world.bob.pk
    )
    assert verdict(bobs) == "compliant" and verdict(alices) == "not_recorded"
    [event] = AuditEvent.objects.filter(action="recording.time_corrected")
    assert event.data["officer_id_before"] == world.alice.pk
    assert event.data["officer_id"] == world.bob.pk


def test_command_as_a_user_applies_that_users_role_and_scope(world: World) -> None:
    clip = slow_clip(world, "2026-03-02 12:00")
    args = [
        "--device",
        world.alice_device.serial,
        "--from",
        "2026-03-01T00:00:00+08:00",
        "--to",
        "2026-03-08T00:00:00+08:00",
        "--offset-seconds",
        "10800",
        "--reason",
        "时钟慢3小时",
    ]
    for refused in (world.alice_user.username, world.other_supervisor.username, "nobody"):
        with pytest.raises(CommandError):
            call_command("recordings_retime", *args, "--user", refused, stdout=io.StringIO())
    assert not RecordingTimeCorrection.objects.exists()
    call_command(
        "recordings_retime", *args, "--user", world.supervisor.username, stdout=io.StringIO()
    )
    [row] = RecordingTimeCorrection.objects.all()
    assert row.recording_id == clip.pk and row.corrected_by == world.supervisor
    event = AuditEvent.objects.get(action="recording.time_corrected")
    assert event.actor_kind == "user" and event.actor_id == str(world.supervisor.pk)
