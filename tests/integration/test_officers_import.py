import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backend.accounts.models import Officer, Unit, UnitKind
from backend.accounts.services import officers_import
from backend.audit.services import Actor
from backend.tabular import TableFormatError
from tests.paths import SHARED_DATA

pytestmark = pytest.mark.django_db
ROSTER = SHARED_DATA / "officers.csv"


def test_roster_import_is_idempotent_and_flags_uncertified(
    capsys: pytest.CaptureFixture[str],
) -> None:
    call_command("officers_import", str(ROSTER), "--json")
    first = json.loads(capsys.readouterr().out)
    assert first["created"] == 8 and first["errors"] == []
    flagged = {item["name"]: item["problem"] for item in first["flagged"]}
    assert "卫兰芳" in flagged  # no certificate number
    assert "冯志强" in flagged  # certificate expired 2026-03-31
    assert Officer.objects.count() == 8

    call_command("officers_import", str(ROSTER), "--json")
    second = json.loads(capsys.readouterr().out)
    assert second["created"] == 0 and second["updated"] == 0 and second["unchanged"] == 8
    assert Officer.objects.count() == 8

    bureau = Unit.objects.get(name="示范县司法局")
    office = Unit.objects.get(name="青山镇司法所")
    assert bureau.kind == UnitKind.BUREAU and office.kind == UnitKind.OFFICE
    assert office.parent == bureau and office.path.startswith(bureau.path)


def test_gbk_csv_and_xlsx_are_read() -> None:
    text = ROSTER.read_text(encoding="utf-8")
    report = officers_import(source=text.encode("gbk"), actor=Actor.system())
    assert report.created == 8
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in text.splitlines():
        sheet.append(line.split(","))
    sheet.append(
        [
            "9",
            "新人",
            "示范县司法局",
            "科员",
            "司法行政",
            "行政",
            "14042100009",
            "2029-01-01",
            "申领",
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = officers_import(
        source=buffer.getvalue(), actor=Actor.system(), file_name="roster.xlsx"
    )
    assert report.created == 1 and report.unchanged == 8


def test_a_file_with_bad_rows_imports_nothing_and_names_each_cell() -> None:
    data = (
        "姓名,单位,证件编号,证件有效期至\n"
        "甲,示范县司法局,14042100100,2029-01-01\n"
        ",示范县司法局,14042100101,2029-01-01\n"
        "乙,示范县司法局,14042100102,明年\n"
        "\n"
        "丙,示范县司法局,../../etc,2029-01-01\n"
    ).encode("utf-8-sig")
    report = officers_import(source=data, actor=Actor.system())
    assert report.created == 0 and Officer.objects.count() == 0
    assert [(e["line"], e["column"]) for e in report.errors] == [(3, "A"), (4, "D"), (6, "C")]
    assert report.errors[1]["where"] == "第 4 行 D 列（证件有效期至）"
    assert "证件有效期无法识别" in str(report.errors[1]["error"])


def test_missing_columns_fail_the_file(tmp_path: Path) -> None:
    with pytest.raises(TableFormatError) as caught:
        officers_import(source="名字,单位\n甲,乙\n".encode(), actor=Actor.system())
    assert caught.value.code == "missing_columns"
    assert "姓名" in caught.value.details["missing"]  # type: ignore[operator]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CommandError):
        call_command("officers_import", str(bad))


def test_roster_as_seed_003_prints_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Title row, the seed's six columns, no 单位: rows go to the importing user's unit and
    证件情况 carries the certificate ("已持证（号，有效期）") or its absence ("未持证")."""
    office = Unit.objects.create(name="平顺县司法局", kind=UnitKind.BUREAU, path="/")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["平顺县司法局行政执法人员清单"])
    sheet.merge_cells("A1:F1")
    sheet.append(["序号", "姓名", "执法岗位", "执法类型", "编制类别", "证件情况"])
    sheet.append([1, "何军", "局长", "司法行政", "行政", "已持证（14042100005，2026-03-31）"])
    sheet.append([2, "马飞", "四级调研员", "司法行政", "行政", "已持证(14042100006, 2099年1月1日)"])
    sheet.append([3, "刘刚", "副局长", "司法行政", "行政", "未持证"])
    sheet.append([4, "郭旭刚", "副局长", "司法行政", "行政", "换发"])
    sheet.append(["注：证件情况以省司法厅公布为准"])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    report = officers_import(source=path, actor=Actor.system(), default_unit=office)
    assert report.errors == [] and report.created == 4
    assert report.default_unit_used == ["平顺县司法局"]
    he = Officer.objects.get(name="何军")
    assert (
        he.certificate_number == "14042100005" and str(he.certificate_valid_until) == "2026-03-31"
    )
    assert Officer.objects.get(name="马飞").certificate_problem is None
    assert Officer.objects.get(name="刘刚").certificate_number is None
    assert {item["name"] for item in report.flagged} >= {"何军", "刘刚", "郭旭刚"}
    assert set(Officer.objects.values_list("unit__name", flat=True)) == {"平顺县司法局"}
    # Without an importing unit the same file is refused row by row, and imports nothing.
    Officer.objects.all().delete()
    with pytest.raises(CommandError):
        call_command("officers_import", str(path))
    assert "单位为空" in capsys.readouterr().out and Officer.objects.count() == 0
    call_command("officers_import", str(path), "--unit", "平顺县司法局")
    assert Officer.objects.count() == 4
