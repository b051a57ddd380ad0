"""Report tables as CSV (UTF-8 with BOM, so Excel on Chinese Windows opens it) or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse

from backend.config.errors import InvalidInput
from backend.spreadsheet_safety import safe_row

EXPORT_FORMATS = ("json", "csv", "xlsx")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def check_format(fmt: str) -> str:
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            "unknown export format", code="unknown_format", details={"allowed": EXPORT_FORMATS}
        )
    return fmt


def table_bytes(
    rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], fmt: str
) -> bytes:
    """The rows under Chinese headers, in ``csv`` or ``xlsx``."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(safe_row(title for _key, title in columns))
        for row in rows:
            writer.writerow(
                safe_row("" if row.get(key) is None else row.get(key) for key, _t in columns)
            )
        return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("report")
    sheet.append(safe_row(title for _key, title in columns))
    for row in rows:
        sheet.append(safe_row(row.get(key) for key, _title in columns))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def table_response(
    rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], fmt: str, name: str
) -> HttpResponse:
    data = table_bytes(rows, columns, fmt)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else XLSX_MIME
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
