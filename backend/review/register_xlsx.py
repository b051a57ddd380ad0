"""The access register (查阅登记簿) and the audit log as XLSX workbooks, Chinese headings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.utils import timezone
from openpyxl import Workbook

from backend.accounts.models import Role
from backend.review.models import AccessRegisterEntry

if TYPE_CHECKING:
    from backend.review.audit_wording import EventLine

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


def _cell(text: str) -> str:
    # A spreadsheet must not run what a user typed: neutralise formula starts.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def register_workbook(entries: Iterable[AccessRegisterEntry]) -> Workbook:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("查阅登记簿")
    sheet.append(list(COLUMNS))
    for entry in entries:
        recording = entry.recording
        sheet.append(
            [
                entry.pk,
                timezone.localtime(entry.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                _cell(entry.user_display),
                _cell(entry.user_unit),
                str(Role(entry.user_role).label) if entry.user_role in Role.values else "",
                str(entry.get_action_display()),
                str(entry.get_basis_display()),
                _cell(entry.purpose),
                str(recording.pk) if recording else "",
                _cell(recording.file_name) if recording else "",
                recording.sha256 if recording else "",
                str(entry.grant_id or ""),
                str(entry.export_id or ""),
                entry.ip_address or "",
            ]
        )
    return workbook


AUDIT_COLUMNS = ("序号", "时间", "操作者", "事件", "对象类别", "对象", "详情", "事件代码", "哈希")


def audit_workbook(lines: Iterable[EventLine], *, truncated: bool = False) -> Workbook:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("审计日志")
    if truncated:
        sheet.append(["（仅导出最新的部分事件；请缩小日期范围后分批导出）"])
    sheet.append(list(AUDIT_COLUMNS))
    for line in lines:
        event = line.event
        sheet.append(
            [
                event.sequence,
                timezone.localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                _cell(line.actor),
                _cell(line.verb),
                _cell(line.object_kind),
                _cell(line.object_title),
                _cell("；".join(f"{label}：{value}" for label, value in line.details)),
                event.action,
                event.entry_hash,
            ]
        )
    return workbook
