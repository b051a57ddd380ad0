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
from sync.records.models import AppliedMutation, SyncRecord
from tests.factories import make_device, make_officer
from tests.fieldwork.conftest import World, checkin_data, django_transport
from tests.fieldwork.tablet_client import PULL, PUSH, Tablet

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
