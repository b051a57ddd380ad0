"""Parsing the record list (音像记录事项清单) file: encodings, XLSX and bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from backend.enforcement.record_list_format import parse_record_list

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "official" / "record_list.csv"
HEADER = "序号,执法类别,执法环节,记录事项,记录场合,记录部门,开始记录时间,结束记录时间,备注"
ROW_1 = "1,行政处罚,调查取证,调查取证,被调查人所在地,承办机构,进入调查取证场所,离开调查取证场所,"
ROW_2 = (
    "2,行政检查,现场检查,现场检查,被检查单位所在地,承办机构,进入检查场所,离开检查场所,"
    "全过程音像记录"
)


def csv_text(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def test_sample_file_parses_completely() -> None:
    result = parse_record_list(SAMPLE)
    assert result.ok
    assert result.row_errors == []
    assert result.warnings == []
    assert [row.sequence for row in result.rows] == list(range(1, 11))
    first = result.rows[0]
    assert (first.category, first.stage, first.line) == ("行政处罚", "调查取证", 2)
    assert first.interpretation.min_officers == 2
    assert first.interpretation.start.code == "site_enter"
    assert [row.sequence for row in result.rows if row.interpretation.full_process] == [3, 6, 10]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(encoding: str) -> None:
    result = parse_record_list(csv_text(HEADER, ROW_1, ROW_2).encode(encoding))
    assert result.ok, result.file_errors
    assert [row.stage for row in result.rows] == ["调查取证", "现场检查"]
    assert result.rows[1].remarks == "全过程音像记录"


def test_xlsx() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append([1, *ROW_1.split(",")[1:-1], None])
    sheet.append([None] * 9)  # blank row
    sheet.append([2.0, *ROW_2.split(",")[1:]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = parse_record_list(buffer.getvalue(), file_name="清单.xlsx")
    assert result.ok, result.file_errors
    assert [(row.line, row.sequence) for row in result.rows] == [(2, 1), (4, 2)]
    assert result.rows[1].interpretation.full_process


def test_missing_columns_is_a_file_error_naming_them() -> None:
    data = csv_text("序号,执法类别,执法环节,记录事项,记录部门,备注", "1,行政处罚,调查取证,x,y,")
    result = parse_record_list(data.encode())
    assert not result.ok
    assert result.rows == []
    (error,) = result.file_errors
    assert error.code == "missing_columns"
    assert error.details["missing"] == ["记录场合", "开始记录时间", "结束记录时间"]
    assert "开始记录时间" in error.message
    assert error.message_en.endswith("记录场合, 开始记录时间, 结束记录时间")


def test_blank_rows_skipped_unknown_category_kept_with_warning() -> None:
    data = csv_text(
        HEADER,
        ",,,,,,,,",
        "",
        "3,行政执法监督,调查取证,检查,现场,法制股,进入现场,离开现场,",
        ROW_2,
    )
    result = parse_record_list(data.encode("gbk"))
    assert result.row_errors == []
    assert [row.category for row in result.rows] == ["行政执法监督", "行政检查"]
    assert not result.rows[0].known_category
    (warning,) = result.warnings
    assert (warning.code, warning.line, warning.column) == ("unknown_category", 4, "执法类别")


def test_row_errors_are_reported_per_row_and_other_rows_kept() -> None:
    data = csv_text(
        HEADER,
        ROW_1,
        "1,行政检查,随机抽查,抽查,现场,承办机构,进入检查场所,离开检查场所,",  # 序号 repeats
        "x,行政检查,随机抽查,抽查,现场,承办机构,进入检查场所,离开检查场所,",  # not a number
        "4,行政检查,,抽查,现场,承办机构,,离开检查场所,",  # empty stage and start
        "5,行政检查,随机抽查,抽查,现场,承办机构,。,离开检查场所,",  # punctuation only
        ROW_2,
    )
    result = parse_record_list(data.encode())
    assert result.ok
    assert [row.sequence for row in result.rows] == [1, 2]
    assert [(e.line, e.code, e.column) for e in result.row_errors] == [
        (3, "duplicate_sequence", "序号"),
        (4, "invalid_sequence", "序号"),
        (5, "required_cell_empty", "执法环节"),
        (5, "required_cell_empty", "开始记录时间"),
        (6, "moment_text_empty", "开始记录时间"),
    ]
    assert result.row_errors[0].message == "第 3 行 A 列（序号）：序号 1 与第 2 行重复"


def test_unknown_moment_text_is_kept_as_custom_moment_with_warning() -> None:
    data = csv_text(HEADER, "1,行政强制,查封,查封,现场,承办机构,宣读查封决定书,张贴封条完毕,")
    result = parse_record_list(data.encode())
    (row,) = result.rows
    assert row.interpretation.start.code.startswith("custom:")
    assert [w.code for w in result.warnings] == ["custom_moment", "custom_moment"]


def test_empty_and_undecodable_files() -> None:
    assert [e.code for e in parse_record_list(b"").file_errors] == ["empty_file"]
    assert [e.code for e in parse_record_list(csv_text(HEADER).encode()).file_errors] == ["no_rows"]
    # Invalid in UTF-8 and in GB18030.
    assert [e.code for e in parse_record_list(b"\x80\xff\xfe\x81\x30").file_errors] == [
        "unknown_encoding"
    ]
    assert [e.code for e in parse_record_list(b"\xef\xbb\xbf\xff\xfe").file_errors] == [
        "unknown_encoding"
    ]
    assert [e.code for e in parse_record_list(b"PK\x03\x04broken").file_errors] == [
        "unreadable_xlsx"
    ]
