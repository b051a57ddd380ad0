"""A dock (采集工作站) syncs on behalf of the cameras in its slots (POST /api/sync/v1/dock/manifest).

Clips belong to the camera and to its holder at the corrected recording time, as if the
camera had synced itself; a dock acts only for its own unit's cameras; an unknown camera is
registered unassigned and its clips kept; refusals are precise and change nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Unit
from backend.audit.models import AuditEvent
from backend.audit.services import Actor
from backend.devices.models import ClockReading, Device, DeviceState, DockPresence
from backend.devices.services import device_enroll, device_revoke
from backend.footage.models import Recording
from backend.review.audit_wording import VERBS
from sync.docks import dock_camera_assign
from sync.models import Upload
from tests.factories import make_device, make_officer, make_unit

pytestmark = pytest.mark.django_db

URL = "/api/sync/v1/dock/manifest"


def make_dock(unit: Unit | None) -> tuple[Device, str]:
    enrolment = device_enroll(
        kind="dock", serial=f"WS-{uuid.uuid4().hex[:8]}", unit=unit, actor=Actor.system()
    )
    return enrolment.device, enrolment.token


def clip(clip_id: str, start: datetime.datetime, size: int = 1000) -> dict[str, Any]:
    return {
        "clip_id": clip_id,
        "file_name": f"{clip_id}.MP4",
        "size": size,
        "sha256": hashlib.sha256(clip_id.encode()).hexdigest(),
        "recorded_start": start.isoformat(),
        "recorded_end": (start + datetime.timedelta(minutes=5)).isoformat(),
        "media_kind": "video",
    }


def post(token: str, body: dict[str, Any]) -> Any:
    return Client().post(
        URL, body, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


def camera_entry(serial: str, clips: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"kind": "body_camera", "serial": serial, "slot": "3", "clips": clips, **extra}


def test_clips_belong_to_the_camera_and_its_holder_at_recording_time() -> None:
    unit = make_unit()
    first, second = make_officer(unit, name="甲"), make_officer(unit, name="乙")
    camera, _token = make_device(officer=first, serial="DSJ-A1")
    # The camera changed hands an hour ago.
    from backend.devices.models import DeviceAssignment

    handover = timezone.now() - datetime.timedelta(hours=1)
    DeviceAssignment.objects.filter(device=camera).update(
        starts_at=handover - datetime.timedelta(days=1), ends_at=handover
    )
    DeviceAssignment.objects.create(device=camera, officer=second, starts_at=handover)
    dock, token = make_dock(unit)
    now = timezone.now()
    # The camera's clock runs 90 s slow against the workstation; the workstation is exact.
    camera_now = now - datetime.timedelta(seconds=90)
    early = clip("A1_0001", camera_now - datetime.timedelta(hours=3))
    late = clip("A1_0002", camera_now - datetime.timedelta(minutes=20))
    body = {
        "device_time": now.isoformat(),
        "cameras": [camera_entry("DSJ-A1", [early, late], camera_time=camera_now.isoformat())],
    }
    response = post(token, body)
    assert response.status_code == 200, response.content
    answer = response.json()["cameras"][0]
    dock_offset = response.json()["clock_offset_ms"]
    assert answer["camera_id"] == str(camera.pk) and answer["assignment"] == "assigned"
    assert answer["clock_source"] == "measured"
    assert answer["clock_offset_ms"] - dock_offset == 90_000
    assert [c["status"] for c in answer["clips"]] == ["missing", "missing"]
    by_clip = {r.clip_id: r for r in Recording.objects.filter(device=camera)}
    assert by_clip["A1_0001"].officer == first and by_clip["A1_0002"].officer == second
    # Times corrected by the camera's offset, as for a camera syncing itself.
    shift = by_clip["A1_0002"].started_at - by_clip["A1_0002"].device_started_at
    assert shift == datetime.timedelta(milliseconds=answer["clock_offset_ms"])
    assert ClockReading.objects.filter(device=camera).count() == 1
    # The uploads are the dock's: its credential writes them.
    assert set(Upload.objects.values_list("device_id", flat=True)) == {dock.pk}
    assert DockPresence.objects.get(dock=dock, camera=camera).pending_clips == 2
    entry = AuditEvent.objects.get(action="dock.manifest_synced")
    assert entry.object_id == str(camera.pk) and entry.actor_id == str(dock.pk)
    assert entry.data["camera_serial"] == "DSJ-A1" and entry.data["dock_serial"] == dock.serial
    # The same manifest again changes nothing and answers the same upload URLs.
    again = post(token, body).json()["cameras"][0]["clips"]
    assert [c["upload_url"] for c in again] == [c["upload_url"] for c in answer["clips"]]
    assert Recording.objects.filter(device=camera).count() == 2


def test_without_the_camera_clock_the_last_known_offset_then_the_docks() -> None:
    unit = make_unit()
    camera, _ = make_device(officer=make_officer(unit), serial="DSJ-C1")
    dock, token = make_dock(unit)
    now = timezone.now()
    # The workstation's clock is 10 s fast.
    body = {
        "device_time": (now + datetime.timedelta(seconds=10)).isoformat(),
        "cameras": [camera_entry("DSJ-C1", [clip("C1_1", now - datetime.timedelta(hours=1))])],
    }
    response = post(token, body).json()
    first = response["cameras"][0]
    assert first["clock_source"] == "dock"
    assert first["clock_offset_ms"] == response["clock_offset_ms"]
    assert -10_000 <= first["clock_offset_ms"] < 0
    Device.objects.filter(pk=camera.pk).update(last_clock_offset_ms=4_000)
    second = post(token, body).json()["cameras"][0]
    assert second["clock_source"] == "last_known" and second["clock_offset_ms"] == 4_000


def test_an_unknown_camera_is_registered_unassigned_and_its_clips_kept() -> None:
    unit = make_unit()
    dock, token = make_dock(unit)
    now = timezone.now()
    body = {
        "device_time": now.isoformat(),
        "cameras": [camera_entry("NEW-77", [clip("N_1", now - datetime.timedelta(hours=2))])],
    }
    response = post(token, body)
    assert response.status_code == 200, response.content
    answer = response.json()["cameras"][0]
    assert answer["assignment"] == "unassigned" and answer["clips"][0]["status"] == "missing"
    camera = Device.objects.get(kind="body_camera", serial="NEW-77")
    assert camera.unit == unit and camera.registered_by_dock == dock
    assert camera.token_hash is None and camera.state == DeviceState.ACTIVE
    recording = Recording.objects.get(device=camera)
    assert recording.officer is None
    registered = AuditEvent.objects.get(action="dock.camera_registered")
    assert registered.object_id == str(camera.pk) and registered.data["dock_id"] == str(dock.pk)
    # An administrator hands it to an officer from before the recording: attributed.
    officer = make_officer(unit)
    attributed = dock_camera_assign(
        camera=camera,
        officer=officer,
        starts_at=now - datetime.timedelta(days=1),
        actor=Actor.system(),
    )
    assert attributed == 1
    recording.refresh_from_db()
    assert recording.officer == officer
    assert post(token, body).json()["cameras"][0]["assignment"] == "assigned"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("other_unit_camera", 403, "camera_of_other_unit"),
        ("unitless_camera", 403, "camera_of_other_unit"),
        ("revoked_camera", 403, "camera_revoked"),
        ("camera_not_a_dock", 403, "not_a_dock"),
        ("dock_without_unit", 403, "dock_without_unit"),
        ("dock_on_camera_manifest", 403, "dock_must_name_cameras"),
        ("tablet_kind", 422, "validation_error"),
        ("duplicate_camera", 400, "duplicate_camera"),
        ("bad_token", 401, None),
    ],
)
def test_authorization_matrix(case: str, status: int, code: str | None) -> None:
    unit, other = make_unit(), make_unit()
    own_camera, camera_token = make_device(officer=make_officer(unit), serial="OWN-1")
    make_device(officer=make_officer(other), serial="FOREIGN-1")
    dock, token = make_dock(unit)
    now = timezone.now()
    clips = [clip("X_1", now - datetime.timedelta(hours=1))]
    cameras = [camera_entry("OWN-1", clips)]
    url = URL
    if case == "other_unit_camera":
        cameras = [camera_entry("OWN-1", clips), camera_entry("FOREIGN-1", clips)]
    elif case == "unitless_camera":
        Device.objects.filter(pk=own_camera.pk).update(unit=None)
    elif case == "revoked_camera":
        device_revoke(device=own_camera, actor=Actor.system())
    elif case == "camera_not_a_dock":
        token = camera_token
    elif case == "dock_without_unit":
        _dock, token = make_dock(None)
    elif case == "dock_on_camera_manifest":
        url = "/api/sync/v1/manifest"
    elif case == "tablet_kind":
        cameras = [{**camera_entry("OWN-1", clips), "kind": "tablet"}]
    elif case == "duplicate_camera":
        cameras = [camera_entry("OWN-1", clips), camera_entry("OWN-1", clips)]
    elif case == "bad_token":
        token = "fvd_not-a-token"
    body: dict[str, Any] = {"device_time": now.isoformat(), "cameras": cameras}
    if url != URL:
        body = {"device_time": now.isoformat(), "clips": clips}
    response = Client().post(
        url, body, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == status, response.content
    if code is not None:
        assert response.json()["code"] == code
    # A refusal changes nothing: no recording, no upload, no presence (the own camera of
    # the mixed manifest included).
    assert not Recording.objects.exists() and not Upload.objects.exists()
    assert not DockPresence.objects.exists()
    if code in ("camera_of_other_unit", "camera_revoked"):
        refused = AuditEvent.objects.get(action="dock.camera_refused")
        assert refused.data["dock_id"] == str(dock.pk) and refused.data["code"] == code


def test_a_camera_first_registered_by_another_units_dock_is_refused_here() -> None:
    unit, other = make_unit(), make_unit()
    _dock_a, token_a = make_dock(unit)
    _dock_b, token_b = make_dock(other)
    now = timezone.now()
    body = {
        "device_time": now.isoformat(),
        "cameras": [camera_entry("ROAM-1", [clip("R_1", now - datetime.timedelta(hours=1))])],
    }
    assert post(token_a, body).status_code == 200
    refused = post(token_b, body)
    assert refused.status_code == 403 and refused.json()["code"] == "camera_of_other_unit"
    assert Recording.objects.count() == 1


def test_every_dock_action_has_wording() -> None:
    for action in (
        "dock.camera_registered",
        "dock.camera_refused",
        "dock.manifest_synced",
        "dock.camera_assigned",
    ):
        assert action in VERBS


def test_a_dock_is_enrolled_to_a_unit_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from django.core.management import CommandError, call_command

    unit = make_unit("城关司法所")
    with pytest.raises(CommandError, match="--unit"):
        call_command("device_enroll", "--kind", "dock", "--serial", "WS-CMD")
    call_command(
        "device_enroll", "--kind", "dock", "--serial", "WS-CMD", "--unit", "城关司法所", "--json"
    )
    token = json.loads(capsys.readouterr().out)["token"]
    assert Device.objects.get(serial="WS-CMD").unit == unit
    now = timezone.now()
    body = {"device_time": now.isoformat(), "cameras": [camera_entry("CMD-CAM", [])]}
    assert post(token, body).status_code == 200
