"""Units, users and the officer roster import (行政执法人员清单)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.db import transaction

from backend.accounts.models import CertificateStatus, Officer, Unit, UnitKind
from backend.audit.services import Actor, audit_record
from backend.tabular import TableFormatError, read_table


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


ROSTER_REQUIRED = ["姓名", "单位", "证件编号", "证件有效期至"]
ROSTER_OPTIONAL = ["序号", "执法岗位", "执法类型", "编制类别", "证件情况"]
CERTIFICATE_STATUS = {"申领": CertificateStatus.APPLIED, "换发": CertificateStatus.RENEWED}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged: list[dict[str, object]] = field(default_factory=list)
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "flagged": self.flagged,
            "errors": self.errors,
        }


def _parse_date(text: str) -> datetime.date | None:
    text = text.strip().replace("/", "-").replace(".", "-")
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def officers_import(
    *, source: Path | IO[bytes] | bytes, actor: Actor, file_name: str | None = None
) -> ImportReport:
    """Import the roster. Idempotent: officers are matched by certificate number (or by name
    within a unit when the roster has none); a row with a problem is reported and skipped,
    the other rows still import. Officers without a valid certificate are kept but flagged."""
    try:
        table = read_table(
            source, required=ROSTER_REQUIRED, optional=ROSTER_OPTIONAL, file_name=file_name
        )
    except TableFormatError:
        raise
    report = ImportReport()
    units = {unit.name: unit for unit in Unit.objects.all()}
    bureau = next(
        (u for u in units.values() if u.kind == UnitKind.BUREAU and u.parent_id is None), None
    )
    # The bureau is the root: create it first when the roster names one.
    for row in table.rows:
        unit_name = row.values.get("单位", "")
        if bureau is None and unit_kind_from_name(unit_name) == UnitKind.BUREAU:
            bureau = unit_get_or_create(name=unit_name, kind=UnitKind.BUREAU)
            units[bureau.name] = bureau
    with transaction.atomic():
        for row in table.rows:
            values = row.values
            name = values.get("姓名", "").strip()
            unit_name = values.get("单位", "").strip()
            if not name or not unit_name:
                report.errors.append({"line": row.line, "error": "姓名和单位不能为空"})
                continue
            try:
                valid_until = _parse_date(values.get("证件有效期至", ""))
            except ValueError:
                report.errors.append(
                    {"line": row.line, "error": f"证件有效期无法识别：{values.get('证件有效期至')}"}
                )
                continue
            certificate = values.get("证件编号", "").strip() or None
            if certificate is not None and not certificate.isalnum():
                report.errors.append(
                    {"line": row.line, "error": f"证件编号格式不正确：{certificate}"}
                )
                continue
            unit = units.get(unit_name)
            if unit is None:
                unit = unit_create(
                    name=unit_name, kind=unit_kind_from_name(unit_name), parent=bureau
                )
                units[unit_name] = unit
            fields = {
                "name": name,
                "unit": unit,
                "post": values.get("执法岗位", ""),
                "enforcement_type": values.get("执法类型", ""),
                "staffing_category": values.get("编制类别", ""),
                "certificate_valid_until": valid_until,
                "certificate_status": CERTIFICATE_STATUS.get(
                    values.get("证件情况", ""), CertificateStatus.UNKNOWN
                ),
            }
            officer = (
                Officer.objects.filter(certificate_number=certificate).first()
                if certificate
                else Officer.objects.filter(
                    certificate_number__isnull=True, name=name, unit=unit
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
                report.flagged.append({"line": row.line, "name": name, "problem": problem})
    return report
