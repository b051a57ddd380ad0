"""Random inspections: imports, reproducible draws, certified inspectors only, on-site
results from tablets, publication within 20 working days."""

from __future__ import annotations

import datetime
import io
import uuid
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from openpyxl import Workbook

from backend.accounts.models import Officer, Role, UnitKind
from backend.config.errors import InvalidInput
from backend.inspections.draw import inputs_from_json, result_as_json, run_draw
from backend.inspections.models import (
    Inspection,
    InspectionInspector,
    InspectionItem,
    InspectionTarget,
    RandomDraw,
)
from backend.inspections.services import draw_create, inspection_items_import
from backend.workcalendar.selectors import working_calendar
from mobile_contract.tablet_simulator import Tablet
from tests.factories import make_device, make_officer, make_unit, make_user
from tests.fieldwork.conftest import django_transport
from tests.fieldwork.test_corrections import receive_within
from tests.paths import SHARED_DATA

pytestmark = pytest.mark.django_db

TARGETS_CSV = (
    "名称,类型,统一社会信用代码,地址\n"
    + "".join(f"律所{i},律师事务所和律师,31110000MD{i:08d},青山路{i}号\n" for i in range(1, 7))
    + "公证处,公证机构和公证员,,柳河街1号\n"
)
BAD_TARGET_ROWS = ",律师事务所和律师,,\n律所1,律师事务所和律师,,重复\n"


@pytest.fixture
def bureau_setup(db: Any) -> dict[str, Any]:
    bureau = make_unit("示范县司法局", kind=UnitKind.BUREAU)
    department = make_unit("公共法律服务管理股", kind=UnitKind.DEPARTMENT, parent=bureau)
    manager = make_user(role=Role.LEGAL_OFFICER, unit=bureau)
    certified = [make_officer(department, name=f"检查员{i}") for i in range(4)]
    expired = make_officer(department, name="过期", valid_days=-1)
    uncertified = Officer.objects.create(name="无证", unit=department)
    client = Client()
    client.force_login(manager)
    data = (SHARED_DATA / "random_inspection_items.csv").read_bytes()
    response = client.post(
        "/api/inspections/items/import", {"file": io.BytesIO(data)}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    response = client.post(
        "/api/inspections/targets/import",
        {"file": _named(TARGETS_CSV.encode("gbk"), "targets.csv")},
    )
    assert response.status_code == 201, response.json()
    return {
        "bureau": bureau,
        "client": client,
        "manager": manager,
        "certified": certified,
        "expired": expired,
        "uncertified": uncertified,
        "targets": response.json(),
    }


def _named(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def test_items_import_official_format(bureau_setup: dict[str, Any]) -> None:
    items = bureau_setup["client"].get("/api/inspections/items").json()
    assert [(i["sequence"], i["ratio_percent"], i["target_type"]) for i in items] == [
        (1, "100.00", "律师事务所和律师"),
        (2, "100.00", "公证机构和公证员"),
    ]
    assert items[0]["methods"] == "书面检查、实地查看" and items[0]["frequency"] == "一年一次"
    # importing again changes nothing
    data = (SHARED_DATA / "random_inspection_items.csv").read_bytes()
    report = inspection_items_import(unit=bureau_setup["bureau"], source=data, actor=None)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)


def test_items_import_reports_bad_rows_and_bad_files(bureau_setup: dict[str, Any]) -> None:
    bad = (
        "检查主体,抽查事项,适用对象,抽查比例\n司法局,事项A,律所,150%\n司法局,事项B,律所,五成\n"
        "司法局,事项C,律所,5%\n"
    )
    # All or nothing: the good row (事项C) is not imported either.
    with pytest.raises(InvalidInput) as refused:
        inspection_items_import(unit=bureau_setup["bureau"], source=bad.encode(), actor=None)
    errors = refused.value.details["errors"]
    assert refused.value.code == "rows_invalid" and [e["line"] for e in errors] == [2, 3]
    assert errors[0]["where"] == "第 2 行 D 列（抽查比例）"
    assert not InspectionItem.objects.filter(name="事项C").exists()
    response = bureau_setup["client"].post(
        "/api/inspections/items/import", {"file": _named(b"a,b\n1,2\n", "x.csv")}
    )
    assert response.status_code == 400 and response.json()["code"] == "missing_columns"


def test_targets_import_csv_gbk_and_xlsx(bureau_setup: dict[str, Any]) -> None:
    report = bureau_setup["targets"]
    assert report["created"] == 7 and report["errors"] == []
    response = bureau_setup["client"].post(
        "/api/inspections/targets/import",
        {"file": _named((TARGETS_CSV + BAD_TARGET_ROWS).encode("gbk"), "targets.csv")},
    )
    body = response.json()
    assert response.status_code == 400 and body["code"] == "rows_invalid"
    assert [(e["line"], e["column"]) for e in body["details"]["errors"]] == [(9, "A"), (10, "A")]
    assert "名称与第 2 行重复：律所1" in body["details"]["errors"][1]["message"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["名称", "类型", "地址"])
    sheet.append(["基层法律服务所", "基层法律服务所", "青山镇"])
    sheet.append(["律所1", "律师事务所和律师", "青山路1号（新）"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = bureau_setup["client"].post(
        "/api/inspections/targets/import", {"file": _named(buffer.getvalue(), "t.xlsx")}
    )
    assert response.status_code == 201
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)


def test_draw_is_recorded_published_and_verifiable(bureau_setup: dict[str, Any]) -> None:
    client = bureau_setup["client"]
    item = InspectionItem.objects.get(sequence=1)
    response = client.post(
        "/api/inspections/draws",
        {"item_id": item.pk, "period": "2026"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    draw = response.json()
    assert draw["algorithm"] == "fv-draw/1" and len(draw["seed"]) == 32
    assert len(draw["inspections"]) == 6  # ratio 100 % of 6 law firms
    assert draw["inputs"]["target_ids"] == sorted(draw["inputs"]["target_ids"])
    eligible = {o.pk for o in bureau_setup["certified"]}
    assert {i["officer_id"] for i in draw["inputs"]["inspectors"]} == eligible
    for inspection in draw["inspections"]:
        assert (
            len(inspection["inspector_ids"]) == 2 and set(inspection["inspector_ids"]) <= eligible
        )
    # anyone re-runs it: public endpoint and the pure function give the same result
    anonymous = Client()
    published = anonymous.get(f"/api/inspections/draws/{draw['id']}").json()
    rerun = result_as_json(run_draw(inputs_from_json(published["inputs"]), seed=published["seed"]))
    assert rerun == published["result"]
    verification = anonymous.post(f"/api/inspections/draws/{draw['id']}/verify").json()
    assert verification["matches"] and verification["inspections_match"]
    assert verification["inspectors_certified"]
    # tampering with the stored result is detected
    RandomDraw.objects.filter(pk=draw["id"]).update(result=list(reversed(draw["result"])))
    assert not anonymous.post(f"/api/inspections/draws/{draw['id']}/verify").json()["matches"]
    # one draw per item and period
    again = client.post(
        "/api/inspections/draws",
        {"item_id": item.pk, "period": "2026"},
        content_type="application/json",
    )
    assert again.status_code == 409 and again.json()["code"] == "already_drawn"


def test_uncertified_inspectors_cannot_be_drawn_or_assigned(bureau_setup: dict[str, Any]) -> None:
    item = InspectionItem.objects.get(sequence=1)
    excluded = {bureau_setup["expired"].pk, bureau_setup["uncertified"].pk}
    for period in ("2026-A", "2026-B", "2026-C", "2026-D", "2026-E"):
        draw = draw_create(item=item, period=period, actor=bureau_setup["manager"])
        drawn = {i for entry in draw.result for i in entry["inspector_ids"]}
        assert not drawn & excluded
        assert not {i["officer_id"] for i in draw.inputs["inspectors"]} & excluded
    # and the database itself refuses an inspector without a valid certificate
    inspection = Inspection.objects.first()
    assert inspection is not None
    expired = bureau_setup["expired"]
    with pytest.raises(IntegrityError), transaction.atomic():
        InspectionInspector.objects.create(
            inspection=inspection,
            officer=expired,
            certificate_number=expired.certificate_number,
            certificate_valid_until=expired.certificate_valid_until,
            drawn_on=timezone.localdate(),
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        InspectionInspector.objects.create(
            inspection=inspection,
            officer=bureau_setup["uncertified"],
            certificate_number="",
            certificate_valid_until=datetime.date(2099, 1, 1),
            drawn_on=timezone.localdate(),
        )


def test_declared_conflict_is_respected_and_too_few_inspectors_refused(
    bureau_setup: dict[str, Any],
) -> None:
    client = bureau_setup["client"]
    notary = InspectionTarget.objects.get(name="公证处")
    a, b, c, d = bureau_setup["certified"]
    for officer in (a, b, c):
        response = client.post(
            "/api/inspections/conflicts",
            {"officer_id": officer.pk, "target_id": notary.pk},
            content_type="application/json",
        )
        assert response.status_code == 201
    item = InspectionItem.objects.get(sequence=2)
    response = client.post(
        "/api/inspections/draws",
        {"item_id": item.pk, "period": "2026"},
        content_type="application/json",
    )
    assert response.status_code == 409 and response.json()["code"] == "draw_impossible"
    assert response.json()["details"] == {"target_id": notary.pk, "available": 1}
    Officer.objects.filter(pk=a.pk).update(certificate_valid_until=datetime.date(2099, 1, 1))
    from backend.inspections.models import InspectorConflict

    InspectorConflict.objects.filter(officer=c).delete()
    response = client.post(
        "/api/inspections/draws",
        {"item_id": item.pk, "period": "2026"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert sorted(response.json()["inspections"][0]["inspector_ids"]) == sorted([c.pk, d.pk])


@pytest.mark.clock
def test_inspection_on_tablet_then_published_within_deadline(
    bureau_setup: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    item = InspectionItem.objects.get(sequence=1)
    draw = draw_create(item=item, period="2026", actor=bureau_setup["manager"])
    inspection = Inspection.objects.filter(draw=draw).first()
    assert inspection is not None
    inspector_ids = sorted(inspection.inspectors.values_list("officer_id", flat=True))
    inspector = Officer.objects.get(pk=inspector_ids[0])
    outsider = next(o for o in bureau_setup["certified"] if o.pk not in inspector_ids)
    tablets = {}
    for officer in (inspector, outsider):
        _device, token = make_device(officer=officer, kind="tablet")
        post, get = django_transport(Client(), token)
        tablets[officer.pk] = Tablet(post=post, get=get)
        tablets[officer.pk].pull_all()
    mine = tablets[inspector.pk]
    theirs = tablets[outsider.pk]
    assert str(inspection.pk) in mine.records
    assert str(inspection.pk) not in theirs.records
    now = datetime.datetime.now(datetime.UTC)
    data = {
        "arrived_at": (now - datetime.timedelta(hours=2)).isoformat(),
        "departed_at": (now - datetime.timedelta(hours=1)).isoformat(),
        "findings": "执业档案不全",
        "rectification_required": True,
        "rectification_deadline": "2026-12-31",
    }
    # the other inspector's colleague cannot write it, even knowing its id and version
    version = mine.records[str(inspection.pk)]["version"]
    theirs.records[str(inspection.pk)] = {"version": version}
    theirs.put("inspection", data, record_id=str(inspection.pk))
    assert theirs.push()[1]["results"][0]["code"] == "record_out_of_scope"
    mine.put("inspection", {**data, "rectification_deadline": None}, record_id=str(inspection.pk))
    assert mine.push()[1]["results"][0]["code"] == "rectification_deadline_required"
    mine.put("inspection", data, record_id=str(inspection.pk))
    with django_capture_on_commit_callbacks(execute=True):
        result = mine.push()[1]["results"][0]
    assert result["status"] == "applied"
    inspection.refresh_from_db()
    assert inspection.status == "concluded"
    # Computed as the product does: the visit's local day (Asia/Shanghai), the calendar as
    # entered; provisional when the 20 working days cross into a year not entered yet.
    expected = working_calendar().add_working_days(
        inspection.departed_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))).date(), 20
    )
    assert (inspection.publish_by, inspection.publish_by_provisional) == (
        expected.date,
        expected.provisional,
    )
    assert inspection.activity is not None
    assert (inspection.activity.category, inspection.activity.stage) == ("行政检查", "随机抽查")
    assert inspection.activity.participants.count() == 2
    new = mine.put("inspection", data, record_id=str(uuid.uuid4()))
    assert mine.push([new])[1]["results"][0]["code"] == "inspection_not_found"
    mine.outbox.clear()
    client = bureau_setup["client"]
    pending = client.get("/api/inspections/pending-publication").json()
    assert [(p["id"], p["overdue"]) for p in pending] == [(str(inspection.pk), False)]
    assert pending[0]["publish_by"] == inspection.publish_by.isoformat()
    assert pending[0]["publish_by_provisional"] is expected.provisional
    assert 19 <= pending[0]["working_days_left"] <= 20
    assert Client().get("/api/inspections/pending-publication").status_code == 401
    response = client.post(f"/api/inspections/{inspection.pk}/publish")
    assert response.status_code == 200, response.json()
    assert response.json()["published_within_deadline"] is True
    assert client.get("/api/inspections/pending-publication").json() == []
    listing = Client().get("/api/inspections/published").json()
    assert [x["id"] for x in listing] == [str(inspection.pk)]
    assert listing[0]["findings"] == "执业档案不全" and len(listing[0]["inspectors"]) == 2
    other = Inspection.objects.filter(draw=draw).exclude(pk=inspection.pk).first()
    assert other is not None
    response = client.post(f"/api/inspections/{other.pk}/publish")
    assert response.status_code == 409 and response.json()["code"] == "not_concluded"
    # a published result can no longer be changed from a tablet; tablets see it published
    mine.pull_all()
    assert mine.records[str(inspection.pk)]["data"]["published_at"] is not None
    mine.put("inspection", {**data, "findings": "改"}, record_id=str(inspection.pk))
    assert mine.push()[1]["results"][0]["code"] == "already_published"


def _conclude(inspection: Inspection, departed_local: datetime.datetime) -> None:
    from backend.inspections.services import InspectionResultInput, inspection_record_result

    inspector = inspection.inspectors.first()
    assert inspector is not None
    with transaction.atomic():
        inspection_record_result(
            record_id=inspection.pk,
            officer=inspector.officer,
            device=None,
            values=InspectionResultInput(
                arrived_at=departed_local - datetime.timedelta(hours=1),
                departed_at=departed_local,
                device_arrived_at=None,
                device_departed_at=None,
                findings="",
                rectification_required=False,
                rectification_deadline=None,
                photo_recording_ids=(),
            ),
        )


@pytest.mark.clock
def test_december_inspection_gets_a_provisional_2027_deadline_made_final_by_the_import(
    bureau_setup: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    """Visited in December: 20 working days run into 2027, whose arrangement is not entered.
    The deadline is counted on the national rule and marked provisional (API, tablet copy);
    importing the 2027 arrangement makes it final — audited with the old and new date —
    and one that moves earlier is pushed to the unit's live view."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from backend.audit.models import AuditEvent
    from backend.workcalendar.models import CalendarYear
    from backend.workcalendar.services.entry import calendar_year_enter, rows_from_file
    from sync.events import groups_for_unit_path

    CalendarYear.objects.filter(year=2027).delete()  # should a newer package know 2027
    item = InspectionItem.objects.get(sequence=1)
    draw = draw_create(item=item, period="2026", actor=bureau_setup["manager"])
    stays, moves = list(Inspection.objects.filter(draw=draw).order_by("pk")[:2])
    tz = datetime.timezone(datetime.timedelta(hours=8))
    # Mon 21 Dec → Dec 22–25, 28–31, Jan 4–8, 11–15, 18, 19: 19 Jan on both calendars.
    _conclude(stays, datetime.datetime(2026, 12, 21, 23, 30, tzinfo=tz))
    # Thu 31 Dec → Jan 4–8, 11–15, 18–22, 25–29: 29 Jan on the national rule; the 2027
    # arrangement makes Sun 24 Jan a working day (调休上班) → 28 Jan, one day earlier.
    _conclude(moves, datetime.datetime(2026, 12, 31, 0, 30, tzinfo=tz))
    for inspection, deadline in ((stays, "2027-01-19"), (moves, "2027-01-29")):
        inspection.refresh_from_db()
        assert inspection.status == "concluded"
        assert (inspection.publish_by.isoformat(), inspection.publish_by_provisional) == (
            deadline,
            True,
        )
    pending = bureau_setup["client"].get("/api/inspections/pending-publication").json()
    assert {(p["publish_by"], p["publish_by_provisional"]) for p in pending} >= {
        ("2027-01-19", True),
        ("2027-01-29", True),
    }
    assert all(isinstance(p["working_days_left"], int) for p in pending)

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups_for_unit_path(moves.unit.path)[-1], channel)
    rows = rows_from_file(SHARED_DATA.parent / "workcalendar" / "2027_test_arrangement.csv")
    with django_capture_on_commit_callbacks(execute=True):
        report = calendar_year_enter(
            actor=bureau_setup["manager"], year=2027, rows=rows, source="import"
        )
    assert report.recomputed >= 2
    stays.refresh_from_db()
    moves.refresh_from_db()
    assert (stays.publish_by, stays.publish_by_provisional) == (datetime.date(2027, 1, 19), False)
    assert (moves.publish_by, moves.publish_by_provisional) == (datetime.date(2027, 1, 28), False)
    recomputed = {
        e.object_id: e.data
        for e in AuditEvent.objects.filter(action="inspection.publish_by_recomputed")
    }
    assert recomputed[str(moves.pk)] == {
        "year": 2027,
        "old_publish_by": "2027-01-29",
        "new_publish_by": "2027-01-28",
        "provisional": False,
    }
    assert recomputed[str(stays.pk)]["old_publish_by"] == "2027-01-19"
    event = receive_within(layer, channel)["event"]
    assert (event["type"], event["inspection_id"], event["publish_by"]) == (
        "inspection.publish_by_earlier",
        str(moves.pk),
        "2027-01-28",
    )
    pending = bureau_setup["client"].get("/api/inspections/pending-publication").json()
    assert ("2027-01-28", False) in {
        (p["publish_by"], p["publish_by_provisional"]) for p in pending
    }
    # Entering it again changes nothing: nothing is provisional any more.
    from backend.audit.services import Actor
    from backend.workcalendar.services.entry import provisional_deadlines_recompute

    assert provisional_deadlines_recompute(year=None, actor=Actor.system()) == 0
    response = bureau_setup["client"].post(f"/api/inspections/{moves.pk}/publish")
    assert response.status_code == 200
    assert response.json()["publish_by_provisional"] is False


def test_draws_are_listed_publicly(bureau_setup: dict[str, Any]) -> None:
    item = InspectionItem.objects.get(sequence=1)
    draw = draw_create(item=item, period="2026", actor=bureau_setup["manager"])
    listing = Client().get("/api/inspections/draws").json()
    assert [(d["id"], d["seed"], d["result_sha256"]) for d in listing] == [
        (str(draw.pk), draw.seed, draw.result_sha256)
    ]
    assert listing[0]["targets_drawn"] == 6
    assert Client().get("/api/inspections/draws", {"period": "2025"}).json() == []
