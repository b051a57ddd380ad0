"""Record list import (command + API), bad files, encodings, XLSX and versioning."""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.audit.services import Actor
from backend.config.errors import Conflict, InvalidInput
from backend.coverage.models import CoverageEvaluation
from backend.enforcement.models import RecordList, RecordRule
from backend.enforcement.services import record_list_import, record_rule_for
from tests.coverage_integration.conftest import (
    RECORD_LIST_CSV,
    World,
    at,
    client_for,
    create_activity,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db

HEADER = "序号,执法类别,执法环节,记录事项,记录场合,记录部门,开始记录时间,结束记录时间,备注\n"


def upload(client: Any, data: bytes, name: str, effective_from: str = "2026-01-01") -> Any:
    return client.post(
        "/api/enforcement/record-lists",
        {"file": SimpleUploadedFile(name, data), "effective_from": effective_from},
    )


def test_command_imports_the_shared_record_list(capsys: pytest.CaptureFixture[str]) -> None:
    call_command(
        "record_list_import", str(RECORD_LIST_CSV), "--effective-from", "2026-01-01", "--json"
    )
    report = json.loads(capsys.readouterr().out)
    assert report["rules_created"] == 10 and report["row_errors"] == []
    rules = {(r.category, r.stage): r for r in RecordRule.objects.all()}
    evidence = rules[("行政处罚", "调查取证")]
    assert evidence.min_officers == 2
    assert (evidence.start_moment, evidence.stop_moment) == ("site_enter", "site_leave")
    assert rules[("行政检查", "现场检查")].full_process is True
    assert rules[("行政处罚", "送达")].full_process is False
    assert rules[("行政处罚", "送达")].min_officers == 1
    assert rules[("行政处罚", "听证")].start_moment == "hearing_start"
    assert AuditEvent.objects.filter(action="record_list.imported").count() == 1
    # The same date again: refused, nothing added.
    with pytest.raises(CommandError, match="record_list_version_exists"):
        call_command("record_list_import", str(RECORD_LIST_CSV), "--effective-from", "2026-01-01")
    assert RecordList.objects.count() == 1


def test_api_reports_rows_blank_lines_and_unknown_categories() -> None:
    manager = make_user(role=Role.LEGAL_OFFICER)
    good = (
        HEADER
        + "1,行政处罚,调查取证,调查取证,现场,承办机构,进入调查取证场所,离开调查取证场所,\n"
        + ",,,,,,,,\n"
        + "\n"
        + "2,行政许可创新,勘验,勘验,现场,承办机构,开始勘验,勘验结束,\n"
    )
    bad = good + "3,行政处罚,,送达,受送达人所在地,承办机构,到达送达地点,离开送达地点,\n"
    # All or nothing: one bad row refuses the whole file, naming the cell.
    response = upload(client_for(manager), bad.encode(), "list.csv")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "rows_invalid" and "未导入任何数据" in body["message"]
    # Blank lines (also ",,,,") are skipped silently: the only error is the empty stage.
    [error] = body["details"]["row_errors"]
    assert error["line"] == 6 and error["code"] == "required_cell_empty"
    assert error["column"] == "执法环节" and error["letter"] == "C"
    assert error["message"] == "第 6 行 C 列（执法环节）：「执法环节」不能为空"
    assert RecordList.objects.count() == 0 and RecordRule.objects.count() == 0
    response = upload(client_for(manager), good.encode(), "list.csv")
    assert response.status_code == 201, response.content
    report = response.json()["report"]
    assert report["rules_created"] == 2 and report["row_errors"] == []
    codes = {w["code"] for w in report["warnings"]}
    assert {"unknown_category", "custom_moment"} <= codes
    # The unknown phrase became its own named moment, not an error.
    rule = RecordRule.objects.get(stage="勘验")
    assert rule.start_moment.startswith("custom:") and rule.start_text == "开始勘验"


def test_api_refuses_missing_columns_and_non_managers() -> None:
    manager = make_user(role=Role.SYSTEM_ADMIN)
    data = "执法类别,执法环节,开始记录时间\n行政处罚,调查取证,进入现场\n".encode()
    response = upload(client_for(manager), data, "bad.csv")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "missing_columns"
    assert "记录事项" in body["details"]["file_errors"][0]["details"]["missing"]
    assert RecordList.objects.count() == 0
    officer_user = make_user(role=Role.FIELD_OFFICER)
    denied = upload(client_for(officer_user), RECORD_LIST_CSV.read_bytes(), "list.csv")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    anonymous = upload(__import__("django.test").test.Client(), b"", "x.csv")
    assert anonymous.status_code == 401


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_bom_and_gbk_files_give_the_same_rules(encoding: str) -> None:
    text = RECORD_LIST_CSV.read_text(encoding="utf-8")
    data = text.encode(encoding)
    if encoding == "utf-8-sig":
        assert data.startswith(b"\xef\xbb\xbf")
    report = record_list_import(
        source=data,
        effective_from=datetime.date(2026, 1, 1),
        actor=Actor.system(),
        file_name="list.csv",
    )
    assert report.rules_created == 10 and not report.row_errors
    assert set(RecordRule.objects.values_list("stage", flat=True)) >= {"调查取证", "听证", "谈话"}


def test_undecodable_bytes_are_a_file_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        record_list_import(
            source=HEADER.encode() + b"\xff\xfe\xfa\x80\x81\n",
            effective_from=datetime.date(2026, 1, 1),
            actor=Actor.system(),
        )
    assert caught.value.code == "unknown_encoding"


def test_xlsx_import() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in RECORD_LIST_CSV.read_text(encoding="utf-8").splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(
        client_for(make_user(role=Role.LEGAL_OFFICER)), buffer.getvalue(), "清单.xlsx"
    )
    assert response.status_code == 201, response.content
    assert response.json()["report"]["rules_created"] == 10


def test_activity_is_judged_by_the_version_in_force(world: World) -> None:
    # Version 2 from 2026-06-01: evidence collection becomes full-process, 3 officers.
    text = RECORD_LIST_CSV.read_text(encoding="utf-8").replace(
        "1,行政处罚,调查取证,调查取证,被调查人所在地,承办机构,进入调查取证场所,离开调查取证场所,",
        "1,行政处罚,调查取证,调查取证,被调查人所在地,承办机构,进入调查取证场所,离开调查取证场所,全过程音像记录",
    )
    v2 = record_list_import(
        source=text.encode(), effective_from=datetime.date(2026, 6, 1), actor=Actor.system()
    )
    with pytest.raises(Conflict):
        record_list_import(
            source=text.encode(), effective_from=datetime.date(2026, 6, 1), actor=Actor.system()
        )
    march = record_rule_for(category="行政处罚", stage="调查取证", at=at("2026-03-02 09:00"))
    july = record_rule_for(category="行政处罚", stage="调查取证", at=at("2026-07-02 09:00"))
    # The day boundary is the local (Asia/Shanghai) day: 2026-05-31 23:30 local is still v1.
    edge = record_rule_for(category="行政处罚", stage="调查取证", at=at("2026-05-31 23:30"))
    assert march is not None and july is not None and edge is not None
    assert march.full_process is False and edge.record_list_id == march.record_list_id
    assert july.full_process is True and july.record_list_id == v2.record_list_id
    client = client_for(world.supervisor)
    for start in (at("2026-03-02 09:00"), at("2026-07-02 09:00")):
        response = create_activity(
            client,
            officers=[world.alice, world.bob],
            start=start,
            stop=start + datetime.timedelta(minutes=30),
            unit_id=world.office.pk,
        )
        assert response.status_code == 201, response.content
    evaluations = CoverageEvaluation.objects.order_by("window_start")
    assert [e.rule.record_list_id for e in evaluations if e.rule] == [
        march.record_list_id,
        v2.record_list_id,
    ]
    # Before any version is in force the stage is not required.
    early = create_activity(
        client,
        officers=[world.alice],
        start=at("2025-12-01 09:00"),
        stop=at("2025-12-01 09:30"),
        unit_id=world.office.pk,
    )
    assert early.json()["verdict"] == "not_required"


def test_back_dated_version_takes_over_and_rechecks_past_activities(world: World) -> None:
    start = at("2026-07-02 09:00")
    from tests.coverage_integration.conftest import make_recording

    minute = datetime.timedelta(minutes=1)
    make_recording(world.alice_device, world.alice, start, start + 10 * minute)
    make_recording(world.bob_device, world.bob, start, start + 10 * minute)
    make_recording(world.alice_device, world.alice, start + 13 * minute, start + 30 * minute)
    make_recording(world.bob_device, world.bob, start + 13 * minute, start + 30 * minute)
    response = create_activity(
        client_for(world.supervisor),
        officers=[world.alice, world.bob],
        start=start,
        stop=start + 30 * minute,
        unit_id=world.office.pk,
    )
    activity_id = response.json()["id"]
    # Version 1: evidence collection is a key-moment rule, a hole is a notice only.
    assert CoverageEvaluation.objects.get(activity_id=activity_id).verdict == "compliant"
    text = RECORD_LIST_CSV.read_text(encoding="utf-8").replace(
        "离开调查取证场所,\n", "离开调查取证场所,全过程音像记录\n", 1
    )
    report = record_list_import(
        source=text.encode(), effective_from=datetime.date(2026, 6, 1), actor=Actor.system()
    )
    assert report.activities_reassigned == 1
    evaluation = CoverageEvaluation.objects.get(activity_id=activity_id)
    assert evaluation.verdict == "gaps" and evaluation.rule is not None
    assert evaluation.rule.record_list_id == report.record_list_id


def test_xlsx_with_the_title_row_seed_003_prints() -> None:
    """平顺县司法局音像记录事项清单 above the header, merged across it, and a note below."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["平顺县司法局音像记录事项清单"])
    sheet.merge_cells("A1:I1")
    for line in RECORD_LIST_CSV.read_text(encoding="utf-8").splitlines():
        sheet.append(line.split(","))
    sheet.append(["注：本清单自印发之日起施行。"])
    sheet.merge_cells(f"A{sheet.max_row}:I{sheet.max_row}")
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = record_list_import(
        source=buffer.getvalue(),
        file_name="清单.xlsx",
        effective_from=datetime.date(2026, 1, 1),
        actor=Actor.system(),
    )
    assert report.rules_created == 10 and report.row_errors == [] and report.file_errors == []
    assert RecordRule.objects.count() == 10
