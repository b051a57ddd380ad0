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


def test_bad_rows_are_reported_and_others_import() -> None:
    data = (
        "姓名,单位,证件编号,证件有效期至\n"
        "甲,示范县司法局,14042100100,2029-01-01\n"
        ",示范县司法局,14042100101,2029-01-01\n"
        "乙,示范县司法局,14042100102,明年\n"
        "\n"
        "丙,示范县司法局,../../etc,2029-01-01\n"
    ).encode("utf-8-sig")
    report = officers_import(source=data, actor=Actor.system())
    assert report.created == 1
    assert [error["line"] for error in report.errors] == [3, 4, 6]


def test_missing_columns_fail_the_file(tmp_path: Path) -> None:
    with pytest.raises(TableFormatError) as caught:
        officers_import(source="姓名,单位\n甲,乙\n".encode(), actor=Actor.system())
    assert caught.value.code == "missing_columns"
    assert "证件编号" in caught.value.details["missing"]  # type: ignore[operator]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CommandError):
        call_command("officers_import", str(bad))
