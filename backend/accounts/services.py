"""Units, users and the officer roster import (行政执法人员清单)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.db import transaction

from backend.accounts.models import CertificateStatus, Officer, Unit, UnitKind
from backend.audit.services import Actor, audit_record
from backend.tabular import Table, TableRow, read_table, row_error


def unit_create(*, name: str, kind: str, parent: Unit | None = None) -> Unit:
    with transaction.atomic():
        unit = Unit.objects.create(name=name, kind=kind, parent=parent)
        unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
        unit.save(update_fields=["path"])
    return unit


def unit_get_or_create(*, name: str, kind: str, parent: Unit | None = None) -> Unit:
    existing = Unit.objects.filter(name=name).first()
    return existing if existing is not None else unit_create(name=name, kind=kind, parent=parent)


def unit_kind_from_name(name: str) -> str:
    if name.endswith("司法局"):
        return UnitKind.BUREAU
    if name.endswith("司法所"):
        return UnitKind.OFFICE
    return UnitKind.DEPARTMENT


# The roster as seed 003 prints it has 序号, 姓名, 执法岗位, 执法类型, 编制类别, 证件情况 only:
# the unit falls back to the importing user's unit, the certificate is read from 证件情况.
ROSTER_REQUIRED = ["姓名"]
ROSTER_OPTIONAL = [
    "序号",
    "单位",
    "执法岗位",
    "执法类型",
    "编制类别",
    "证件编号",
    "证件有效期至",
    "证件情况",
]
ROSTER_SYNONYMS = {
    "姓名": ["执法人员姓名", "人员姓名"],
    "单位": ["所在单位", "工作单位", "单位名称", "执法单位"],
    "执法岗位": ["岗位", "职务"],
    "证件编号": ["执法证号", "执法证件号", "执法证件编号", "证件号", "证件号码", "执法证号码"],
    "证件有效期至": ["有效期至", "证件有效期", "有效期", "执法证有效期至"],
    "证件情况": ["持证情况", "执法证情况"],
}
CERTIFICATE_STATUS = {"申领": CertificateStatus.APPLIED, "换发": CertificateStatus.RENEWED}
# 已持证（14042100005，2026-03-31） / 已持证(14042100005, 2026年3月31日)
_HELD = re.compile(
    r"^已?持证\s*[（(]\s*(?P<number>[0-9A-Za-z]+)\s*[，,、;；\s]\s*(?P<until>[^）)]+?)\s*[）)]$"
)


def parse_certificate_text(text: str) -> tuple[str | None, str | None, str]:
    """``证件情况`` → (certificate number, valid-until text, status code).

    "已持证（14042100005，2026-03-31）" carries number and date; "未持证" none; "申领"/"换发"
    (the seed's words) only the status.
    """
    text = text.strip()
    held = _HELD.match(text)
    if held:
        return held["number"], held["until"], CertificateStatus.RENEWED
    if text in CERTIFICATE_STATUS:
        return None, None, CERTIFICATE_STATUS[text]
    return None, None, CertificateStatus.UNKNOWN


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged: list[dict[str, object]] = field(default_factory=list)
    errors: list[dict[str, object]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    default_unit_used: list[str] = field(default_factory=list)

    def error(self, table: Table, row: TableRow | int, column: str, message: str) -> None:
        self.errors.append(row_error(table, row, column, message))

    def as_dict(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "flagged": self.flagged,
            "errors": self.errors,
            "warnings": self.warnings,
            "default_unit_used": self.default_unit_used,
        }


def _parse_date(text: str) -> datetime.date | None:
    text = text.strip().replace("/", "-").replace(".", "-")
    text = text.replace("年", "-").replace("月", "-").rstrip("日")
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def officers_import(
    *,
    source: Path | IO[bytes] | bytes,
    actor: Actor,
    file_name: str | None = None,
    default_unit: Unit | None = None,
    scope: Unit | None = None,
) -> ImportReport:
    """Import the roster, all or nothing: a file with any bad row imports no row and every
    problem is reported with its sheet, row and column. Idempotent: officers are matched by
    certificate number (or by name within a unit when the roster has none). Officers without
    a valid certificate are kept but flagged. A row without 单位 belongs to ``default_unit``
    (the importing user's unit), which the report names. With ``scope`` (a supervisor's
    unit) every row must belong to an existing unit of that subtree and may not take over
    an officer of another unit."""
    table = read_table(
        source,
        required=ROSTER_REQUIRED,
        optional=ROSTER_OPTIONAL,
        synonyms=ROSTER_SYNONYMS,
        file_name=file_name,
    )
    report = ImportReport(warnings=list(table.warnings))
    rows = _roster_rows(table, report, default_unit)
    if scope is not None:
        _roster_check_scope(table, rows, report, scope)
    if report.errors:
        return report
    units = {unit.name: unit for unit in Unit.objects.all()}
    bureau = next(
        (u for u in units.values() if u.kind == UnitKind.BUREAU and u.parent_id is None), None
    )
    with transaction.atomic():
        # The bureau is the root: create it first when the roster names one.
        for row in rows:
            if bureau is None and unit_kind_from_name(row.unit_name) == UnitKind.BUREAU:
                bureau = unit_get_or_create(name=row.unit_name, kind=UnitKind.BUREAU)
                units[bureau.name] = bureau
        for row in rows:
            unit = units.get(row.unit_name)
            if unit is None:
                unit = unit_create(
                    name=row.unit_name, kind=unit_kind_from_name(row.unit_name), parent=bureau
                )
                units[row.unit_name] = unit
            _roster_save(row, unit, actor, report)
    return report


def _roster_check_scope(
    table: Table, rows: list[_RosterRow], report: ImportReport, scope: Unit
) -> None:
    inside = {u.name: u for u in Unit.objects.filter(path__startswith=scope.path)}
    numbers = [row.certificate for row in rows if row.certificate]
    elsewhere = set(
        Officer.objects.filter(certificate_number__in=numbers)
        .exclude(unit__path__startswith=scope.path)
        .values_list("certificate_number", flat=True)
    )
    for row in rows:
        if row.unit_name not in inside:
            report.error(table, row.line, "单位", f"无权导入单位「{row.unit_name}」的人员")
        elif row.certificate in elsewhere:
            report.error(
                table, row.line, "证件编号", f"证件编号 {row.certificate} 属于其他单位的人员"
            )


@dataclass
class _RosterRow:
    line: int
    name: str
    unit_name: str
    certificate: str | None
    fields: dict[str, object]


def _roster_rows(table: Table, report: ImportReport, default_unit: Unit | None) -> list[_RosterRow]:
    rows: list[_RosterRow] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        values = row.values
        name = values.get("姓名", "").strip()
        if not name:
            report.error(table, row, "姓名", "姓名不能为空")
            continue
        unit_name = values.get("单位", "").strip()
        if not unit_name:
            if default_unit is None:
                report.error(table, row, "单位", "单位为空，且未指定导入单位")
                continue
            unit_name = default_unit.name
            if default_unit.name not in report.default_unit_used:
                report.default_unit_used.append(default_unit.name)
        number, until_text, status = parse_certificate_text(values.get("证件情况", ""))
        certificate = values.get("证件编号", "").strip() or number
        until_text = values.get("证件有效期至", "").strip() or until_text or ""
        try:
            valid_until = _parse_date(until_text)
        except ValueError:
            report.error(table, row, "证件有效期至", f"证件有效期无法识别：{until_text}")
            continue
        number_column = "证件编号" if "证件编号" in table.columns else "证件情况"
        if certificate is not None and not certificate.isalnum():
            report.error(table, row, number_column, f"证件编号格式不正确：{certificate}")
            continue
        if certificate and certificate in seen:
            report.error(
                table, row, number_column, f"证件编号 {certificate} 与第 {seen[certificate]} 行重复"
            )
            continue
        if certificate:
            seen[certificate] = row.line
        rows.append(
            _RosterRow(
                line=row.line,
                name=name,
                unit_name=unit_name,
                certificate=certificate,
                fields={
                    "name": name,
                    "post": values.get("执法岗位", ""),
                    "enforcement_type": values.get("执法类型", ""),
                    "staffing_category": values.get("编制类别", ""),
                    "certificate_valid_until": valid_until,
                    "certificate_status": status,
                },
            )
        )
    return rows


def _roster_save(row: _RosterRow, unit: Unit, actor: Actor, report: ImportReport) -> None:
    fields = {**row.fields, "unit": unit}
    certificate = row.certificate
    officer = (
        Officer.objects.filter(certificate_number=certificate).first()
        if certificate
        else Officer.objects.filter(
            certificate_number__isnull=True, name=row.name, unit=unit
        ).first()
    )
    if officer is None:
        officer = Officer.objects.create(certificate_number=certificate, **fields)
        report.created += 1
        audit_record(
            actor=actor,
            action="officer.imported",
            object_type="officer",
            object_id=officer.pk,
            data={"line": row.line, "certificate_number": certificate},
        )
    else:
        changed = {k: v for k, v in fields.items() if getattr(officer, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(officer, key, value)
            officer.save()
            report.updated += 1
            audit_record(
                actor=actor,
                action="officer.updated",
                object_type="officer",
                object_id=officer.pk,
                data={"line": row.line, "fields": sorted(changed)},
            )
        else:
            report.unchanged += 1
    problem = officer.certificate_problem
    if problem:
        report.flagged.append({"line": row.line, "name": row.name, "problem": problem})
