"""Files made the way bureaus make them, at test time: a title row, a header over two rows
with a merged parent cell, synonyms of the column names, a note below the rows; saved as
XLSX (openpyxl), old XLS (xlwt) or CSV in GBK, GB18030 or UTF-8 with a BOM."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import openpyxl
import xlwt  # type: ignore[import-untyped]

FORMATS = ("xlsx", "xls", "csv-gbk", "csv-gb18030", "csv-utf8-bom")
NOTE = "注：本表由办公室填报，每年更新一次。"
# A header column: a name, or (parent, [children]) for a merged two-row header.
Column = str | tuple[str, Sequence[str]]


@dataclass(frozen=True)
class Made:
    data: bytes
    name: str
    sheet: str  # "" for CSV
    first_line: int  # the row number of the first data row as Excel shows it

    def where(self, offset: int, letter: str, column: str) -> str:
        """The cell_ref of the data row ``offset`` (0-based) as the importer must say it."""
        sheet = f"工作表「{self.sheet}」" if self.sheet else ""
        return f"{sheet}第 {self.first_line + offset} 行 {letter} 列（{column}）"


def xlsx(
    rows: Sequence[Sequence[object]], merges: Sequence[str] = (), title: str = "Sheet1"
) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xls(
    rows: Sequence[Sequence[object]],
    merges: Sequence[tuple[int, int, int, int]] = (),
    title: str = "清单",
) -> bytes:
    """Old Excel; ``merges`` as (first row, last row, first column, last column), 0-based."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet(title)
    merged = {(r0, c0): (r1, c1) for r0, r1, c0, c1 in merges}
    covered = {
        (r, c)
        for (r0, c0), (r1, c1) in merged.items()
        for r in range(r0, r1 + 1)
        for c in range(c0, c1 + 1)
    }
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if (r, c) in merged:
                r1, c1 = merged[(r, c)]
                sheet.write_merge(r, r1, c, c1, value)
            elif (r, c) not in covered and value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _letter(index: int) -> str:
    return chr(65 + index)


def make(
    fmt: str,
    *,
    title: str,
    header: Sequence[Column],
    rows: Sequence[Sequence[object]],
    sheet: str = "名单",
) -> Made:
    """A file of ``fmt``: the title row (merged across), a blank row, the header (two rows
    when a column has children; CSV writes the children as 'parent+child' on one row), the
    rows, a blank row and a note."""
    flat: list[str] = []
    for column in header:
        if isinstance(column, str):
            flat.append(column)
        else:
            flat.extend(column[1])
    width = len(flat)
    two_rows = any(not isinstance(c, str) for c in header) and not fmt.startswith("csv")
    grid: list[list[object]] = [[title] + [None] * (width - 1), [None] * width]
    merges_xlsx = [f"A1:{_letter(width - 1)}1"]
    merges_xls = [(0, 0, 0, width - 1)]
    if two_rows:
        top: list[object] = []
        bottom: list[object] = []
        for column in header:
            col = len(top)
            if isinstance(column, str):
                top.append(column)
                bottom.append(None)
                merges_xlsx.append(f"{_letter(col)}3:{_letter(col)}4")
                merges_xls.append((2, 3, col, col))
            else:
                parent, children = column
                top.extend([parent] + [None] * (len(children) - 1))
                bottom.extend(children)
                merges_xlsx.append(f"{_letter(col)}3:{_letter(col + len(children) - 1)}3")
                merges_xls.append((2, 2, col, col + len(children) - 1))
        grid += [top, bottom]
    else:
        names: list[object] = []
        for column in header:
            if isinstance(column, str):
                names.append(column)
            else:
                names.extend(column[0] + child for child in column[1])
        grid.append(names)
    first_line = len(grid) + 1
    grid += [list(row) for row in rows]
    grid += [[None] * width, [NOTE] + [None] * (width - 1)]
    if fmt == "xlsx":
        return Made(xlsx(grid, merges_xlsx, title=sheet), "名单.xlsx", sheet, first_line)
    if fmt == "xls":
        return Made(xls(grid, merges_xls, title=sheet), "名单.xls", sheet, first_line)
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(
        [["" if cell is None else cell for cell in row] for row in grid]
    )
    encoding = {"csv-gbk": "gbk", "csv-gb18030": "gb18030", "csv-utf8-bom": "utf-8-sig"}[fmt]
    return Made(text.getvalue().encode(encoding), "名单.csv", "", first_line)
