"""Transferring a subject to another justice office (变更执行地): who may, what the tablets of
both offices pull afterwards, and where overdue alerts and figures count the subject."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.config.errors import PermissionDenied
from backend.corrections.models import Contact, OverdueAlert, Subject, SubjectTransfer
from backend.corrections.selectors import office_month_figures
from backend.corrections.services import overdue_scan, subject_transfer
from mobile_contract.tablet_simulator import Tablet
from sync.records.models import SyncRecord, SyncRecordRemoval
from tests.factories import make_device, make_officer, make_user
from tests.fieldwork.conftest import World, checkin_data, django_transport
from tests.fieldwork.test_corrections import TODAY, fixed_subject, log, pin_fixture_subjects

D = datetime.date
PERSONAL = ("name", "id_number", "phone", "address", "notes", "place")


def held(tablet: Tablet) -> dict[str, dict[str, Any]]:
    """The records a tablet holds (a pulled tombstone means: deleted locally)."""
    return {rid: r for rid, r in tablet.records.items() if not r["deleted"]}


def transfer(client: Client, subject: Subject, **body: Any) -> Any:
    return client.post(
        f"/api/corrections/subjects/{subject.pk}/transfer",
        data=body,
        content_type="application/json",
    )


def body_for(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to_office_id": world.south.unit.pk,
        "responsible_officer_id": world.south.officer.pk,
        "reason": "迁居至柳河乡",
        "effective_on": str(timezone.localdate()),
    }
    body.update(overrides)
    return body


def contact(kind: str, subject: Subject, **overrides: Any) -> dict[str, Any]:
    data = checkin_data(subject, **overrides)
    if kind != "check_in":
        data["identity_method"] = ""
    return data


@pytest.mark.django_db
def test_transfer_moves_subject_and_contacts_between_the_offices_tablets(world: World) -> None:
    north, south = world.north, world.south
    subject = north.subject
    teammate = make_officer(north.unit, name="青山组员")
    subject.team.add(teammate)
    check_in = north.tablet.put("check_in", contact("check_in", subject))
    visit = north.tablet.put("home_visit", contact("home_visit", subject, notes="家访"))
    dropped = north.tablet.put("talk", contact("talk", subject, notes="谈话"))
    assert north.tablet.sync()["rejected"] == 0
    north.tablet.delete("talk", dropped["record_id"])
    north.tablet.sync()
    south.tablet.sync()
    ids = {str(subject.pk), check_in["record_id"], visit["record_id"]}
    assert ids <= set(held(north.tablet)) and not ids & set(held(south.tablet))
    assert str(south.subject.pk) in held(south.tablet)
    before = {rid: north.tablet.records[rid]["version"] for rid in ids}

    boss = Client()
    boss.force_login(world.supervisor)
    response = transfer(boss, subject, **body_for(world))
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert (answer["from_office_id"], answer["to_office_id"]) == (north.unit.pk, south.unit.pk)

    subject.refresh_from_db()
    assert subject.office == south.unit and subject.responsible_officer == south.officer
    assert list(subject.team.all()) == []  # the old office's officers left the team
    assert set(Contact.objects.filter(subject=subject).values_list("office_id", flat=True)) == {
        south.unit.pk
    }
    event = AuditEvent.objects.get(action="corrections.subject_transferred")
    assert event.data["from_office_id"] == north.unit.pk
    assert event.data["to_office_id"] == south.unit.pk
    assert event.data["reason"] == "迁居至柳河乡"
    assert "李四" not in str(event.data) and "110101199001011234" not in str(event.data)

    # The old office's tablet pulls a tombstone for the subject and each contact (the
    # deleted talk too), without personal data, at versions after its cursor.
    north.tablet.pull_all()
    assert not ids & set(held(north.tablet))
    for rid in [*ids, dropped["record_id"]]:
        record = north.tablet.records[rid]
        assert record["deleted"] is True and record["version"] > before.get(rid, 0)
        assert not set(PERSONAL) & set(record["data"])
    # A fresh tablet of the old office never receives the subject at all.
    _device, fresh_token = make_device(officer=north.officer, kind="tablet")
    fresh = Tablet(*django_transport(Client(), fresh_token))
    fresh.pull_all()
    assert not ids & set(held(fresh))

    # The new office's tablet gets the subject (its new office's officer responsible) and
    # the contact history, but not the deleted talk.
    south.tablet.pull_all()
    got = held(south.tablet)
    assert ids <= set(got) and dropped["record_id"] not in got
    assert got[str(subject.pk)]["data"]["name"] == "李四"
    assert got[str(subject.pk)]["data"]["responsible_officer_id"] == south.officer.pk
    assert got[visit["record_id"]]["data"]["notes"] == "家访"

    # The old office's tablet, offline since, edits the check-in and logs a new visit: each
    # mutation is refused on its own.
    stale_edit = {
        "mutation_id": str(uuid.uuid4()),
        "op": "put",
        "kind": "check_in",
        "record_id": check_in["record_id"],
        "base_version": before[check_in["record_id"]],
        "data": contact("check_in", subject, notes="改"),
    }
    stale_delete = {
        "mutation_id": str(uuid.uuid4()),
        "op": "delete",
        "kind": "home_visit",
        "record_id": visit["record_id"],
        "base_version": before[visit["record_id"]],
        "data": {},
    }
    new_visit = north.tablet.put("home_visit", contact("home_visit", subject))
    status, body = north.tablet.push([stale_edit, stale_delete, new_visit])
    assert status == 200
    codes = [(r["status"], r.get("code")) for r in body["results"]]
    assert codes == [
        ("rejected", "record_out_of_scope"),
        ("rejected", "record_out_of_scope"),
        ("rejected", "subject_out_of_scope"),
    ]
    assert all(r.get("server_copy") is None for r in body["results"])  # nothing revealed
    assert Contact.objects.get(pk=check_in["record_id"]).notes == "按时报到"
    assert not Contact.objects.filter(pk=new_visit["record_id"]).exists()

    # The new office may keep the history up to date.
    edit = south.tablet.put(
        "home_visit", contact("home_visit", subject, notes="接收后补记"), visit["record_id"]
    )
    status, body = south.tablet.push([edit])
    assert body["results"][0]["status"] == "applied", body
    north.tablet.pull_all()
    assert visit["record_id"] not in held(north.tablet)


@pytest.mark.django_db
def test_transfer_back_and_forth_keeps_cursors_right(world: World) -> None:
    north, south = world.north, world.south
    subject = north.subject
    m = north.tablet.put("check_in", contact("check_in", subject))
    north.tablet.sync()
    south.tablet.sync()
    subject_transfer(
        actor=world.supervisor,
        subject=subject,
        to_office=south.unit,
        reason="迁居",
        effective_on=timezone.localdate(),
        responsible_officer=south.officer,
    )
    subject.refresh_from_db()
    subject_transfer(
        actor=world.supervisor,
        subject=subject,
        to_office=north.unit,
        reason="迁回",
        effective_on=timezone.localdate(),
        responsible_officer=north.officer,
    )
    # The removal under the north office was dropped when the subject came back; the south
    # office now has one for the subject and the check-in.
    assert not SyncRecordRemoval.objects.filter(unit=north.unit).exists()
    assert set(
        SyncRecordRemoval.objects.filter(unit=south.unit).values_list("record_id", flat=True)
    ) == {subject.pk, uuid.UUID(m["record_id"])}
    north.tablet.pull_all()
    south.tablet.pull_all()
    assert {str(subject.pk), m["record_id"]} <= set(held(north.tablet))
    assert not {str(subject.pk), m["record_id"]} & set(held(south.tablet))
    # Pulling page by page (limit 1) from 0 sees the same, in version order.
    _device, token = make_device(officer=south.officer, kind="tablet")
    paged = Tablet(*django_transport(Client(), token))
    pages, _records = paged.pull_all(limit=1)
    assert pages >= 3 and not {str(subject.pk), m["record_id"]} & set(held(paged))
    assert str(south.subject.pk) in held(paged)
    versions = [r["version"] for r in paged.records.values()]
    assert len(versions) == len(set(versions))
    assert SyncRecord.objects.get(pk=subject.pk).unit_id == north.unit.pk


@pytest.mark.django_db
def test_transfer_refused_to_office_staff_and_one_office_supervisors(world: World) -> None:
    north, south = world.north, world.south
    subject = north.subject

    def as_user(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    # The office's own correction officer sees the subject but may not move it.
    response = transfer(as_user(north.user), subject, **body_for(world))
    assert response.status_code == 403 and response.json()["code"] == "transfer_not_allowed"
    # A supervisor of the old office only: sees it, may not send it elsewhere.
    north_boss = make_user(role=Role.SUPERVISOR, unit=north.unit)
    response = transfer(as_user(north_boss), subject, **body_for(world))
    assert response.status_code == 403 and response.json()["code"] == "transfer_not_allowed"
    # A supervisor of the receiving office only: the subject is not theirs to see.
    south_boss = make_user(role=Role.SUPERVISOR, unit=south.unit)
    response = transfer(as_user(south_boss), subject, **body_for(world))
    assert response.status_code == 404 and response.json()["code"] == "subject_not_found"
    # Other roles of the bureau: refused by role.
    field = make_user(role=Role.FIELD_OFFICER, unit=world.bureau)
    assert transfer(as_user(field), subject, **body_for(world)).status_code == 403
    with pytest.raises(PermissionDenied):
        subject_transfer(
            actor=north.user,
            subject=subject,
            to_office=south.unit,
            reason="迁居",
            effective_on=timezone.localdate(),
            responsible_officer=south.officer,
        )

    boss = as_user(world.supervisor)
    tomorrow = str(timezone.localdate() + datetime.timedelta(days=1))
    too_early = str(subject.term_start - datetime.timedelta(days=1))
    for overrides, status, code in (
        ({"reason": "   "}, 400, "reason_required"),
        ({"reason": ""}, 422, "validation_error"),
        ({"to_office_id": world.bureau.pk}, 400, "office_required"),
        (
            {"to_office_id": north.unit.pk, "responsible_officer_id": north.officer.pk},
            400,
            "same_office",
        ),
        ({"responsible_officer_id": north.officer.pk}, 400, "officer_not_in_office"),
        ({"responsible_officer_id": 999_999}, 400, "unknown_officers"),
        ({"to_office_id": 999_999}, 400, "unknown_office"),
        ({"effective_on": tomorrow}, 400, "effective_in_future"),
        ({"effective_on": too_early}, 400, "effective_too_early"),
        ({"effective_on": "soon"}, 422, "validation_error"),
    ):
        response = transfer(boss, subject, **body_for(world, **overrides))
        assert response.status_code == status, (overrides, response.json())
        assert set(response.json()) == {"code", "message", "details"}
        assert response.json()["code"] == code, overrides
    subject.refresh_from_db()
    assert subject.office == north.unit and not SubjectTransfer.objects.exists()
    assert not AuditEvent.objects.filter(action="corrections.subject_transferred").exists()
    # Nothing reached any tablet.
    north.tablet.pull_all()
    assert str(subject.pk) in held(north.tablet)


@pytest.mark.clock
@pytest.mark.django_db
def test_overdue_alerts_and_figures_follow_the_effective_date(world: World) -> None:
    north, south = world.north, world.south
    pin_fixture_subjects(world)
    scanned = fixed_subject(world, "周七")  # north; monthly check-ins, none logged
    unscanned = fixed_subject(world, "吴八")
    log(scanned, north.officer, "check_in", D(2026, 11, 5))
    overdue_scan(today=TODAY)
    assert set(
        OverdueAlert.objects.filter(subject=scanned, kind="check_in").values_list(
            "office_id", flat=True
        )
    ) == {north.unit.pk}
    OverdueAlert.objects.filter(subject=unscanned).delete()
    effective = D(2026, 10, 1)
    for subject in (scanned, unscanned):
        subject_transfer(
            actor=world.supervisor,
            subject=subject,
            to_office=south.unit,
            reason="迁居",
            effective_on=effective,
            responsible_officer=south.officer,
        )
    # Alerts due before the effective date stay with the old office (and its officer then
    # responsible); those due from it on are the new office's — moved for the scanned
    # subject, raised there for the other one.
    overdue_scan(today=TODAY)
    for subject in (scanned, unscanned):
        alerts = OverdueAlert.objects.filter(subject=subject, kind="check_in")
        assert alerts.exists()
        for alert in alerts:
            expected = (
                (south.unit.pk, south.officer.pk)
                if alert.due_date >= effective
                else (north.unit.pk, north.officer.pk)
            )
            assert (alert.office_id, alert.officer_id) == expected, alert.due_date
        assert {a.office_id for a in alerts} == {north.unit.pk, south.unit.pk}
    # The old office still lists its own missed periods, without the subject's name.
    client = Client()
    client.force_login(north.user)
    listed = client.get("/api/corrections/alerts").json()
    theirs = [a for a in listed if a["subject_id"] in {str(scanned.pk), str(unscanned.pk)}]
    assert theirs and {a["subject_name"] for a in theirs} == {""}
    assert {a["office_id"] for a in theirs} == {north.unit.pk}
    client.force_login(south.user)
    names = {a["subject_name"] for a in client.get("/api/corrections/alerts").json()}
    assert {"周七", "吴八"} <= names

    # Figures: in August both count under the north office, in October under the south.
    def figures(office: Any, month: int) -> Any:
        return office_month_figures(office=office.unit, year=2026, month=month, today=TODAY)

    # (plus the fixtures' own subjects, one per office, never transferred)
    assert figures(north, 8).subjects_active == 3 and figures(south, 8).subjects_active == 1
    assert figures(north, 10).subjects_active == 1 and figures(south, 10).subjects_active == 3
    # September's check-ins fell due on 30 September, before the transfer took effect;
    # October's after it.
    assert figures(north, 9).check_ins_due == 3 and figures(south, 9).check_ins_due == 1
    assert figures(north, 9).check_ins_missed == 3
    assert figures(south, 10).check_ins_due == 3 and figures(north, 10).check_ins_due == 1
    assert figures(south, 10).check_ins_missed == 3
    # The November check-in (logged by the old office) moved along and locates the subject.
    assert figures(south, 11).subjects_contacted_30d == 1
    assert figures(north, 11).subjects_contacted_30d == 0


@pytest.mark.django_db(transaction=True)
def test_push_racing_a_transfer_never_leaves_a_contact_with_the_old_office(
    committed_world: World,
) -> None:
    """A push locks its subjects FOR KEY SHARE before it reads their office; a transfer locks
    the subject FOR UPDATE. Whichever comes first, the other waits: a contact logged while the
    subject moves is either moved with it or refused."""
    import threading

    from django.db import connection, transaction

    from backend.corrections.services import (
        ContactInput,
        contact_copy,
        contact_write,
        subjects_by_id,
    )
    from sync.records.services import records_commit
    from tests.fieldwork.test_corrections import at

    world = committed_world
    north, south = world.north, world.south
    subject = north.subject
    errors: list[BaseException] = []

    def in_thread(work: Any) -> threading.Thread:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # reported by the test below
                errors.append(exc)
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    # 1. The push holds the subject first: the transfer waits, then moves the new contact.
    record_id = uuid.uuid4()
    with transaction.atomic():
        loaded = subjects_by_id([subject.pk])
        mover = in_thread(
            lambda: subject_transfer(
                actor=world.supervisor,
                subject=Subject.objects.get(pk=subject.pk),
                to_office=south.unit,
                reason="迁居",
                effective_on=timezone.localdate(),
                responsible_officer=south.officer,
            )
        )
        mover.join(timeout=1.5)
        assert mover.is_alive(), "the transfer must wait for the push"
        logged = contact_write(
            kind="talk",
            record_id=record_id,
            officer=north.officer,
            device=None,
            values=ContactInput(
                subject_id=subject.pk,
                started_at=at(TODAY),
                ended_at=at(TODAY) + datetime.timedelta(minutes=10),
                device_started_at=None,
                device_ended_at=None,
                place="",
                latitude=None,
                longitude=None,
                notes="",
                identity_method="",
                photo_recording_id=None,
                recording_ids=(),
            ),
            existing=False,
            subjects=loaded,
        )
        records_commit([contact_copy(logged)])
    mover.join(timeout=30)
    assert not errors, errors
    assert Contact.objects.get(pk=record_id).office_id == south.unit.pk
    assert SyncRecord.objects.get(pk=record_id).unit_id == south.unit.pk
    assert SyncRecordRemoval.objects.filter(record_id=record_id, unit=north.unit).exists()

    # 2. The transfer (back to the north office) holds the subject first: the south office's
    # push waits, then sees the subject gone and refuses its new contact.
    answers: list[Any] = []
    with transaction.atomic():
        Subject.objects.select_for_update().get(pk=subject.pk)
        Subject.objects.filter(pk=subject.pk).update(
            office=north.unit, responsible_officer=north.officer
        )
        south.tablet.put("check_in", checkin_data(subject))
        pusher = in_thread(lambda: answers.append(south.tablet.push()))
        pusher.join(timeout=1.5)
        assert pusher.is_alive(), "the push must wait for the transfer"
    pusher.join(timeout=30)
    assert not errors, errors
    (status, body) = answers[0]
    assert status == 200 and body["results"][0]["code"] == "subject_out_of_scope", body
    assert Contact.objects.filter(subject=subject).count() == 1
