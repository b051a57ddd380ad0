"""The destruction register (销毁清册) as XLSX and as a printable HTML page."""

from __future__ import annotations

import io
from collections.abc import Iterable

from django.template.loader import render_to_string
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from backend.retention.models import DestructionRegisterEntry
from backend.spreadsheet_safety import safe_row

COLUMNS = [
    ("序号", "number"),
    ("音像记录编号", "recording_id"),
    ("文件名", "file_name"),
    ("设备序列号", "device_serial"),
    ("执法人员", "officer_name"),
    ("单位", "unit_name"),
    ("SHA-256", "sha256"),
    ("大小（字节）", "size_bytes"),
    ("录制开始", "recorded_started_at"),
    ("录制结束", "recorded_ended_at"),
    ("入库时间", "stored_at"),
    ("保存至", "retention_until"),
    ("到期依据", "reason_due"),
    ("销毁批次", "batch_id_ref"),
    ("经办人", "prepared_by"),
    ("批准人", "approved_by"),
    ("批准时间", "approved_at"),
    ("销毁时间", "destroyed_at"),
    ("审计序号", "audit_sequence"),
]


def _cell(entry: DestructionRegisterEntry, attribute: str) -> object:
    value = getattr(entry, attribute)
    if hasattr(value, "tzinfo") and value is not None:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if attribute == "recording_id":
        return str(value)
    return value


def register_rows(entries: Iterable[DestructionRegisterEntry]) -> list[list[object]]:
    return [[_cell(e, attribute) for _label, attribute in COLUMNS] for e in entries]


def register_xlsx(entries: Iterable[DestructionRegisterEntry]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "销毁清册"
    sheet.append([label for label, _attribute in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for row in register_rows(entries):
        sheet.append(safe_row(row))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def register_print_html(entries: Iterable[DestructionRegisterEntry]) -> str:
    return render_to_string(
        "retention/register_print.html",
        {
            "headers": [label for label, _attribute in COLUMNS],
            "rows": register_rows(entries),
            "printed_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        },
    )
