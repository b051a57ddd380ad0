"""The access register as an XLSX workbook (查阅登记簿), Chinese column headings."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from openpyxl import Workbook

from backend.review.models import AccessRegisterEntry
from backend.spreadsheet_safety import safe_row

COLUMNS = (
    "序号",
    "时间",
    "查阅人",
    "查阅人单位",
    "角色",
    "方式",
    "依据",
    "事由",
    "音像记录编号",
    "文件名",
    "SHA-256",
    "授权编号",
    "导出包编号",
    "IP",
)


def register_workbook(entries: Iterable[AccessRegisterEntry]) -> Workbook:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("查阅登记簿")
    sheet.append(list(COLUMNS))
    for entry in entries:
        recording = entry.recording
        sheet.append(
            safe_row(
                [
                    entry.pk,
                    timezone.localtime(entry.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                    entry.user_display,
                    entry.user_unit,
                    entry.user_role,
                    str(entry.get_action_display()),
                    str(entry.get_basis_display()),
                    entry.purpose,
                    str(recording.pk) if recording else "",
                    recording.file_name if recording else "",
                    recording.sha256 if recording else "",
                    str(entry.grant_id or ""),
                    str(entry.export_id or ""),
                    entry.ip_address or "",
                ]
            )
        )
    return workbook
