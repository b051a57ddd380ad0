"""Activities: API (users and devices), bad input, 持证上岗 flags, CSV import."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from backend.audit.models import AuditEvent
from backend.enforcement.models import Activity, ActivityMoment
from tests.coverage_integration.conftest import (
    World,
    at,
    client_for,
    create_activity,
    moment,
)
from tests.factories import make_officer

pytestmark = pytest.mark.django_db


def test_stop_before_start_is_refused(world: World) -> None:
    client = client_for(world.supervisor)
    response = create_activity(
        client,
        officers=[world.alice, world.bob],
        start=at("2026-03-02 10:00"),
        stop=at("2026-03-02 09:59"),
        unit_id=world.office.pk,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "stop_before_start"
    assert Activity.objects.count() == 0
    ok = create_activity(
        client,
        officers=[world.alice, world.bob],
        start=at("2026-03-02 10:00"),
        unit_id=world.office.pk,
    )
    assert ok.status_code == 201 and ok.json()["state"] == "open"
    closing = client.post(
        f"/api/enforcement/activities/{ok.json()['id']}/close",
        {"stop": moment(at("2026-03-02 08:00"))},
        content_type="application/json",
    )
    assert closing.status_code == 400 and closing.json()["code"] == "stop_before_start"
    assert Activity.objects.get().state == "open"


def test_unknown_officers_and_bad_moments(world: World) -> None:
    client = client_for(world.supervisor)
    unknown = client.post(
        "/api/enforcement/activities",
        {
            "category": "行政处罚",
            "stage": "送达",
            "officer_ids": [world.alice.pk, 999999],
            "officer_certificates": ["NOPE-1"],
            "start": moment(at("2026-03-02 10:00")),
            "unit_id": world.office.pk,
        },
        content_type="application/json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "unknown_officers"
    assert set(unknown.json()["details"]["officers"]) == {"999999", "NOPE-1"}
    manual = create_activity(
        client,
        stage="送达",
        officers=[world.alice],
        unit_id=world.office.pk,
        start=at("2026-03-02 10:00"),
        moments=[moment(at("2026-03-02 10:05"), source="manual")],
    )
    assert manual.status_code == 400 and manual.json()["code"] == "manual_moment_needs_reason"
    naive = client.post(
        "/api/enforcement/activities",
        {
            "category": "行政处罚",
            "stage": "送达",
            "officer_ids": [world.alice.pk],
            "start": {"occurred_at": "2026-03-02T10:00:00", "source": "tablet"},
            "unit_id": world.office.pk,
        },
        content_type="application/json",
    )
    assert naive.status_code == 400 and naive.json()["code"] == "naive_datetime"
    source = create_activity(
        client,
        stage="送达",
        officers=[world.alice],
        unit_id=world.office.pk,
        start=at("2026-03-02 10:00"),
        moments=[moment(at("2026-03-02 10:05"), source="radio")],
    )
    assert source.status_code == 400 and source.json()["code"] == "unknown_moment_source"
    missing = client.post(
        "/api/enforcement/activities", {"category": "x"}, content_type="application/json"
    )
    assert missing.status_code == 422 and missing.json()["code"] == "validation_error"
    assert Activity.objects.count() == 0


def test_officer_without_valid_certificate_is_accepted_but_flagged(world: World) -> None:
    expired = make_officer(world.office, name="过期", valid_days=-400)
    response = create_activity(
        client_for(world.supervisor),
        officers=[world.alice, expired],
        start=at("2026-03-02 10:00"),
        stop=at("2026-03-02 10:30"),
        unit_id=world.office.pk,
        moments=[
            moment(
                at("2026-03-02 10:10"),
                source="manual",
                reason="平板没电，事后补录",
                label="出示执法证件",
            )
        ],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [o["officer_id"] for o in body["uncertified_officers"]] == [expired.pk]
    assert "过期" in body["uncertified_officers"][0]["certificate_problem"]
    event = AuditEvent.objects.get(action="activity.created")
    assert event.data["uncertified_officers"] == [expired.pk]
    sources = {m["code"]: (m["source"], m["reason"]) for m in body["moments"]}
    assert sources["site_enter"] == ("tablet", "")
    assert any(source == ("manual", "平板没电，事后补录") for source in sources.values())


def test_device_creates_and_closes_for_its_officer(world: World) -> None:
    # CSRF checks on, as on a real server: a Bearer call must not need a CSRF token (issue
    # 13 item 6: every device POST got 403 "CSRF check Failed").
    device = Client(
        enforce_csrf_checks=True, headers={"Authorization": f"Bearer {world.alice_token}"}
    )
    created = device.post(
        "/api/enforcement/activities",
        {
            "category": "行政处罚",
            "stage": "调查取证",
            "officer_ids": [world.bob.pk],
            "start": moment(at("2026-03-02 10:00"), source="terminal"),
            "latitude": 36.1,
            "longitude": 113.1,
            "place": "某公司",
            "external_ref": "T-1",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert {o["officer_id"] for o in body["officers"]} == {world.alice.pk, world.bob.pk}
    assert body["unit_id"] == world.alice.unit_id
    again = device.post(
        "/api/enforcement/activities",
        {
            "category": "行政处罚",
            "stage": "调查取证",
            "start": moment(at("2026-03-02 10:00"), source="terminal"),
            "external_ref": "T-1",
        },
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    added = device.post(
        f"/api/enforcement/activities/{body['id']}/moments",
        moment(at("2026-03-02 10:10"), source="terminal", code="site_enter", label="到达现场"),
        content_type="application/json",
    )
    assert added.status_code == 201, added.content
    stop = {"stop": moment(at("2026-03-02 10:40"), source="gps")}
    closed = device.post(
        f"/api/enforcement/activities/{body['id']}/close", stop, content_type="application/json"
    )
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert closed.json()["verdict"] == "not_recorded"
    repeat = device.post(
        f"/api/enforcement/activities/{body['id']}/close", stop, content_type="application/json"
    )
    assert repeat.status_code == 200
    other = device.post(
        f"/api/enforcement/activities/{body['id']}/close",
        {"stop": moment(at("2026-03-02 10:41"))},
        content_type="application/json",
    )
    assert other.status_code == 409 and other.json()["code"] == "activity_already_closed"
    # A device of an officer who did not take part cannot see it.
    from tests.factories import make_device

    _, carol_token = make_device(officer=world.carol)
    stranger = Client(headers={"Authorization": f"Bearer {carol_token}"})
    assert stranger.get(f"/api/enforcement/activities/{body['id']}").status_code == 404
    assert Client().get(f"/api/enforcement/activities/{body['id']}").status_code == 401
    assert ActivityMoment.objects.filter(activity_id=body["id"], source="gps").count() == 1


def test_field_officer_records_own_activities_only(world: World) -> None:
    alice = client_for(world.alice_user)
    created = create_activity(alice, stage="送达", officers=[], start=at("2026-03-02 10:00"))
    assert created.status_code == 201, created.content
    assert [o["officer_id"] for o in created.json()["officers"]] == [world.alice.pk]
    other_unit = create_activity(
        alice, stage="送达", officers=[], start=at("2026-03-02 10:00"), unit_id=world.other.pk
    )
    assert other_unit.status_code == 404
    bob = client_for(world.bob_user)
    assert bob.get(f"/api/enforcement/activities/{created.json()['id']}").status_code == 404
    assert [a["id"] for a in alice.get("/api/enforcement/activities").json()] == [
        created.json()["id"]
    ]


def test_csv_import_with_per_row_errors(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    expired = make_officer(world.office, name="过期", valid_days=-400)
    rows = [
        "编号,执法类别,执法环节,单位,执法人员,开始时间,结束时间,原因",
        f"A1,行政处罚,调查取证,城关司法所,{world.alice.certificate_number}、"
        f"{world.bob.certificate_number},2026-03-02 09:00,2026-03-02 09:30,",
        f"A2,行政处罚,送达,城关司法所,{expired.certificate_number},2026-03-02 10:00,,",
        f"A3,行政处罚,送达,不存在的所,{world.alice.certificate_number},2026-03-02 10:00,,",
        "A4,行政处罚,送达,城关司法所,99999999,2026-03-02 10:00,,",
        f"A5,行政处罚,送达,城关司法所,{world.alice.certificate_number},2026-03-02 10:00,"
        "2026-03-02 09:00,",
        f"A6,行政处罚,送达,城关司法所,{world.alice.certificate_number},昨天,,",
        "",
    ]
    data = "\n".join(rows).encode("gbk")
    response = client_for(world.supervisor).post(
        "/api/enforcement/activities/import", {"file": SimpleUploadedFile("a.csv", data)}
    )
    # All or nothing: four bad rows, each named by its cell; not even A1 is imported.
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "rows_invalid"
    assert {(e["line"], e["code"], e["field"]) for e in body["details"]["errors"]} == {
        (4, "unknown_unit", "单位"),
        (5, "unknown_officers", "执法人员"),
        (6, "stop_before_start", "结束时间"),
        (7, "invalid_time", "开始时间"),
    }
    assert body["details"]["errors"][0]["message"].startswith("第 4 行 D 列（单位）：")
    assert not Activity.objects.filter(external_ref__in=["A1", "A2"]).exists()
    data = "\n".join([*rows[:3], ""]).encode("gbk")
    response = client_for(world.supervisor).post(
        "/api/enforcement/activities/import", {"file": SimpleUploadedFile("a.csv", data)}
    )
    assert response.status_code == 200, response.content
    report = response.json()["report"]
    assert report["created"] == 2 and report["errors"] == []
    assert report["flagged"][0]["officer_id"] == expired.pk
    imported = Activity.objects.get(external_ref="A1")
    assert imported.moments.get(code="site_enter").source == "manual"
    assert imported.coverage.verdict == "not_recorded"
    # Same file again: nothing new (编号 makes it idempotent).
    path = __import__("pathlib").Path(__import__("tempfile").mkdtemp()) / "a.csv"
    path.write_bytes(data)
    call_command("activities_import", str(path), "--json")
    again = json.loads(capsys.readouterr().out)
    assert again["created"] == 0 and again["existing"] == 2
    # The other unit's supervisor may not import into this unit.
    denied = client_for(world.other_supervisor).post(
        "/api/enforcement/activities/import", {"file": SimpleUploadedFile("a.csv", data)}
    )
    assert denied.status_code == 400
    assert {e["code"] for e in denied.json()["details"]["errors"]} == {"unit_out_of_scope"}
    assert (
        datetime.date(2026, 3, 2)
        == imported.started_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))).date()
    )


def test_browser_session_calls_keep_their_csrf_check(world: World) -> None:
    """Devices skip CSRF (Bearer); a signed-in browser does not, even beside a bad token."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.alice_user)
    body = {
        "category": "行政处罚",
        "stage": "调查取证",
        "start": moment(at("2026-03-02 10:00")),
    }
    refused = browser.post("/api/enforcement/activities", body, content_type="application/json")
    assert refused.status_code == 403
    forged = browser.post(
        "/api/enforcement/activities",
        body,
        content_type="application/json",
        headers={"Authorization": "Bearer fvd_not-a-device-token"},
    )
    assert forged.status_code == 403
    assert not Activity.objects.exists()
    browser.get("/")  # the page sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    allowed = browser.post(
        "/api/enforcement/activities",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert allowed.status_code == 201, allowed.content
