"""Parsing the record list file (音像记录事项清单) in the official column layout.

Pure: bytes in, rows and a per-row report out; no database. The import service turns
the rows into RecordRule records of a list version. CSV (UTF-8, UTF-8 with BOM,
GBK/GB18030) and XLSX are read by :mod:`backend.tabular`.

What is an error and what is a warning:
- file errors (nothing imported): unreadable file, unknown encoding, missing columns;
- row errors (the import refuses the whole file, naming every bad cell by sheet, row and
  column): an empty required cell, a 序号 that is not a whole number or repeats, a
  start/stop text that is only punctuation;
- warnings (row kept): an enforcement category not in :data:`KNOWN_CATEGORIES`, a
  start/stop text that matches no standard moment (kept as its own named moment).
Blank rows are skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from backend.tabular import TableFormatError, read_table
from coverage_core.moments import RuleInterpretation, interpret_rule

COL_SEQUENCE = "序号"
COL_CATEGORY = "执法类别"
COL_STAGE = "执法环节"
COL_ITEM = "记录事项"
COL_PLACE = "记录场合"
COL_DEPARTMENT = "记录部门"
COL_START = "开始记录时间"
COL_STOP = "结束记录时间"
COL_REMARKS = "备注"

REQUIRED_COLUMNS: tuple[str, ...] = (
    COL_CATEGORY,
    COL_STAGE,
    COL_ITEM,
    COL_PLACE,
    COL_DEPARTMENT,
    COL_START,
    COL_STOP,
)
# A list without numbering or remarks is still usable; the official form has both.
OPTIONAL_COLUMNS: tuple[str, ...] = (COL_SEQUENCE, COL_REMARKS)
# Names offices give the columns.
SYNONYMS: dict[str, tuple[str, ...]] = {
    COL_CATEGORY: ("行政执法类别", "执法行为类别", "执法种类"),
    COL_STAGE: ("环节", "执法程序环节"),
    COL_ITEM: ("音像记录事项", "记录内容"),
    COL_PLACE: ("记录场所", "场合"),
    COL_DEPARTMENT: ("实施部门", "执法部门", "责任部门"),
    COL_START: ("开始时间", "记录开始时间", "开始记录时点"),
    COL_STOP: ("结束时间", "记录结束时间", "结束记录时点"),
}
# Cells that must not be empty in a row.
REQUIRED_CELLS: tuple[str, ...] = (COL_CATEGORY, COL_STAGE, COL_START, COL_STOP)

# The kinds of administrative enforcement act (行政执法行为) plus community correction.
KNOWN_CATEGORIES: frozenset[str] = frozenset(
    {
        "行政许可",
        "行政处罚",
        "行政强制",
        "行政征收",
        "行政征用",
        "行政收费",
        "行政检查",
        "行政确认",
        "行政给付",
        "行政奖励",
        "行政裁决",
        "其他行政权力",
        "其他行政行为",
        "社区矫正",
    }
)


@dataclass(frozen=True, slots=True)
class RecordListIssue:
    """One problem, as the import report shows it. ``line`` is None for the file."""

    code: str
    message: str  # Chinese, for the person who prepared the file
    message_en: str
    line: int | None = None
    column: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    sheet: str = ""
    letter: str = ""  # the column as Excel names it (C)
    where: str = ""  # 工作表「清单」第 5 行 C 列（执法环节）

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "message_en": self.message_en,
            "line": self.line,
            "column": self.column,
            "sheet": self.sheet,
            "letter": self.letter,
            "where": self.where,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class RecordListRow:
    line: int
    sequence: int | None
    category: str
    stage: str
    item: str
    place: str
    department: str
    start_text: str
    stop_text: str
    remarks: str
    interpretation: RuleInterpretation
    known_category: bool


@dataclass(slots=True)
class RecordListParseResult:
    rows: list[RecordListRow] = field(default_factory=list)
    file_errors: list[RecordListIssue] = field(default_factory=list)
    row_errors: list[RecordListIssue] = field(default_factory=list)
    warnings: list[RecordListIssue] = field(default_factory=list)
    skipped_blank_rows: int = 0

    @property
    def ok(self) -> bool:
        """No file error: the rows (maybe fewer than in the file) can be imported."""
        return not self.file_errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": len(self.rows),
            "file_errors": [issue.to_dict() for issue in self.file_errors],
            "row_errors": [issue.to_dict() for issue in self.row_errors],
            "warnings": [issue.to_dict() for issue in self.warnings],
        }


def parse_record_list(
    source: Path | IO[bytes] | bytes, *, file_name: str | None = None
) -> RecordListParseResult:
    """Parse a record list file (CSV or XLSX, detected from the bytes or the name)."""
    result = RecordListParseResult()
    try:
        table = read_table(
            source,
            required=REQUIRED_COLUMNS,
            optional=OPTIONAL_COLUMNS,
            synonyms=SYNONYMS,
            file_name=file_name,
        )
    except TableFormatError as exc:
        result.file_errors.append(_file_error(exc))
        return result
    except UnicodeDecodeError as exc:  # a UTF-8 BOM followed by something else
        result.file_errors.append(
            RecordListIssue(
                code="unknown_encoding",
                message="文件编码无法识别（支持 UTF-8、GBK/GB18030）",
                message_en="Unknown text encoding (UTF-8, GBK/GB18030 are supported)",
                details={"position": exc.start},
            )
        )
        return result

    for text in table.warnings:
        result.warnings.append(
            RecordListIssue(
                code="unknown_column", message=text, message_en="Unknown column ignored"
            )
        )

    def issue(
        code: str, line: int, column: str, message: str, english: str, **details: Any
    ) -> RecordListIssue:
        where = table.cell_ref(line, column)
        return RecordListIssue(
            code=code,
            message=f"{where}：{message}",
            message_en=f"Line {line}: {english}",
            line=line,
            column=column,
            details=details,
            sheet=table.sheet,
            letter=table.columns.get(column, ""),
            where=where,
        )

    seen_sequences: dict[int, int] = {}
    seen_rules: dict[tuple[str, str, str], int] = {}
    for table_row in table.rows:
        values = table_row.values
        line = table_row.line
        if not any(value.strip() for value in values.values()):
            result.skipped_blank_rows += 1
            continue
        cell = {name: " ".join(values.get(name, "").split()) for name in _ALL_COLUMNS}
        problems = [
            issue(
                "required_cell_empty",
                line,
                name,
                f"「{name}」不能为空",
                f"{name} must not be empty",
            )
            for name in REQUIRED_CELLS
            if not cell[name]
        ]
        sequence = _parse_sequence(cell[COL_SEQUENCE], line, problems, seen_sequences, issue)
        interpretation = None
        if not problems:
            try:
                interpretation = interpret_rule(
                    stage=cell[COL_STAGE],
                    start_text=cell[COL_START],
                    stop_text=cell[COL_STOP],
                    remarks=cell[COL_REMARKS],
                )
            except ValueError:
                problems.append(
                    issue(
                        "moment_text_empty",
                        line,
                        COL_START,
                        "开始/结束记录时间只有标点，无法识别",
                        "start/stop text has only punctuation",
                    )
                )
        key = (cell[COL_CATEGORY], cell[COL_STAGE], cell[COL_ITEM])
        if not problems and key in seen_rules:
            problems.append(
                issue(
                    "duplicate_rule",
                    line,
                    COL_ITEM,
                    f"与第 {seen_rules[key]} 行的执法类别、环节和记录事项重复",
                    f"same category, stage and item as line {seen_rules[key]}",
                    first_line=seen_rules[key],
                )
            )
        if problems or interpretation is None:
            result.row_errors.extend(problems)
            continue
        seen_rules[key] = line
        if sequence is not None:
            seen_sequences[sequence] = line
        known_category = cell[COL_CATEGORY] in KNOWN_CATEGORIES
        if not known_category:
            result.warnings.append(
                issue(
                    "unknown_category",
                    line,
                    COL_CATEGORY,
                    f"执法类别「{cell[COL_CATEGORY]}」不在已知类别中，已保留",
                    f"unknown enforcement category {cell[COL_CATEGORY]!r} (kept)",
                    category=cell[COL_CATEGORY],
                )
            )
        for column, moment in (
            (COL_START, interpretation.start),
            (COL_STOP, interpretation.stop),
        ):
            if not moment.standard:
                result.warnings.append(
                    issue(
                        "custom_moment",
                        line,
                        column,
                        f"「{moment.label}」不是标准时刻，已作为自定义时刻 {moment.code} 保存",
                        f"{moment.label!r} is not a standard moment; kept as custom moment "
                        f"{moment.code}",
                        moment=moment.code,
                        label=moment.label,
                    )
                )
        result.rows.append(
            RecordListRow(
                line=line,
                sequence=sequence,
                category=cell[COL_CATEGORY],
                stage=cell[COL_STAGE],
                item=cell[COL_ITEM],
                place=cell[COL_PLACE],
                department=cell[COL_DEPARTMENT],
                start_text=cell[COL_START],
                stop_text=cell[COL_STOP],
                remarks=cell[COL_REMARKS],
                interpretation=interpretation,
                known_category=known_category,
            )
        )
    if not result.rows and not result.row_errors:
        result.file_errors.append(
            RecordListIssue(
                code="no_rows",
                message="文件中没有记录事项",
                message_en="The file has no rows",
            )
        )
    return result


_ALL_COLUMNS: tuple[str, ...] = (*OPTIONAL_COLUMNS, *REQUIRED_COLUMNS)


def _parse_sequence(
    text: str,
    line: int,
    problems: list[RecordListIssue],
    seen: dict[int, int],
    issue: Callable[..., RecordListIssue],
) -> int | None:
    if not text:
        return None
    try:
        sequence = int(text)
    except ValueError:
        problems.append(
            issue(
                "invalid_sequence",
                line,
                COL_SEQUENCE,
                f"序号「{text}」不是整数",
                f"序号 {text!r} is not a whole number",
            )
        )
        return None
    if sequence in seen:
        problems.append(
            issue(
                "duplicate_sequence",
                line,
                COL_SEQUENCE,
                f"序号 {sequence} 与第 {seen[sequence]} 行重复",
                f"序号 {sequence} repeats line {seen[sequence]}",
                first_line=seen[sequence],
            )
        )
    return sequence


_FILE_ERROR_EN = {
    "missing_columns": "Missing required columns",
    "unknown_encoding": "Unknown text encoding (UTF-8, GBK/GB18030 are supported)",
    "unreadable_xlsx": "The XLSX file cannot be read",
    "unreadable_xls": "The XLS file cannot be read",
    "empty_file": "The file is empty",
    "file_too_large": "The file is too large",
}


def _file_error(exc: TableFormatError) -> RecordListIssue:
    details = dict(exc.details)
    english = _FILE_ERROR_EN.get(exc.code, str(exc))
    missing = details.get("missing")
    if exc.code == "missing_columns" and isinstance(missing, list | tuple):
        english = f"{english}: {', '.join(str(name) for name in missing)}"
    return RecordListIssue(code=exc.code, message=str(exc), message_en=english, details=details)
