"""Subjects (scoped personal data), overdue alerts (list + websocket), figures, cross-check."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import uuid
from typing import Any

import pytest
import time_machine
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Officer, Role
from backend.corrections.models import Contact, OverdueAlert, Subject
from backend.corrections.selectors import office_month_figures
from backend.corrections.services import (
    ContactInput,
    ScheduleInput,
    contact_write,
    overdue_scan,
    subject_create,
)
from backend.devices.models import Device
from backend.footage.models import Recording
from tests.factories import make_device, make_user
from tests.fieldwork.conftest import World, checkin_data

D = datetime.date
TZ = datetime.timezone(datetime.timedelta(hours=8))
TODAY = D(2026, 11, 23)


def at(day: D, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def log(subject: Subject, officer: Officer, kind: str, day: D, **extra: Any) -> Contact:
    values = ContactInput(
        subject_id=subject.pk,
        started_at=at(day),
        ended_at=at(day) + datetime.timedelta(minutes=20),
        device_started_at=None,
        device_ended_at=None,
        place=extra.get("place", "司法所"),
        latitude=extra.get("latitude"),
        longitude=extra.get("longitude"),
        notes="",
        identity_method="id_card" if kind == "check_in" else "",
        photo_recording_id=None,
        recording_ids=tuple(extra.get("recording_ids", ())),
    )
    return contact_write(
        kind=kind,
        record_id=uuid.uuid4(),
        officer=officer,
        device=None,
        values=values,
        existing=False,
    )


def receive_within(layer: Any, channel: str, seconds: float = 5) -> Any:
    """The next message of a channel-layer channel, or a failure (never a hang)."""
    import asyncio

    from asgiref.sync import async_to_sync

    async def receive() -> Any:
        return await asyncio.wait_for(layer.receive(channel), seconds)

    return async_to_sync(receive)()


def pin_fixture_subjects(world: World) -> None:
    """The fixtures' own subjects start 200 days before the real today; a test written for
    the fixed TODAY counts them, so pin their terms to TODAY (the test then passes whatever
    the clock says)."""
    Subject.objects.filter(pk__in=[world.north.subject.pk, world.south.subject.pk]).update(
        term_start=TODAY - datetime.timedelta(days=200),
        term_end=TODAY + datetime.timedelta(days=365),
    )


def fixed_subject(world: World, name: str, *, office: str = "north") -> Subject:
    o = getattr(world, office)
    return subject_create(
        actor=world.supervisor,
        name=name,
        sentence_kind="parole",
        term_start=D(2026, 3, 1),
        term_end=D(2027, 6, 30),
        office=o.unit,
        responsible_officer=o.officer,
        schedules=[
            ScheduleInput("check_in", "monthly", 1),
            ScheduleInput("home_visit", "quarterly", 2),
        ],
    )


@pytest.mark.django_db
def test_personal_data_visible_to_office_and_supervisors_only(world: World) -> None:
    subject_id = str(world.north.subject.pk)
    north_user, south_user = Client(), Client()
    north_user.force_login(world.north.user)
    south_user.force_login(world.south.user)
    boss = Client()
    boss.force_login(world.supervisor)
    response = north_user.get(f"/api/corrections/subjects/{subject_id}")
    assert response.status_code == 200 and response.json()["id_number"] == "110101199001011234"
    assert boss.get(f"/api/corrections/subjects/{subject_id}").status_code == 200
    response = south_user.get(f"/api/corrections/subjects/{subject_id}")
    assert response.status_code == 404 and response.json()["code"] == "subject_not_found"
    assert [s["name"] for s in south_user.get("/api/corrections/subjects").json()] == ["李四"]
    assert len(boss.get("/api/corrections/subjects").json()) == 2
    field = Client()
    field.force_login(make_user(role=Role.FIELD_OFFICER, unit=world.north.unit))
    assert field.get(f"/api/corrections/subjects/{subject_id}").status_code == 404
    assert Client().get("/api/corrections/subjects").status_code == 401


@pytest.mark.django_db
def test_create_subject_checks_office_officers_and_schedule(world: World) -> None:
    client = Client()
    client.force_login(world.north.user)
    body = {
        "name": "王五",
        "sentence_kind": "surveillance",
        "term_start": "2026-11-01",
        "term_end": "2027-05-01",
        "office_id": world.north.unit.pk,
        "responsible_officer_id": world.north.officer.pk,
        "schedules": [{"kind": "check_in", "frequency": "weekly", "times": 1}],
    }
    response = client.post("/api/corrections/subjects", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["schedules"][0]["frequency"] == "weekly"
    other = {**body, "office_id": world.south.unit.pk}
    response = client.post("/api/corrections/subjects", other, content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "office_not_found"
    foreign = {**body, "responsible_officer_id": world.south.officer.pk}
    response = client.post("/api/corrections/subjects", foreign, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "officer_not_in_office"
    bad = {**body, "term_end": "2026-01-01"}
    response = client.post("/api/corrections/subjects", bad, content_type="application/json")
    assert response.json()["code"] == "invalid_term"
    bad = {**body, "sentence_kind": "house_arrest"}
    response = client.post("/api/corrections/subjects", bad, content_type="application/json")
    assert response.status_code == 422


@pytest.mark.clock
@pytest.mark.django_db
def test_overdue_alerts_raised_listed_and_resolved(world: World) -> None:
    subject = fixed_subject(world, "赵六")
    for month in range(3, 11):
        if month != 9:
            log(subject, world.north.officer, "check_in", D(2026, month, 15))
    log(subject, world.north.officer, "home_visit", D(2026, 5, 10))
    raised = overdue_scan(today=TODAY)
    mine = {(a.kind, a.period_start) for a in raised if a.subject_id == subject.pk}
    # check-in of September missed; visits: Q3 none. (Q1 is cut to one month, Q4 not due
    # yet, Q2 — one of two — was due on 30 June, before the scan's 120-day look-back.)
    assert mine == {("check_in", D(2026, 9, 1)), ("home_visit", D(2026, 7, 1))}
    assert len(overdue_scan(today=D(2026, 7, 1))) >= 1  # run back then, Q2 was caught
    assert OverdueAlert.objects.filter(
        subject=subject, kind="home_visit", period_start=D(2026, 4, 1), done=1
    ).exists()
    alert = OverdueAlert.objects.get(subject=subject, kind="check_in")
    assert alert.due_date == D(2026, 9, 30) and alert.officer == world.north.officer
    assert overdue_scan(today=TODAY) == []  # idempotent
    client = Client()
    client.force_login(world.north.user)
    listed = client.get("/api/corrections/alerts").json()
    assert {(a["subject_name"], a["kind"]) for a in listed} >= {("赵六", "check_in")}
    mine_listed = client.get("/api/corrections/alerts", {"mine": True}).json()
    assert mine_listed and {a["officer_id"] for a in mine_listed} == {world.north.officer.pk}
    south = Client()
    south.force_login(world.south.user)
    assert all(a["subject_name"] != "赵六" for a in south.get("/api/corrections/alerts").json())
    # a late check-in in September resolves the alert at the next scan
    log(subject, world.north.officer, "check_in", D(2026, 9, 29))
    overdue_scan(today=TODAY)
    alert.refresh_from_db()
    assert alert.resolved_at is not None and alert.done == 1


@pytest.mark.django_db(transaction=True)
def test_overdue_alert_reaches_the_supervisors_websocket(
    committed_world: World, settings: Any
) -> None:
    world = committed_world
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    fixed_subject(world, "孙七")

    def cookie() -> bytes:
        client = Client()
        client.force_login(world.supervisor)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario() -> list[dict[str, Any]]:
        from backend.config.asgi import application

        ws = WebsocketCommunicator(
            application,
            "/ws/events/",
            headers=[
                (b"cookie", await sync_to_async(cookie)()),
                (b"host", b"127.0.0.1"),
                (b"origin", b"http://127.0.0.1"),
            ],
        )
        connected, code = await ws.connect()
        assert connected, code
        assert (await ws.receive_json_from())["type"] == "hello"
        await sync_to_async(overdue_scan)(today=TODAY)
        events = []
        while not await ws.receive_nothing(timeout=0.5):
            events.append(await ws.receive_json_from())
        await ws.disconnect()
        return events

    events = asyncio.run(scenario())
    overdue = [e for e in events if e["type"] == "correction.overdue"]
    assert overdue and {e["kind"] for e in overdue} >= {"check_in", "home_visit"}
    sunqi = str(Subject.objects.get(name="孙七").pk)
    assert {e["office_id"] for e in overdue if e["subject_id"] == sunqi} == {world.north.unit.pk}
    assert all(e["officer_user_id"] in {world.north.user.pk, world.south.user.pk} for e in overdue)
    channel_layers.backends.clear()


@pytest.mark.clock
@pytest.mark.django_db
def test_monthly_figures(world: World) -> None:
    pin_fixture_subjects(world)
    a, b, c = (fixed_subject(world, n) for n in ("甲", "乙", "丙"))
    officer = world.north.officer
    log(a, officer, "check_in", D(2026, 10, 20))
    log(b, officer, "home_visit", D(2026, 10, 5))
    log(c, officer, "phone_report", D(2026, 10, 28))  # a phone report does not locate
    log(a, officer, "home_visit", D(2026, 8, 1))
    log(a, officer, "home_visit", D(2026, 9, 1))
    figures = office_month_figures(office=world.north.unit, year=2026, month=10, today=TODAY)
    # the fixture's subject (term from 200 days ago) is active too: 4 subjects
    assert figures.subjects_active == 4
    assert figures.subjects_contacted_30d == 2 and figures.located_share == 0.0
    assert figures.located_meets_target is False  # no positions at all: see test_located_rate.py
    assert (figures.check_ins_due, figures.check_ins_missed) == (4, 3)
    september = office_month_figures(office=world.north.unit, year=2026, month=9, today=TODAY)
    # Q3: two visits owed by each of 甲乙丙, one by the fixture subject
    assert (september.visits_due, september.visits_done) == (7, 2)
    client = Client()
    client.force_login(world.supervisor)
    response = client.get(
        "/api/corrections/figures", {"office_id": world.north.unit.pk, "month": "2026-10"}
    )
    assert response.status_code == 200 and response.json()["located_target"] == 0.7
    assert (
        client.get(
            "/api/corrections/figures", {"office_id": world.north.unit.pk, "month": "2026-13"}
        ).json()["code"]
        == "invalid_month"
    )
    south = Client()
    south.force_login(world.south.user)
    assert (
        south.get(
            "/api/corrections/figures", {"office_id": world.north.unit.pk, "month": "2026-10"}
        ).status_code
        == 404
    )


def _recording(
    device: Device, officer: Officer, start: datetime.datetime, lat: float, lon: float
) -> Recording:
    return Recording.objects.create(
        device=device,
        clip_id=uuid.uuid4().hex,
        file_name="x.mp4",
        size_bytes=10,
        sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        media_kind="video",
        device_started_at=start,
        device_ended_at=start + datetime.timedelta(minutes=15),
        started_at=start,
        ended_at=start + datetime.timedelta(minutes=15),
        officer=officer,
        latitude=lat,
        longitude=lon,
    )


@pytest.mark.django_db
def test_checkin_crosschecked_against_linked_footage(world: World) -> None:
    north = world.north
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=30)
    camera, _ = make_device(officer=north.officer)
    here = _recording(camera, north.officer, start - datetime.timedelta(minutes=2), 30.0003, 120.0)
    away = _recording(camera, north.officer, start, 30.4, 120.3)  # a video call from elsewhere
    ok = north.tablet.put("check_in", checkin_data(north.subject, recording_ids=[str(here.pk)]))
    spoof = north.tablet.put("check_in", checkin_data(north.subject, recording_ids=[str(away.pk)]))
    bare = north.tablet.put("check_in", checkin_data(north.subject))
    results = north.tablet.push()[1]["results"]
    assert [r["status"] for r in results] == ["applied"] * 3
    status = {str(c.pk): c.crosscheck_status for c in Contact.objects.all()}
    assert status[ok["record_id"]] == "consistent"
    assert status[spoof["record_id"]] == "mismatch"
    assert status[bare["record_id"]] == "no_footage"
    north.tablet.pull_all()
    pulled = north.tablet.records[spoof["record_id"]]["data"]["crosscheck"]
    assert pulled["findings"][0]["code"] == "place_mismatch"
    # footage of another unit cannot be linked
    stranger, _ = make_device(officer=world.south.officer)
    theirs = _recording(stranger, world.south.officer, start, 30.0, 120.0)
    north.tablet.put("check_in", checkin_data(north.subject, recording_ids=[str(theirs.pk)]))
    result = north.tablet.push()[1]["results"][0]
    assert result["code"] == "unknown_recording"


@pytest.mark.clock
@pytest.mark.django_db(transaction=True)
def test_overdue_alert_reaches_the_responsible_officer_not_other_offices(
    committed_world: World, settings: Any
) -> None:
    """`/ws/corrections/`: the responsible correction officer hears of their subject's
    missed check-in (with the name); an officer of another office hears nothing of it; a
    field officer may not open the stream."""
    world = committed_world
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    fixed_subject(world, "周八")
    field_user = make_user(role=Role.FIELD_OFFICER, unit=world.north.unit)

    def cookie(user: Any) -> bytes:
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    def communicator(cookie_value: bytes) -> WebsocketCommunicator:
        from backend.config.asgi import application

        return WebsocketCommunicator(
            application,
            "/ws/corrections/",
            headers=[
                (b"cookie", cookie_value),
                (b"host", b"127.0.0.1"),
                (b"origin", b"http://127.0.0.1"),
            ],
        )

    async def drain(ws: WebsocketCommunicator) -> list[dict[str, Any]]:
        events = []
        while not await ws.receive_nothing(timeout=0.5):
            events.append(await ws.receive_json_from())
        return events

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        north = communicator(await sync_to_async(cookie)(world.north.user))
        south = communicator(await sync_to_async(cookie)(world.south.user))
        field = communicator(await sync_to_async(cookie)(field_user))
        assert (await north.connect())[0] and (await south.connect())[0]
        field_connected, _code = await field.connect()
        for ws in (north, south):
            assert (await ws.receive_json_from())["type"] == "hello"
        await sync_to_async(overdue_scan)(today=TODAY)
        north_events, south_events = await drain(north), await drain(south)
        await north.disconnect()
        await south.disconnect()
        return north_events, south_events, field_connected

    north_events, south_events, field_connected = asyncio.run(scenario())
    assert not field_connected
    zhouba = str(Subject.objects.get(name="周八").pk)
    mine = [e for e in north_events if e["subject_id"] == zhouba]
    assert {e["kind"] for e in mine} >= {"check_in", "home_visit"}
    assert all(e["type"] == "correction.overdue" and e["subject_name"] == "周八" for e in mine)
    assert all(e["officer_id"] == world.north.officer.pk for e in mine)
    assert all(e["officer_user_id"] == world.north.user.pk for e in mine)
    alert_ids = OverdueAlert.objects.filter(subject__name="周八").values_list("pk", flat=True)
    assert sorted(e["alert_id"] for e in mine) == sorted(alert_ids)  # each once
    assert zhouba not in {e["subject_id"] for e in south_events}
    assert {e["office_id"] for e in south_events} <= {world.south.unit.pk}
    channel_layers.backends.clear()


@pytest.mark.django_db
def test_video_call_checkin_and_photo_gps_are_crosschecked(world: World) -> None:
    """A 'check-in' verified by video call is flagged even with matching footage; a photo's
    GPS found later by processing (EXIF) is used by the re-check, which updates the
    verdict and sends the new copy to the office's tablets."""
    from backend.corrections.services import checkins_recheck
    from backend.footage.models import RecordingMetadata

    north = world.north
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=30)
    camera, _ = make_device(officer=north.officer)
    here = _recording(camera, north.officer, start - datetime.timedelta(minutes=2), 30.0, 120.0)
    call = north.tablet.put(
        "check_in",
        checkin_data(north.subject, identity_method="video_call", recording_ids=[str(here.pk)]),
    )
    photo = _recording(camera, north.officer, start, 30.0, 120.0)
    Recording.objects.filter(pk=photo.pk).update(latitude=None, longitude=None, media_kind="photo")
    pictured = north.tablet.put(
        "check_in", checkin_data(north.subject, photo_recording_id=str(photo.pk))
    )
    assert [r["status"] for r in north.tablet.push()[1]["results"]] == ["applied", "applied"]
    flagged = Contact.objects.get(pk=call["record_id"])
    assert flagged.crosscheck_status == "mismatch"
    assert [f["code"] for f in flagged.crosscheck_findings] == ["identity_by_video_call"]
    with_photo = Contact.objects.get(pk=pictured["record_id"])
    assert with_photo.crosscheck_status == "consistent"
    assert [f["code"] for f in with_photo.crosscheck_findings] == ["footage_without_gps"]
    north.tablet.pull_all()
    cursor = north.tablet.cursor
    # processing finds the photo's EXIF GPS: 40 km away from the reported place
    RecordingMetadata.objects.create(
        recording=photo, kind="photo", gps_latitude=30.36, gps_longitude=120.0
    )
    assert checkins_recheck(since=start - datetime.timedelta(days=1)) == 1
    assert checkins_recheck(since=start - datetime.timedelta(days=1)) == 0  # idempotent
    with_photo.refresh_from_db()
    assert with_photo.crosscheck_status == "mismatch"
    assert with_photo.crosscheck_findings[0]["code"] == "place_mismatch"
    north.tablet.cursor = cursor
    _pages, count = north.tablet.pull_all()
    assert count == 1
    assert north.tablet.records[pictured["record_id"]]["data"]["crosscheck"]["status"] == "mismatch"
    # flagged check-ins locate nobody, and are counted in the month's figures
    local = timezone.localdate()
    figures = office_month_figures(office=north.unit, year=local.year, month=local.month)
    assert figures.check_ins_flagged == 2 and figures.subjects_contacted_30d == 0


@pytest.mark.django_db
def test_figures_for_every_office_in_scope(world: World) -> None:
    boss = Client()
    boss.force_login(world.supervisor)
    rows = boss.get("/api/corrections/figures/offices", {"month": "2026-10"}).json()
    assert sorted(r["office_name"] for r in rows) == sorted(["青山镇司法所", "柳河乡司法所"])
    assert all(r["subjects_active"] == 1 for r in rows)
    officer = Client()
    officer.force_login(world.south.user)
    rows = officer.get("/api/corrections/figures/offices", {"month": "2026-10"}).json()
    assert [r["office_id"] for r in rows] == [world.south.unit.pk]
    bad = officer.get("/api/corrections/figures/offices", {"month": "10/2026"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_month"
    field = Client()
    field.force_login(make_user(role=Role.FIELD_OFFICER, unit=world.north.unit))
    assert field.get("/api/corrections/figures/offices", {"month": "2026-10"}).json() == []


@pytest.mark.django_db
def test_periodic_pass_links_contacts_whose_job_was_lost(world: World) -> None:
    """The after-commit job that creates a contact's coverage activity can be lost (worker
    down, queue not served): the periodic pass creates it, once."""
    from backend.wiring.management.commands.fieldwork_periodic import fieldwork_periodic

    contact = log(world.north.subject, world.north.officer, "home_visit", TODAY)
    assert Contact.objects.get(pk=contact.pk).activity_id is None  # on-commit never ran
    report = fieldwork_periodic(today=TODAY)
    assert report["contacts_linked"] == 1
    contact.refresh_from_db()
    assert contact.activity is not None and contact.activity.stage == "走访"
    assert fieldwork_periodic(today=TODAY)["contacts_linked"] == 0


@pytest.mark.django_db
def test_subject_changed_within_the_office_reaches_its_tablets(world: World) -> None:
    from backend.audit.models import AuditEvent
    from tests.factories import make_officer

    north = world.north
    north.tablet.pull_all()
    cursor = north.tablet.cursor
    mate = make_officer(north.unit, name="新责任人")
    url = f"/api/corrections/subjects/{north.subject.pk}"
    client = Client()
    client.force_login(north.user)
    body = {
        "responsible_officer_id": mate.pk,
        "schedules": [{"kind": "check_in", "frequency": "weekly", "times": 1}],
        "phone": "13800000000",
    }
    response = client.patch(url, body, content_type="application/json")
    assert response.status_code == 200, response.json()
    changed = response.json()
    assert changed["responsible_officer_id"] == mate.pk and changed["phone"] == "13800000000"
    assert [s["frequency"] for s in changed["schedules"]] == ["weekly"]
    assert changed["id_number"] == "110101199001011234"  # not sent: unchanged
    # the office's tablet gets exactly the new copy of the subject
    _pages, count = north.tablet.pull_all()
    assert count == 1 and int(north.tablet.cursor) > int(cursor)
    copy = north.tablet.records[str(north.subject.pk)]["data"]
    assert copy["responsible_officer_id"] == mate.pk
    assert copy["schedules"] == [
        {"kind": "check_in", "frequency": "weekly", "times": 1, "grace_working_days": 0}
    ]
    event = AuditEvent.objects.filter(action="correction_subject.updated").get()
    assert "13800000000" not in str(event.data) and "phone" in event.data["fields"]
    # refused: an officer of another office as responsible; another office's user; a field officer
    foreign = {"responsible_officer_id": world.south.officer.pk}
    response = client.patch(url, foreign, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "officer_not_in_office"
    south = Client()
    south.force_login(world.south.user)
    response = south.patch(url, {"phone": "1"}, content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "subject_not_found"
    field = Client()
    field.force_login(make_user(role=Role.FIELD_OFFICER, unit=north.unit))
    assert field.patch(url, {"phone": "1"}, content_type="application/json").status_code == 403
    bad = client.patch(url, {"term_end": "2000-01-01"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_term"
    world.south.tablet.pull_all()
    assert str(north.subject.pk) not in world.south.tablet.records


@pytest.mark.django_db
def test_overdue_due_date_in_a_year_not_entered_is_provisional_then_recomputed(
    world: World, django_capture_on_commit_callbacks: Any, request: pytest.FixtureRequest
) -> None:
    """December's check-in with 16 working days of grace falls due in January 2027, whose
    arrangement is not entered: the alert carries a provisional due date (national rule:
    25 January). Entering 2027 (Sunday 24 January a make-up working day) moves it a day
    earlier: audited with both dates, pushed again to the office's stream."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from backend.audit.models import AuditEvent
    from backend.corrections.events import ALL_OFFICES_GROUP
    from backend.workcalendar.models import CalendarYear
    from backend.workcalendar.services.entry import calendar_year_enter, rows_from_file
    from tests.paths import SHARED_DATA

    CalendarYear.objects.filter(year=2027).delete()  # should a newer package know 2027
    subject = subject_create(
        actor=world.supervisor,
        name="郑九",
        sentence_kind="parole",
        term_start=D(2026, 3, 1),
        term_end=D(2027, 6, 30),
        office=world.north.unit,
        responsible_officer=world.north.officer,
        schedules=[ScheduleInput("check_in", "monthly", 1, grace_working_days=16)],
    )
    for month in (9, 10, 11):
        log(subject, world.north.officer, "check_in", D(2026, month, 10))
    # The scan and the import happen on 1 February 2027 (clock moved there).
    traveller = time_machine.travel(datetime.datetime(2027, 2, 1, 10, tzinfo=TZ), tick=True)
    traveller.start()
    request.addfinalizer(traveller.stop)
    client = Client()
    client.force_login(world.north.user)
    overdue_scan(today=D(2027, 2, 1))
    alert = OverdueAlert.objects.get(subject=subject)
    assert (alert.period_start, alert.due_date, alert.due_date_provisional) == (
        D(2026, 12, 1),
        D(2027, 1, 25),
        True,
    )
    listed = {a["id"]: a for a in client.get("/api/corrections/alerts").json()}
    assert listed[alert.pk]["due_date_provisional"] is True

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(ALL_OFFICES_GROUP, channel)
    rows = rows_from_file(SHARED_DATA.parent / "workcalendar" / "2027_test_arrangement.csv")
    with django_capture_on_commit_callbacks(execute=True):
        calendar_year_enter(actor=None, year=2027, rows=rows, source="import")
    alert.refresh_from_db()
    assert (alert.due_date, alert.due_date_provisional) == (D(2027, 1, 24), False)
    event = AuditEvent.objects.get(
        action="correction_overdue.due_date_recomputed", object_id=str(alert.pk)
    )
    assert (event.data["old_due_date"], event.data["new_due_date"]) == ("2027-01-25", "2027-01-24")
    pushed = receive_within(layer, channel)["event"]
    assert (pushed["alert_id"], pushed["due_date"], pushed["due_date_moved_from"]) == (
        alert.pk,
        "2027-01-24",
        "2027-01-25",
    )
    listed = {a["id"]: a for a in client.get("/api/corrections/alerts").json()}
    assert listed[alert.pk]["due_date_provisional"] is False
