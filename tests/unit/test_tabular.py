"""The one tolerant reader, on files made the way offices make them (made at test time)."""

from __future__ import annotations

import pytest

from backend.tabular import TableFormatError, column_letter, read_table
from tests.imports.corpus import xls, xlsx

REQUIRED = ["执法类别", "执法环节", "记录事项"]
OPTIONAL = ["序号", "备注"]


def test_title_row_merged_over_the_header_is_skipped() -> None:
    data = xlsx(
        [
            ["平顺县司法局音像记录事项清单", None, None, None],
            [None, None, None, None],
            ["序号", "执法类别", "执法环节", "记录事项"],
            [1, "行政处罚", "调查取证", "调查取证"],
            [2, "行政检查", "检查", "现场检查"],
        ],
        merges=["A1:D1"],
        title="清单",
    )
    table = read_table(data, required=REQUIRED, optional=OPTIONAL)
    assert table.header_line == 3 and table.sheet == "清单"
    assert [row.line for row in table.rows] == [4, 5]
    assert table.rows[1].values["记录事项"] == "现场检查"
    assert table.cell_ref(table.rows[1], "记录事项") == "工作表「清单」第 5 行 D 列（记录事项）"


def test_two_row_header_with_merged_parent_and_multi_line_cells() -> None:
    data = xlsx(
        [
            ["人员名册"],
            ["序号", "姓\n名", "证件", None],
            [None, None, "编号", "有效期至"],
            [1, "甲", "14042100001", "2028-12-31"],
        ],
        merges=["A2:A3", "B2:B3", "C2:D2"],
    )
    table = read_table(data, required=["姓名", "证件编号", "证件有效期至"], optional=["序号"])
    assert table.header_line == 3
    assert table.rows[0].values == {
        "序号": "1",
        "姓名": "甲",
        "证件编号": "14042100001",
        "证件有效期至": "2028-12-31",
    }
    assert table.columns == {"序号": "A", "姓名": "B", "证件编号": "C", "证件有效期至": "D"}


def test_merged_category_counts_for_every_row_notes_and_blank_columns_ignored() -> None:
    data = xlsx(
        [
            ["执法类别", "执法环节", "记录事项", None, "备注"],
            ["行政处罚", "调查取证", "调查取证", None, None],
            [None, "告知", "陈述申辩", None, None],
            [None, None, None, None, None],
            ["注：本清单自发布之日起施行。", None, None, None, None],
        ],
        merges=["A2:A3", "A5:E5"],
    )
    table = read_table(data, required=REQUIRED, optional=OPTIONAL)
    assert [row.values["执法类别"] for row in table.rows] == ["行政处罚", "行政处罚"]
    assert len(table.rows) == 2 and table.warnings == []


def test_gbk_and_gb18030_csv_with_title_and_synonyms() -> None:
    text = "示范县司法局执法人员名单\n\n序号,执法人员姓名,执法证号,其他\n1,周明远,14042100001,x\n注：共 1 人\n"
    for encoding in ("gbk", "gb18030", "utf-8-sig"):
        table = read_table(
            text.encode(encoding),
            required=["姓名", "证件编号"],
            optional=["序号"],
            synonyms={"姓名": ["执法人员姓名"], "证件编号": ["执法证号"]},
        )
        assert [row.values for row in table.rows] == [
            {"序号": "1", "姓名": "周明远", "证件编号": "14042100001"}
        ]
        assert table.warnings == ["未识别的列已忽略：其他（D 列）"]


def test_old_excel_xls_with_title_and_merges() -> None:
    data = xls(
        [
            ["平顺县司法局音像记录事项清单", "", "", ""],
            ["序号", "执法类别", "执法环节", "记录事项"],
            [1, "行政处罚", "调查取证", "调查取证"],
            [2, "", "告知", "陈述申辩"],
        ],
        merges=[(0, 0, 0, 3), (2, 3, 1, 1)],
    )
    table = read_table(data, required=REQUIRED, optional=OPTIONAL, file_name="清单.xls")
    assert table.sheet == "清单" and table.header_line == 2
    assert [row.values["执法类别"] for row in table.rows] == ["行政处罚", "行政处罚"]


def test_missing_columns_name_what_is_missing() -> None:
    with pytest.raises(TableFormatError) as caught:
        read_table("标题\n执法类别,记录事项\n行政处罚,x\n".encode(), required=REQUIRED)
    assert caught.value.code == "missing_columns"
    assert caught.value.details["missing"] == ["执法环节"]
    assert "执法环节" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "a.csv", "empty_file"),
        (b"PK\x03\x04broken", "a.xlsx", "unreadable_xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1broken", "a.xls", "unreadable_xls"),
        (b"\xff\xfe\x00\x81\x30garbage\xff", "a.csv", "unknown_encoding"),
    ],
)
def test_unreadable_files_are_format_errors(data: bytes, name: str, code: str) -> None:
    with pytest.raises(TableFormatError) as caught:
        read_table(data, required=REQUIRED, file_name=name)
    assert caught.value.code == code


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]
