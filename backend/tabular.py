"""One tolerant reader for every official spreadsheet (rosters, record lists, item lists,
activities, enforcement matters, holiday calendars, review catalogues): CSV, XLSX or XLS.

Files come as offices make them, and the reader takes them so:

* CSV saved from Excel as GBK/GB18030, UTF-8 or UTF-8 with a BOM; XLSX; old XLS.
* A title row (``平顺县司法局音像记录事项清单``), blank rows or notes above the header: the
  header is the first of the leading rows that holds every required column.
* Header cells broken over lines (``证件\\n编号``), with spaces, full-width brackets or a
  ``*`` required marker; headers over two rows with merged parent cells (``证件`` above
  ``编号`` and ``有效期至``): a child is matched alone and as parent + child.
* Known synonyms of a column name (``证件号码`` for ``证件编号``).
* Merged cells in the data (a category merged down several rows) count for every row.
* Trailing notes (``注：…``, ``说明：…``, ``填表人：…``) and totally blank columns are ignored;
  unknown extra columns are kept as a warning, never a refusal.

Problems are reported where a person finds them in Excel: sheet, row, column letter
(:func:`cell_ref`). The module is Django-free.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn, Protocol

from backend.spreadsheet_safety import FORMULA_STARTS, safe_cell

MAX_TABLE_BYTES = 20 * 1024 * 1024
# How many non-blank rows at the top may stand above the header (titles, notes, units).
HEADER_SEARCH_ROWS = 12
_NOTE_PREFIX = re.compile(
    r"^(注|备注|说明|附注|填表人|填报人|制表人|审核人|联系电话|填报日期)\s*[:：]"
)
_HEADER_NOISE = re.compile(r"[\s\u3000*＊]+")
_BRACKETS = str.maketrans({"（": "(", "）": ")", "：": ":"})


def neutralise_formula(text: str) -> str:
    """A text a user typed, safe in a spreadsheet (backend/spreadsheet_safety.py, the one
    guard); the reader strips the apostrophe again, so an export reads back unchanged."""
    return str(safe_cell(text))


class TableFormatError(ValueError):
    """The file as a whole cannot be read (wrong type, encoding, missing columns)."""

    def __init__(self, message: str, *, code: str, details: dict[str, object] | None = None):
        super().__init__(message)
        self.code = code
        self.details = details or {}


@dataclass(frozen=True)
class TableRow:
    line: int  # 1-based row number as a person sees it in the file (CSV line, Excel row)
    values: dict[str, str]
    sheet: str = ""


@dataclass
class Table:
    headers: list[str]
    rows: list[TableRow] = field(default_factory=list)
    sheet: str = ""
    header_line: int = 1
    # Column letter (A, B, …, AA) of each known column, as Excel shows it.
    columns: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def cell_ref(self, row: TableRow | int, column: str | None = None) -> str:
        """``工作表「名册」第 5 行 C 列（证件编号）`` — where a person finds the cell."""
        line = row.line if isinstance(row, TableRow) else row
        return cell_ref(self.sheet, line, self.columns.get(column or ""), column)


def cell_ref(sheet: str, line: int, letter: str | None = None, column: str | None = None) -> str:
    where = f"工作表「{sheet}」" if sheet else ""
    where += f"第 {line} 行"
    if letter:
        where += f" {letter} 列"
    if column:
        where += f"（{column}）"
    return where


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (Excel's column names)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def normalise_header(text: str) -> str:
    """Header text without line breaks, spaces, required markers; half-width brackets."""
    return _HEADER_NOISE.sub("", text.lstrip("\ufeff")).translate(_BRACKETS)


def decode_csv_bytes(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise TableFormatError(
            "文件编码无法识别（支持 UTF-8、GBK/GB18030）",
            code="unknown_encoding",
            details={"position": exc.start},
        ) from exc


def _clean(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] == "'" and value[1:2] in FORMULA_STARTS:
        return value[1:].strip()  # a cell our export neutralised: the apostrophe is not data
    if hasattr(value, "isoformat") and not isinstance(value, str):
        text = value.isoformat()  # dates from XLSX cells
        return text[:10] if text.endswith("T00:00:00") else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().replace("\u3000", " ").strip()


# A grid: (sheet name, rows of (row number, cells)); merged ranges already filled in.
Grid = tuple[str, list[tuple[int, list[str]]]]


def _grid_from_csv(data: bytes) -> Grid:
    text = decode_csv_bytes(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    return "", [(index, [_clean(cell) for cell in row]) for index, row in enumerate(reader, 1)]


def _fill_merged(cells: list[list[str]], ranges: Iterable[tuple[int, int, int, int]]) -> None:
    """Copy each merged range's top-left value into every cell of the range (0-based,
    end-exclusive rows and columns)."""
    for row_lo, row_hi, col_lo, col_hi in ranges:
        if row_lo >= len(cells):
            continue
        top = cells[row_lo]
        value = top[col_lo] if col_lo < len(top) else ""
        for r in range(row_lo, min(row_hi, len(cells))):
            row = cells[r]
            if len(row) < col_hi:
                row.extend([""] * (col_hi - len(row)))
            for c in range(col_lo, col_hi):
                row[c] = value


def _grid_from_xlsx(data: bytes) -> Grid:
    from openpyxl import load_workbook

    try:
        # Not read-only: merged ranges are only known to the full reader (files ≤ 20 MiB).
        workbook = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise TableFormatError(
            "XLSX 文件无法读取", code="unreadable_xlsx", details={"error": str(exc)[:200]}
        ) from exc
    sheet = workbook.worksheets[0]
    cells = [[_clean(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    _fill_merged(
        cells,
        ((r.min_row - 1, r.max_row, r.min_col - 1, r.max_col) for r in sheet.merged_cells.ranges),
    )
    return sheet.title, list(enumerate(cells, 1))


def _grid_from_xls(data: bytes) -> Grid:
    import xlrd  # type: ignore[import-untyped]

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True)
    except Exception as exc:  # xlrd raises XLRDError, CompDocError, struct errors …
        raise TableFormatError(
            "XLS 文件无法读取", code="unreadable_xls", details={"error": str(exc)[:200]}
        ) from exc
    sheet = book.sheet_by_index(0)
    cells: list[list[str]] = []
    for r in range(sheet.nrows):
        row: list[str] = []
        for c in range(sheet.ncols):
            cell = sheet.cell(r, c)
            value: Any = cell.value
            if cell.ctype == xlrd.XL_CELL_DATE:
                value = xlrd.xldate.xldate_as_datetime(value, book.datemode)
            row.append(_clean(value))
        cells.append(row)
    _fill_merged(cells, sheet.merged_cells)
    return sheet.name, list(enumerate(cells, 1))


def _read_grid(data: bytes, file_name: str) -> Grid:
    name = file_name.lower()
    if data[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        return _grid_from_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or name.endswith(".xls"):
        return _grid_from_xls(data)
    return _grid_from_csv(data)


def _is_note(cells: list[str]) -> bool:
    filled = {cell for cell in cells if cell}  # a note merged across the row repeats itself
    return len(filled) == 1 and bool(_NOTE_PREFIX.match(next(iter(filled))))


def _match_header(
    cells: list[str], parents: list[str] | None, aliases: Mapping[str, str]
) -> dict[int, str]:
    """Column index → canonical name for the cells of a candidate header row."""
    found: dict[int, str] = {}
    for index, cell in enumerate(cells):
        candidates = [normalise_header(cell)]
        if parents is not None and index < len(parents) and parents[index]:
            parent = normalise_header(parents[index])
            if parent != candidates[0]:
                candidates.append(parent + candidates[0])
                if not cell:
                    candidates = [parent]
        for candidate in candidates:
            canonical = aliases.get(candidate)
            if canonical and canonical not in found.values():
                found[index] = canonical
                break
    return found


def read_table(
    source: Path | IO[bytes] | bytes,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    synonyms: Mapping[str, Sequence[str]] | None = None,
    file_name: str | None = None,
) -> Table:
    """Read the first sheet of a CSV/XLSX/XLS table, finding its header among the top rows.

    ``synonyms`` maps a canonical column name to the other names offices give it. Raises
    :class:`TableFormatError` when no row among the first ones holds every required column
    (naming the missing ones as found in the best candidate row).
    """
    if isinstance(source, Path):
        file_name = file_name or source.name
        data = source.read_bytes()
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read(MAX_TABLE_BYTES + 1)
    if len(data) > MAX_TABLE_BYTES:
        raise TableFormatError(
            "文件过大", code="file_too_large", details={"max_bytes": MAX_TABLE_BYTES}
        )
    sheet, grid = _read_grid(data, file_name or "")
    known = [*required, *optional]
    aliases: dict[str, str] = {normalise_header(name): name for name in known}
    for canonical, others in (synonyms or {}).items():
        for other in others:
            aliases.setdefault(normalise_header(other), canonical)

    nonblank = [
        (position, line, cells) for position, (line, cells) in enumerate(grid) if any(cells)
    ]
    if not nonblank:
        raise TableFormatError("文件为空", code="empty_file")

    best: tuple[int, int, dict[int, str]] | None = None  # (position, line, columns)
    previous: list[str] | None = None
    candidates = nonblank[:HEADER_SEARCH_ROWS]
    for index, (position, line, cells) in enumerate(candidates):
        for parents in (None, previous):
            columns = _match_header(cells, parents, aliases)
            if best is None or len(columns) > len(best[2]):
                best = (position, line, columns)
            if all(name in columns.values() for name in required):
                # The top row of a two-row header may hold every required column already
                # (证件 over 编号 and 有效期至): the row below, read under it, knows more.
                if index + 1 < len(candidates):
                    below_position, below_line, below = candidates[index + 1]
                    deeper = _match_header(below, cells, aliases)
                    if len(deeper) > len(columns) and all(
                        name in deeper.values() for name in required
                    ):
                        return _table(sheet, grid, below_position, below_line, below, deeper, known)
                return _table(sheet, grid, position, line, cells, columns, known)
        previous = cells
    assert best is not None
    found_names = set(best[2].values())
    missing = [name for name in required if name not in found_names]
    raise TableFormatError(
        f"缺少必需的列：{'、'.join(missing)}（在前 {HEADER_SEARCH_ROWS} 行中未找到表头）",
        code="missing_columns",
        details={"missing": missing, "found": [c for c in grid[best[0]][1] if c], "line": best[1]},
    )


def _table(
    sheet: str,
    grid: list[tuple[int, list[str]]],
    position: int,
    header_line: int,
    header_cells: list[str],
    columns: dict[int, str],
    known: Sequence[str],
) -> Table:
    table = Table(
        headers=[name for name in known if name in columns.values()],
        sheet=sheet,
        header_line=header_line,
        columns={name: column_letter(index) for index, name in columns.items()},
    )
    for index, cell in enumerate(header_cells):
        if cell and index not in columns:
            header_has_data = any(
                index < len(cells) and cells[index] for _line, cells in grid[position + 1 :]
            )
            if header_has_data:
                table.warnings.append(f"未识别的列已忽略：{cell}（{column_letter(index)} 列）")
    for line, cells in grid[position + 1 :]:
        if not any(cells):
            continue
        if _is_note(cells):
            continue
        values = {
            name: (cells[index] if index < len(cells) else "") for index, name in columns.items()
        }
        if not any(values.values()):
            continue  # only unknown columns filled: a note or a stray cell
        # A second header row repeated below (merged two-row headers) is not data.
        if all(normalise_header(values[name]) in (normalise_header(name), "") for name in values):
            continue
        table.rows.append(TableRow(line=line, values=values, sheet=sheet))
    return table


def rows_refused_message(count: int) -> str:
    """The one sentence of every import a bad row refuses (all or nothing)."""
    return f"文件中有 {count} 处问题，未导入任何数据；请修正后重新导入"


class _Report(Protocol):
    errors: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]: ...


def refuse_import(report: _Report) -> NoReturn:
    """All or nothing: a report with bad rows answers 400 ``rows_invalid`` with every row's
    problem in ``details``; raised inside the import's transaction, it rolls back any row
    already written."""
    from backend.config.errors import InvalidInput

    raise InvalidInput(
        rows_refused_message(len(report.errors)), code="rows_invalid", details=report.as_dict()
    )


def invalid_table(exc: TableFormatError) -> Exception:
    """A file that cannot be read as a table, as the API's 400."""
    from backend.config.errors import InvalidInput

    return InvalidInput(str(exc), code=exc.code, details=dict(exc.details))


def row_error(
    table: Table,
    row: TableRow | int,
    column: str | None,
    message: str,
    *,
    code: str = "invalid_cell",
    **details: object,
) -> dict[str, Any]:
    """One row's problem as every importer reports it: where a person finds the cell
    (sheet, row, column letter and name) and the Chinese message."""
    line = row.line if isinstance(row, TableRow) else row
    where = table.cell_ref(line, column)
    return {
        "code": code,
        "line": line,
        "sheet": table.sheet,
        "column": table.columns.get(column or "", ""),
        "field": column or "",
        "where": where,
        "error": message,
        "message": f"{where}：{message}",
        "details": details,
    }


def write_table_xlsx(
    *, title: str, sheet: str, headers: Sequence[str], rows: Iterable[Sequence[object]]
) -> bytes:
    """A table in the official layout: a title row merged across the columns, the header,
    then the rows. Texts are neutralised (:func:`neutralise_formula`); :func:`read_table`
    reads the file back as it was written."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet[:31]
    worksheet.append([title])
    worksheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(headers), 1))
    worksheet["A1"].font = Font(bold=True, size=14)
    worksheet["A1"].alignment = Alignment(horizontal="center")
    worksheet.append(list(headers))
    for cell in worksheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        worksheet.append(
            [neutralise_formula(value) if isinstance(value, str) else value for value in row]
        )
    worksheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
