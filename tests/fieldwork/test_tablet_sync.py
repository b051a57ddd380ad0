"""Tablet record sync: exactly once, conflicts, tombstones, scope, bad input."""

from __future__ import annotations

import copy
import datetime
import uuid
from typing import Any

import pytest
from django.test import Client

from backend.audit.models import AuditEvent
from backend.audit.services import Actor
from backend.corrections.models import Contact
from backend.devices.services import device_revoke
from mobile_contract.tablet_simulator import PULL, PUSH, Tablet, now_iso
from sync.records.models import AppliedMutation, SyncRecord
from sync.records.schemas import PushOut
from tests.factories import make_device, make_officer
from tests.fieldwork.conftest import World, checkin_data, django_transport

pytestmark = pytest.mark.django_db


def _statuses(body: dict[str, Any]) -> list[str]:
    return [r["status"] for r in body["results"]]


def test_first_pull_gets_own_office_subjects_only(world: World) -> None:
    _pages, _count = world.north.tablet.pull_all()
    kinds = {(r["kind"], r["data"].get("name")) for r in world.north.tablet.records.values()}
    assert kinds == {("subject", "李四")}
    assert str(world.north.subject.pk) in world.north.tablet.records
    assert str(world.south.subject.pk) not in world.north.tablet.records
    subject = world.north.tablet.records[str(world.north.subject.pk)]
    assert [s["kind"] for s in subject["data"]["schedules"]] == ["check_in", "home_visit"]


def test_push_creates_checkin_and_other_tablets_pull_it(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    north = world.north
    mutation = north.tablet.put("check_in", checkin_data(north.subject))
    with django_capture_on_commit_callbacks(execute=True):
        status, body = north.tablet.push()
    assert status == 200 and _statuses(body) == ["applied"]
    assert body["results"][0]["version"] >= 1
    contact = Contact.objects.get(pk=mutation["record_id"])
    assert contact.kind == "check_in" and contact.officer == north.officer
    assert contact.device == north.device
    # the coverage activity (record list row 9) was created after commit
    assert contact.activity is not None
    assert (contact.activity.category, contact.activity.stage) == ("社区矫正", "报到")
    # a colleague's tablet in the same office sees it; the other office does not
    colleague = make_officer(north.unit, name="同事")
    _device, token = make_device(officer=colleague, kind="tablet")
    post, get = django_transport(Client(), token)
    mate = Tablet(post=post, get=get)
    mate.pull_all()
    assert mate.records[mutation["record_id"]]["data"]["identity_method"] == "id_card"
    world.south.tablet.pull_all()
    assert mutation["record_id"] not in world.south.tablet.records


def test_replayed_batch_changes_nothing_and_answers_the_same(world: World) -> None:
    north = world.north
    north.tablet.put("check_in", checkin_data(north.subject))
    north.tablet.put("talk", checkin_data(north.subject, identity_method=""))
    batch = copy.deepcopy(north.tablet.outbox)
    status, first = north.tablet.push(batch)
    assert status == 200 and _statuses(first) == ["applied", "applied"]
    versions = list(SyncRecord.objects.order_by("version").values_list("id", "version"))
    audit_count = AuditEvent.objects.count()
    status, again = north.tablet.push(batch)
    assert status == 200
    assert again["results"] == first["results"]
    assert list(SyncRecord.objects.order_by("version").values_list("id", "version")) == versions
    assert AuditEvent.objects.count() == audit_count
    assert Contact.objects.count() == 2
    assert AppliedMutation.objects.count() == 2


def test_duplicate_mutation_inside_one_batch_is_applied_once(world: World) -> None:
    north = world.north
    m = north.tablet.put("check_in", checkin_data(north.subject))
    status, body = north.tablet.push([m, m])
    assert status == 200 and body["results"][0] == body["results"][1]
    assert Contact.objects.count() == 1


def test_reused_mutation_id_with_other_content_is_refused(world: World) -> None:
    north = world.north
    m = north.tablet.put("check_in", checkin_data(north.subject))
    north.tablet.push([m])
    changed = {**m, "data": {**m["data"], "notes": "改过"}}
    _status, body = north.tablet.push([changed])
    assert body["results"][0]["code"] == "mutation_id_reused"
    assert Contact.objects.get().notes == "按时报到"


def test_reordered_batches_converge(world: World) -> None:
    """Batch 2 edits a record created in batch 1 but arrives first: it is answered `retry`
    (not stored), and applies when sent again after batch 1."""
    north = world.north
    record_id = str(uuid.uuid4())
    create = north.tablet.put("check_in", checkin_data(north.subject), record_id=record_id)
    north.tablet.outbox.clear()
    # The tablet learnt version v from an earlier (lost) answer; simulate by pushing batch 1
    # from another "copy" later. First, batch 2 arrives with a base version.
    edit = {
        **create,
        "mutation_id": str(uuid.uuid4()),
        "base_version": 1,
        "data": {**create["data"], "notes": "补充说明"},
    }
    status, early = north.tablet.push([edit])
    assert _statuses(early) == ["retry"] and early["results"][0]["code"] == "record_not_found"
    assert _as_push_out(early) == early
    assert not AppliedMutation.objects.filter(mutation_id=edit["mutation_id"]).exists()
    status, body1 = north.tablet.push([create])
    version = body1["results"][0]["version"]
    edit["base_version"] = version
    _status, late = north.tablet.push([edit])
    assert _statuses(late) == ["applied"]
    assert Contact.objects.get(pk=record_id).notes == "补充说明"


def test_independent_batches_in_either_order_give_the_same_state(world: World) -> None:
    north = world.north
    a = north.tablet.put("check_in", checkin_data(north.subject, notes="A"))
    b = north.tablet.put("home_visit", checkin_data(north.subject, notes="B", identity_method=""))
    north.tablet.outbox.clear()
    assert _statuses(north.tablet.push([b])[1]) == ["applied"]
    assert _statuses(north.tablet.push([a])[1]) == ["applied"]
    assert sorted(Contact.objects.values_list("notes", flat=True)) == ["A", "B"]


def _as_push_out(body: dict[str, Any]) -> dict[str, Any]:
    """The answer as PushOut reads it, with the server time as sent (format checked apart)."""
    parsed = PushOut.model_validate(body)
    assert parsed.server_time.tzinfo is not None and body["server_time"].endswith("Z")
    return {
        "server_time": body["server_time"],
        **parsed.model_dump(mode="json", exclude={"server_time"}),
    }


def test_half_invalid_batch_applies_the_valid_half(world: World) -> None:
    north = world.north
    far_future = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=400)).isoformat()
    good1 = north.tablet.put("check_in", checkin_data(north.subject))
    bad_future = north.tablet.put(
        "check_in", checkin_data(north.subject, started_at=far_future, ended_at=far_future)
    )
    good2 = north.tablet.put("talk", checkin_data(north.subject, identity_method=""))
    bad_other_office = north.tablet.put("check_in", checkin_data(world.south.subject))
    bad_schema = north.tablet.put("check_in", {"subject_id": "not-a-uuid"})
    bad_kind = north.tablet.put("parking_ticket", {})
    bad_identity = north.tablet.put("check_in", checkin_data(north.subject, identity_method=""))
    status, body = north.tablet.push()
    assert status == 200
    by_id = {r["mutation_id"]: r for r in body["results"]}
    assert by_id[good1["mutation_id"]]["status"] == "applied"
    assert by_id[good2["mutation_id"]]["status"] == "applied"
    assert by_id[bad_future["mutation_id"]]["code"] == "timestamp_in_future"
    assert by_id[bad_future["mutation_id"]]["details"]["field"] == "started_at"
    assert by_id[bad_other_office["mutation_id"]]["code"] == "subject_out_of_scope"
    assert by_id[bad_schema["mutation_id"]]["code"] == "invalid_record"
    assert by_id[bad_kind["mutation_id"]]["code"] == "unknown_kind"
    assert by_id[bad_identity["mutation_id"]]["code"] == "identity_method_required"
    assert [r["status"] for r in body["results"]].count("rejected") == 5
    # the answer is encoded without ninja's response validation: it must still be PushOut
    assert _as_push_out(body) == body
    assert set(Contact.objects.values_list("pk", flat=True)) == {
        uuid.UUID(good1["record_id"]),
        uuid.UUID(good2["record_id"]),
    }
    # the other office's subject got nothing
    assert not Contact.objects.filter(subject=world.south.subject).exists()


def test_device_clock_offset_corrects_times_but_not_future_ones(world: World) -> None:
    """A tablet whose whole clock runs 2 hours ahead is corrected, not refused."""
    north = world.north
    ahead = datetime.timedelta(hours=2)
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20) + ahead
    data = checkin_data(
        north.subject,
        started_at=start.isoformat(),
        ended_at=(start + datetime.timedelta(minutes=5)).isoformat(),
    )
    m = north.tablet.put("check_in", data)
    device_now = (datetime.datetime.now(datetime.UTC) + ahead).isoformat()
    _status, body = north.tablet.post(PUSH, {"device_time": device_now, "mutations": [m]})
    assert _statuses(body) == ["applied"]
    contact = Contact.objects.get()
    assert abs((contact.started_at - (start - ahead)).total_seconds()) < 5
    assert contact.device_started_at == start


def test_conflicting_edit_is_not_applied_and_gets_the_server_copy(world: World) -> None:
    north = world.north
    m = north.tablet.put("check_in", checkin_data(north.subject, notes="原始"))
    north.tablet.push()
    colleague = make_officer(north.unit, name="同事")
    _device, token = make_device(officer=colleague, kind="tablet")
    post, get = django_transport(Client(), token)
    mate = Tablet(post=post, get=get)
    mate.pull_all()
    # both edit version v; the colleague is first
    mate.put("check_in", {**m["data"], "notes": "同事修改"}, record_id=m["record_id"])
    assert _statuses(mate.push()[1]) == ["applied"]
    north.tablet.put("check_in", {**m["data"], "notes": "我的修改"}, record_id=m["record_id"])
    _status, body = north.tablet.push()
    result = body["results"][0]
    assert result["status"] == "conflict" and result["code"] == "version_conflict"
    assert result["server_copy"]["data"]["notes"] == "同事修改"
    assert _as_push_out(body) == body
    assert result["server_copy"]["version"] > north.tablet.records[m["record_id"]]["version"]
    assert Contact.objects.get().notes == "同事修改"
    # the client resolves: a new mutation on the server version applies
    north.tablet.records[m["record_id"]] = result["server_copy"]
    north.tablet.put("check_in", {**m["data"], "notes": "合并后"}, record_id=m["record_id"])
    assert _statuses(north.tablet.push()[1]) == ["applied"]
    assert Contact.objects.get().notes == "合并后"


def test_delete_propagates_as_tombstone(world: World) -> None:
    north = world.north
    m = north.tablet.put("home_visit", checkin_data(north.subject, identity_method=""))
    north.tablet.push()
    colleague = make_officer(north.unit, name="同事")
    _device, token = make_device(officer=colleague, kind="tablet")
    post, get = django_transport(Client(), token)
    mate = Tablet(post=post, get=get)
    mate.pull_all()
    assert mate.records[m["record_id"]]["deleted"] is False
    north.tablet.delete("home_visit", m["record_id"])
    assert _statuses(north.tablet.push()[1]) == ["applied"]
    mate.pull_all()
    assert mate.records[m["record_id"]]["deleted"] is True
    assert Contact.objects.get().deleted_at is not None
    # editing the deleted record is a conflict answered with the tombstone
    mate.put("home_visit", m["data"], record_id=m["record_id"])
    result = mate.push()[1]["results"][0]
    assert result["status"] == "conflict" and result["server_copy"]["deleted"] is True


def test_edit_of_another_offices_record_is_refused_without_leaking_it(world: World) -> None:
    south = world.south
    m = south.tablet.put("check_in", checkin_data(south.subject, notes="柳河"))
    south.tablet.push()
    version = SyncRecord.objects.get(pk=m["record_id"]).version
    intrusion = {
        **m,
        "mutation_id": str(uuid.uuid4()),
        "base_version": version,
        "data": checkin_data(world.north.subject),
    }
    _status, body = world.north.tablet.push([intrusion])
    result = body["results"][0]
    assert result["status"] == "rejected" and result["code"] == "record_out_of_scope"
    assert "server_copy" not in result or result["server_copy"] is None
    assert Contact.objects.get(pk=m["record_id"]).notes == "柳河"


def test_subjects_are_read_only_on_tablets(world: World) -> None:
    north = world.north
    north.tablet.pull_all()
    north.tablet.put("subject", {"name": "改名"}, record_id=str(north.subject.pk))
    result = north.tablet.push()[1]["results"][0]
    assert result["code"] == "read_only_kind"


def test_two_changes_of_one_record_in_one_batch(world: World) -> None:
    north = world.north
    m = north.tablet.put("check_in", checkin_data(north.subject))
    second = {**m, "mutation_id": str(uuid.uuid4()), "data": {**m["data"], "notes": "x"}}
    body = north.tablet.push([m, second])[1]
    assert _statuses(body) == ["applied", "rejected"]
    assert body["results"][1]["code"] == "record_already_in_batch"


def test_week_offline_tablet_catches_up_page_by_page(world: World) -> None:
    north = world.north
    north.tablet.pull_all()
    cursor = north.tablet.cursor
    colleague = make_officer(north.unit, name="同事")
    _device, token = make_device(officer=colleague, kind="tablet")
    post, get = django_transport(Client(), token)
    mate = Tablet(post=post, get=get)
    for day in range(7):
        for _ in range(5):
            start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=7 - day)
            mate.put(
                "talk",
                checkin_data(
                    north.subject,
                    identity_method="",
                    started_at=start.isoformat(),
                    ended_at=(start + datetime.timedelta(minutes=30)).isoformat(),
                ),
            )
        assert set(_statuses(mate.push()[1])) == {"applied"}
    north.tablet.cursor = cursor
    pages, records = north.tablet.pull_all(limit=10)
    assert records == 35 and pages == 4
    assert sum(1 for r in north.tablet.records.values() if r["kind"] == "talk") == 35


def test_pull_cursor_is_validated(world: World) -> None:
    status, body = world.north.tablet.get(PULL, {"cursor": "-1"})
    assert status == 400 and body["code"] == "invalid_cursor"
    status, body = world.north.tablet.get(PULL, {"cursor": "abc"})
    assert status == 400 and body["code"] == "invalid_cursor"


def test_naive_device_time_and_oversized_batch(world: World) -> None:
    status, body = world.north.tablet.post(
        PUSH, {"device_time": "2026-11-23T10:00:00", "mutations": []}
    )
    assert status == 422 and body["code"] == "validation_error"
    m = world.north.tablet.put("check_in", checkin_data(world.north.subject))
    many = [{**m, "mutation_id": str(uuid.uuid4())} for _ in range(501)]
    status, body = world.north.tablet.post(
        PUSH, {"device_time": datetime.datetime.now(datetime.UTC).isoformat(), "mutations": many}
    )
    assert status == 422 and body["code"] == "validation_error"


def test_naive_timestamp_in_data_is_rejected_per_mutation(world: World) -> None:
    north = world.north
    north.tablet.put("check_in", checkin_data(north.subject, started_at="2026-11-23T10:00:00"))
    result = north.tablet.push()[1]["results"][0]
    assert result["code"] == "naive_timestamp"


def test_device_auth_kind_and_assignment(world: World) -> None:
    client = Client()
    response = client.get(PULL, {"cursor": "0"}, HTTP_AUTHORIZATION="Bearer fvd_nope")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    _camera, token = make_device(officer=world.north.officer, kind="body_camera")
    post, get = django_transport(client, token)
    status, body = get(PULL, {"cursor": "0"})
    assert status == 403 and body["code"] == "device_kind_not_allowed"
    _spare, token = make_device(kind="tablet")
    _post, get = django_transport(client, token)
    status, body = get(PULL, {"cursor": "0"})
    assert status == 403 and body["code"] == "device_unassigned"
    device_revoke(device=world.north.device, actor=Actor.system())
    status, body = world.north.tablet.get(PULL, {"cursor": "0"})
    assert status == 401


def test_database_error_in_one_mutation_refuses_only_that_one(world: World) -> None:
    """A record id already taken in the domain table (but unknown to sync) makes the fast
    pass fail; the batch is redone with savepoints and only that mutation is refused."""
    north = world.north
    taken = uuid.uuid4()
    now = datetime.datetime.now(datetime.UTC)
    Contact.objects.create(
        id=taken,
        kind="talk",
        subject=north.subject,
        office=north.unit,
        officer=north.officer,
        started_at=now,
        ended_at=now,
    )
    a = north.tablet.put("check_in", checkin_data(north.subject, notes="A"))
    clash = north.tablet.put(
        "talk", checkin_data(north.subject, identity_method=""), record_id=str(taken)
    )
    b = north.tablet.put("check_in", checkin_data(north.subject, notes="B"))
    body = north.tablet.push()[1]
    assert [r["status"] for r in body["results"]] == ["applied", "rejected", "applied"]
    assert body["results"][1]["code"] == "record_id_taken"
    assert set(Contact.objects.values_list("pk", flat=True)) == {
        taken,
        uuid.UUID(a["record_id"]),
        uuid.UUID(b["record_id"]),
    }
    assert clash["record_id"] == str(taken)


def test_colleague_edit_keeps_times_and_who_logged_it(world: World) -> None:
    """A colleague whose tablet clock runs 2 h ahead edits the notes of a pulled check-in:
    the times, sent back as pulled, are not corrected again; the officer and device that
    logged it stay; only a time the colleague actually changed is corrected."""
    north = world.north
    m = north.tablet.put("check_in", checkin_data(north.subject, notes="原始"))
    assert _statuses(north.tablet.push()[1]) == ["applied"]
    before = Contact.objects.get(pk=m["record_id"])
    colleague = make_officer(north.unit, name="同事")
    _device, token = make_device(officer=colleague, kind="tablet")
    post, get = django_transport(Client(), token)
    mate = Tablet(post=post, get=get)
    mate.pull_all()
    pulled = mate.records[m["record_id"]]["data"]
    writable = {k: pulled[k] for k in m["data"]}
    ahead = datetime.timedelta(hours=2)
    device_now = (datetime.datetime.now(datetime.UTC) + ahead).isoformat()
    edit = mate.put("check_in", {**writable, "notes": "同事补充"}, record_id=m["record_id"])
    _status, body = mate.post(PUSH, {"device_time": device_now, "mutations": [edit]})
    assert _statuses(body) == ["applied"]
    after = Contact.objects.get(pk=m["record_id"])
    assert after.notes == "同事补充"
    assert (after.started_at, after.ended_at) == (before.started_at, before.ended_at)
    assert (after.device_started_at, after.device_ended_at) == (
        before.device_started_at,
        before.device_ended_at,
    )
    assert (after.officer_id, after.device_id) == (north.officer.pk, north.device.pk)
    # the original tablet re-sends its own first reading: kept as stored, too
    north.tablet.pull_all()
    again = north.tablet.put("check_in", {**m["data"], "notes": "再改"}, record_id=m["record_id"])
    later = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=7)).isoformat()
    _status, body = north.tablet.post(PUSH, {"device_time": later, "mutations": [again]})
    assert _statuses(body) == ["applied"]
    assert Contact.objects.get(pk=m["record_id"]).started_at == before.started_at
    # a changed end time is a new reading on the colleague's clock: corrected by 2 h
    mate.pull_all()
    new_end = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5) + ahead
    fix = mate.put(
        "check_in",
        {**writable, "notes": "同事补充", "ended_at": new_end.isoformat()},
        record_id=m["record_id"],
    )
    _status, body = mate.post(PUSH, {"device_time": device_now, "mutations": [fix]})
    assert _statuses(body) == ["applied"]
    corrected = Contact.objects.get(pk=m["record_id"]).ended_at
    assert abs((corrected - (new_end - ahead)).total_seconds()) < 5


def test_simulator_tablet_session_and_state_file(world: World, tmp_path: Any) -> None:
    """The simulator's tablet mode: log offline into the state file, then one sync session
    pushes (retrying out-of-order edits), keeps conflicts for a person, and pulls."""
    from mobile_contract import tablet_simulator

    north = world.north
    state = tmp_path / "tablet.json"
    code = tablet_simulator.main(
        ["log", "--state", str(state), "--kind", "check_in", "--subject", str(north.subject.pk),
         "--place", "青山镇司法所", "--identity-method", "id_card", "--latitude", "30.0",
         "--longitude", "120.0", "--notes", "离线登记"]
    )  # fmt: skip
    assert code == 0
    saved = __import__("json").loads(state.read_text("utf-8"))
    assert len(saved["outbox"]) == 1 and saved["cursor"] == "0"
    tablet = tablet_simulator.Tablet.from_state(saved, post=north.tablet.post, get=north.tablet.get)
    report = tablet.sync()
    assert report["outbox_left"] == 0 and report["conflicts"] == 0 and report["rejected"] == 0
    record_id = saved["outbox"][0]["record_id"]
    assert Contact.objects.get(pk=record_id).notes == "离线登记"
    assert tablet.records[record_id]["version"] >= 1 and int(tablet.cursor) >= 1
    # a colleague changes it first; our edit comes back as a conflict, kept for merging
    colleague = make_officer(north.unit, name="同事")
    _device, token = make_device(officer=colleague, kind="tablet")
    post, get = django_transport(Client(), token)
    mate = Tablet(post=post, get=get)
    mate.pull_all()
    data = saved["outbox"][0]["data"]
    mate.put("check_in", {**data, "notes": "同事先改"}, record_id=record_id)
    mate.sync()
    tablet.put("check_in", {**data, "notes": "我后改"}, record_id=record_id)
    report = tablet.sync()
    assert report["conflicts"] == 1 and report["outbox_left"] == 0
    assert tablet.conflicts[0]["answer"]["server_copy"]["data"]["notes"] == "同事先改"
    assert Contact.objects.get(pk=record_id).notes == "同事先改"
    assert tablet.records[record_id]["data"]["notes"] == "同事先改"  # pulled after


@pytest.mark.django_db(transaction=True)
def test_same_batch_sent_twice_at_once_applies_once(committed_world: World) -> None:
    """A tablet that timed out resends its batch while the first request is still being
    processed: the two requests race on PostgreSQL; the batch is applied once and both
    requests get the same answers."""
    import threading

    from django.db import connection

    north = committed_world.north
    for _ in range(20):
        north.tablet.put("talk", checkin_data(north.subject, identity_method=""))
    batch = copy.deepcopy(north.tablet.outbox)
    answers: list[Any] = []
    barrier = threading.Barrier(3)

    def send() -> None:
        try:
            post, _get = django_transport(Client(), north.token)
            barrier.wait()
            answers.append(post(PUSH, {"device_time": now_iso(), "mutations": batch}))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _body in answers] == [200, 200, 200]
    results = [body["results"] for _status, body in answers]
    assert results[0] == results[1] == results[2]
    assert {r["status"] for r in results[0]} == {"applied"}
    assert Contact.objects.count() == 20
    assert AppliedMutation.objects.count() == 20
    assert SyncRecord.objects.filter(kind="talk").count() == 20


def test_checkin_photo_goes_through_the_footage_upload(world: World, staging_dir: Any) -> None:
    """Item 9: the tablet's photo is announced in a manifest and uploaded with tus (the
    footage path, driven in-process), then the check-in refers to the `recording_id` the
    manifest answered; its GPS (taken 40 km from the reported place) flags the check-in."""
    import base64 as _b64
    import hashlib
    import os

    from asgiref.sync import async_to_sync

    from backend.footage.models import Recording, RecordingState
    from sync.tus.app import build_upload_app
    from sync.tus.testing import asgi_request

    north = world.north
    photo = os.urandom(50_000)
    taken = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=25)
    clip = {
        "clip_id": "IMG_0001",
        "file_name": "IMG_0001.jpg",
        "size": len(photo),
        "sha256": hashlib.sha256(photo).hexdigest(),
        "recorded_start": taken.isoformat(),
        "recorded_end": taken.isoformat(),
        "media_kind": "photo",
        "latitude": 30.36,
        "longitude": 120.0,
    }
    status, manifest = north.tablet.post(
        "/api/sync/v1/manifest", {"device_time": now_iso(), "clips": [clip]}
    )
    assert status == 200, manifest
    answer = manifest["clips"][0]
    assert answer["status"] == "missing"
    response = async_to_sync(asgi_request)(
        build_upload_app(),
        "PATCH",
        answer["upload_url"],
        headers={
            "Tus-Resumable": "1.0.0",
            "Authorization": f"Bearer {north.token}",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": "sha256 " + _b64.b64encode(hashlib.sha256(photo).digest()).decode(),
        },
        chunks=[photo],
    )
    assert response is not None and response.status == 204, response
    recording = Recording.objects.get(pk=answer["recording_id"])
    assert recording.state == RecordingState.VERIFIED and recording.device == north.device
    m = north.tablet.put(
        "check_in", checkin_data(north.subject, photo_recording_id=answer["recording_id"])
    )
    result = north.tablet.push()[1]["results"][0]
    assert result["status"] == "applied", result
    contact = Contact.objects.get(pk=m["record_id"])
    assert contact.photo_id == recording.pk
    assert contact.crosscheck_status == "mismatch"
    assert contact.crosscheck_findings[0]["code"] == "place_mismatch"


def test_tablet_handed_to_another_office_drops_the_old_offices_records(world: World) -> None:
    """Personal data stays with the office: the pull's `scope` changes when the tablet is
    handed to an officer of another office; the reference tablet wipes what it held and
    pulls the new office from cursor 0."""
    from django.utils import timezone

    from backend.devices.services import device_assign

    north = world.north
    north.tablet.pull_all()
    first_scope = north.tablet.scope
    assert first_scope == f"officer:{north.officer.pk}/unit:{north.unit.pk}"
    assert str(north.subject.pk) in north.tablet.records
    device_assign(
        device=north.device,
        officer=world.south.officer,
        starts_at=timezone.now(),
        actor=Actor.system(),
    )
    north.tablet.pull_all()
    assert north.tablet.scope != first_scope
    assert str(north.subject.pk) not in north.tablet.records
    assert str(world.south.subject.pk) in north.tablet.records


@pytest.mark.parametrize(
    "device_time",
    ["9999-12-31T23:59:59+08:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+00:00"],
)
def test_device_clock_out_of_range_is_a_400(world: World, device_time: str) -> None:
    """Issue 13 items 8/9: a year-9999 device clock gave a 500; year 1 was accepted."""
    m = world.north.tablet.put("check_in", checkin_data(world.north.subject))
    status, body = world.north.tablet.post(PUSH, {"device_time": device_time, "mutations": [m]})
    assert status == 400, body
    assert body["code"] == "device_clock_out_of_range"
    assert not Contact.objects.exists()
