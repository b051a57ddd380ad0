"""Reading the official spreadsheets (rosters, record lists, item lists): CSV or XLSX.

Chinese offices save CSV from Excel as GBK/GB18030, sometimes UTF-8 with a BOM; the
reader accepts all three and XLSX, matches the Chinese headers, skips blank rows and
reports problems per row instead of giving up on the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

MAX_TABLE_BYTES = 20 * 1024 * 1024
# Rows above the header (a title, the notice's name, a date line) that are skipped while
# looking for the row with every required column.
HEADER_SEARCH_ROWS = 5


class TableFormatError(ValueError):
    """The file as a whole cannot be read (wrong type, encoding, missing columns)."""

    def __init__(self, message: str, *, code: str, details: dict[str, object] | None = None):
        super().__init__(message)
        self.code = code
        self.details = details or {}


@dataclass(frozen=True)
class TableRow:
    line: int  # 1-based line (CSV) or row number (XLSX) as a person sees it in the file
    values: dict[str, str]


@dataclass
class Table:
    headers: list[str]
    rows: list[TableRow] = field(default_factory=list)


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
    if hasattr(value, "isoformat") and not isinstance(value, str):
        text = value.isoformat()  # dates from XLSX cells
        return text[:10] if text.endswith("T00:00:00") else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().replace("\u3000", " ").strip()


def _rows_from_csv(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = decode_csv_bytes(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    for index, row in enumerate(reader, start=1):
        yield index, [_clean(cell) for cell in row]


def _rows_from_xlsx(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise TableFormatError(
            "XLSX 文件无法读取", code="unreadable_xlsx", details={"error": str(exc)[:200]}
        ) from exc
    sheet = workbook.worksheets[0]
    for index, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield index, [_clean(cell) for cell in row]


def read_table(
    source: Path | IO[bytes] | bytes,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    file_name: str | None = None,
) -> Table:
    """Read a CSV/XLSX table: the headers are the first non-blank row that holds every
    required column (up to HEADER_SEARCH_ROWS title rows above it are skipped).

    Raises TableFormatError when a required column is missing; blank rows are skipped.
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
    is_xlsx = data[:4] == b"PK\x03\x04" or (file_name or "").lower().endswith(".xlsx")
    rows = _rows_from_xlsx(data) if is_xlsx else _rows_from_csv(data)

    headers: list[str] | None = None
    table: Table | None = None
    first_row: list[str] | None = None
    skipped = 0
    for line, cells in rows:
        if not any(cells):
            continue
        if headers is None:
            candidate = [cell.lstrip("\ufeff") for cell in cells]
            first_row = first_row or candidate
            missing = [name for name in required if name not in candidate]
            if missing and skipped < HEADER_SEARCH_ROWS:
                # A title row (e.g. the notice's name) above the header: look further down.
                skipped += 1
                continue
            if missing:
                _raise_missing(required, first_row)
            headers = candidate
            table = Table(headers=[h for h in headers if h in (*required, *optional)])
            continue
        assert table is not None
        values = {
            name: (cells[position] if position < len(cells) else "")
            for position, name in enumerate(headers)
            if name in table.headers
        }
        table.rows.append(TableRow(line=line, values=values))
    if table is None:
        if first_row is not None:
            _raise_missing(required, first_row)
        raise TableFormatError("文件为空", code="empty_file")
    return table


def _raise_missing(required: Sequence[str], found: list[str]) -> None:
    missing = [name for name in required if name not in found]
    raise TableFormatError(
        f"缺少必需的列：{'、'.join(missing)}",
        code="missing_columns",
        details={"missing": missing, "found": found},
    )
