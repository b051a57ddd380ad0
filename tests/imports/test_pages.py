"""The import pages: upload → every row's problem in Chinese and nothing imported, or a
summary after a redirect; the XLSX exports read back by the importers unchanged."""

from __future__ import annotations

import datetime
import io
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Officer, Role, UnitKind
from backend.accounts.services import officers_import
from backend.audit.services import Actor
from backend.enforcement.models import RecordList, RecordRule
from backend.enforcement.services import record_list_import
from backend.inspections.models import InspectionItem, InspectionTarget
from tests.factories import make_officer, make_unit, make_user
from tests.imports.corpus import make
from tests.paths import SHARED_DATA

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
SEED_HEADER = ["序号", "姓名", "执法岗位", "执法类型", "编制类别", "证件情况"]
GOOD = [
    [1, "张一", "科员", "司法行政", "行政", "已持证（14042100101，2027-12-31）"],
    [2, "李二", "科员", "司法行政", "行政", "未持证"],
]
BAD = [*GOOD, [3, "王三", "科员", "司法行政", "行政", "已持证（14042100101，2027-12-31）"]]


def signed_in(role: str, unit: Any) -> Client:
    user = make_user(role=role, unit=unit)
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def upload(client: Client, url: str, data: bytes, name: str, **fields: str) -> Any:
    return client.post(url, {"file": SimpleUploadedFile(name, data), **fields})


def test_roster_page_lists_every_error_then_imports_after_a_fix() -> None:
    bureau = make_unit("示范县司法局")
    office = make_unit("城关司法所", kind=UnitKind.OFFICE, parent=bureau)
    client = signed_in(Role.SUPERVISOR, office)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/officers/import/")
    assert page.status_code == 200 and "导入执法人员名单" in page.content.decode()
    assert len(queries) <= 6, [q["sql"] for q in queries.captured_queries]
    bad = make("xlsx", title="城关司法所执法人员名单", header=SEED_HEADER, rows=BAD)
    with CaptureQueriesContext(connection) as queries:
        refused = upload(client, "/officers/import/", bad.data, bad.name)
    assert refused.status_code == 400
    assert len(queries) <= 8, [q["sql"] for q in queries.captured_queries]
    html = refused.content.decode()
    assert "未导入任何数据" in html
    assert "工作表「名单」第 6 行 F 列（证件情况）：证件编号 14042100101 与第 4 行重复" in html
    assert Officer.objects.count() == 0
    good = make("xlsx", title="城关司法所执法人员名单", header=SEED_HEADER, rows=GOOD)
    with CaptureQueriesContext(connection) as queries:
        done = upload(client, "/officers/import/", good.data, good.name)
    assert done.status_code == 302 and done["Location"] == "/officers/import/"
    assert len(queries) <= 30, [q["sql"] for q in queries.captured_queries]
    summary = client.get("/officers/import/").content.decode()
    assert 'id="import-summary"' in summary and "未填单位的人员已归入：城关司法所" in summary
    assert "李二：" in summary  # flagged: no certificate
    assert set(Officer.objects.values_list("name", "unit__name")) == {
        ("张一", "城关司法所"),
        ("李二", "城关司法所"),
    }
    # The summary is shown once (POST-redirect-GET).
    assert 'id="import-summary"' not in client.get("/officers/import/").content.decode()


def test_a_supervisor_cannot_import_into_another_unit() -> None:
    ours = make_unit("甲县司法局")
    theirs = make_unit("乙县司法局")
    make_officer(theirs, name="外县", certificate_number="14042100999")
    client = signed_in(Role.SUPERVISOR, ours)
    rows = [[1, "张一", "乙县司法局", "14042100101"], [2, "外县", "甲县司法局", "14042100999"]]
    made = make("csv-gbk", title="名单", header=["序号", "姓名", "单位", "证件编号"], rows=rows)
    response = upload(client, "/officers/import/", made.data, made.name)
    html = response.content.decode()
    assert response.status_code == 400
    assert "第 4 行 C 列（单位）：无权导入单位「乙县司法局」的人员" in html
    assert "第 5 行 D 列（证件编号）：证件编号 14042100999 属于其他单位的人员" in html
    assert Officer.objects.get(name="外县").unit == theirs


def _read_back(response: Any) -> list[list[object]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _officers() -> list[tuple[Any, ...]]:
    return list(
        Officer.objects.order_by("name").values_list(
            "name",
            "unit__name",
            "post",
            "enforcement_type",
            "staffing_category",
            "certificate_number",
            "certificate_valid_until",
            "certificate_status",
        )
    )


def test_roster_export_reads_back_unchanged() -> None:
    officers_import(source=SHARED_DATA / "officers.csv", actor=Actor.system())
    Officer.objects.filter(name="卫兰芳").update(post='=HYPERLINK("http://x")')
    before = _officers()
    client = signed_in(Role.SYSTEM_ADMIN, None)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/officers/export.xlsx")
    assert len(queries) <= 5
    rows = _read_back(response)
    assert rows[0][0] == "行政执法人员名单" and rows[1][1] == "姓名"
    assert '\'=HYPERLINK("http://x")' in [row[3] for row in rows]  # neutralised
    Officer.objects.all().delete()
    report = officers_import(source=response.content, actor=Actor.system(), file_name="x.xlsx")
    assert report.errors == [] and report.created == len(before)
    assert _officers() == before
    again = officers_import(source=response.content, actor=Actor.system(), file_name="x.xlsx")
    assert again.unchanged == len(before) and again.updated == 0


def _rules(record_list: RecordList) -> list[tuple[Any, ...]]:
    return list(
        record_list.rules.order_by("sequence").values_list(
            "sequence",
            "category",
            "stage",
            "item",
            "place",
            "department",
            "start_text",
            "stop_text",
            "start_moment",
            "stop_moment",
            "remarks",
            "min_officers",
        )
    )


def test_record_list_page_and_export_round_trip() -> None:
    client = signed_in(Role.LEGAL_OFFICER, make_unit("示范县司法局"))
    assert client.get("/enforcement/record-list/").status_code == 200
    data = (SHARED_DATA / "record_list.csv").read_bytes().decode("utf-8").encode("gbk")
    bad = data + "11,行政处罚,,送达,现场,承办机构,到达送达地点,离开送达地点,\n".encode("gbk")
    refused = upload(
        client, "/enforcement/record-list/", bad, "清单.csv", effective_from="2026-01-01"
    )
    assert refused.status_code == 400
    assert "第 12 行 C 列（执法环节）：「执法环节」不能为空" in refused.content.decode()
    assert RecordList.objects.count() == 0
    done = upload(
        client, "/enforcement/record-list/", data, "清单.csv", effective_from="2026-01-01"
    )
    assert done.status_code == 302
    assert "记录事项" in client.get("/enforcement/record-list/").content.decode()
    first = RecordList.objects.get()
    with CaptureQueriesContext(connection) as queries:
        exported = client.get("/enforcement/record-list/export.xlsx")
    assert len(queries) <= 6
    assert _read_back(exported)[0][0] == "音像记录事项清单"
    report = record_list_import(
        source=exported.content,
        effective_from=datetime.date(2026, 7, 1),
        actor=Actor.system(),
        file_name="export.xlsx",
    )
    assert report.rules_created == RecordRule.objects.filter(record_list=first).count()
    assert _rules(RecordList.objects.get(pk=report.record_list_id)) == _rules(first)


def _items() -> list[tuple[Any, ...]]:
    return list(
        InspectionItem.objects.order_by("name").values_list(
            "sequence",
            "inspecting_body",
            "name",
            "legal_basis",
            "content",
            "methods",
            "target_type",
            "ratio_percent",
            "declared_target_count",
            "frequency",
        )
    )


def test_inspection_pages_and_exports_round_trip() -> None:
    bureau = make_unit("示范县司法局")
    client = signed_in(Role.SUPERVISOR, bureau)
    items = (SHARED_DATA / "random_inspection_items.csv").read_bytes()
    assert upload(client, "/inspections/items/", items, "items.csv").status_code == 302
    assert "新增" in client.get("/inspections/items/").content.decode()
    targets = make(
        "xls",
        title="检查对象名录",
        header=["序号", "名称", "类型", "统一社会信用代码", "地址"],
        rows=[
            [1, "律所甲", "律师事务所和律师", "31110000MD00000001", "-青山路1号"],
            [2, "公证处", "公证机构和公证员", "", "柳河街1号"],
        ],
    )
    assert upload(client, "/inspections/targets/", targets.data, targets.name).status_code == 302
    before_items = _items()
    before_targets = list(
        InspectionTarget.objects.order_by("name").values_list(
            "name", "target_type", "credit_code", "address"
        )
    )
    for path, count in (("/inspections/items/", 2), ("/inspections/targets/", 2)):
        with CaptureQueriesContext(connection) as queries:
            exported = client.get(path + "export.xlsx")
        assert len(queries) <= 6
        assert len(_read_back(exported)) == 2 + count
        again = upload(client, path, exported.content, "export.xlsx")
        assert again.status_code == 302
        summary = client.get(path).content.decode()
        assert "未变" in summary
    assert _items() == before_items
    assert (
        list(
            InspectionTarget.objects.order_by("name").values_list(
                "name", "target_type", "credit_code", "address"
            )
        )
        == before_targets
    )
    refused = upload(client, "/inspections/items/", b"\xff\xfe\x00bad", "x.csv")
    assert refused.status_code == 400 and 'id="import-errors"' in refused.content.decode()


def test_activities_page_imports_and_refuses() -> None:
    bureau = make_unit("示范县司法局")
    office = make_unit("城关司法所", kind=UnitKind.OFFICE, parent=bureau)
    officer = make_officer(office, name="甲", certificate_number="14042199901")
    client = signed_in(Role.SUPERVISOR, bureau)
    header = ["编号", "执法类别", "执法环节", "单位", "执法人员", "开始时间"]
    good = [
        ["Y1", "行政处罚", "调查取证", "城关司法所", officer.certificate_number, "2026-03-02 09:00"]
    ]
    bad = make(
        "csv-gb18030",
        title="执法活动",
        header=header,
        rows=[
            *good,
            ["Y2", "行政处罚", "送达", "不存在", officer.certificate_number, "2026-03-02 10:00"],
        ],
    )
    refused = upload(client, "/enforcement/activities/import/", bad.data, bad.name)
    assert refused.status_code == 400
    assert "第 5 行 D 列（单位）：未知的单位：不存在" in refused.content.decode()
    made = make("csv-gb18030", title="执法活动", header=header, rows=good)
    assert (
        upload(client, "/enforcement/activities/import/", made.data, made.name).status_code == 302
    )
    assert "新增" in client.get("/enforcement/activities/import/").content.decode()
