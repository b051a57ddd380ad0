"""The review catalogue (重大行政执法决定法制审核目录清单, 第三条): imported in its official
columns through the one tolerant reader (title row, merged headers, GBK, XLS…); a case
opened for an item of the catalogue needs legal review, its basis named after the item."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import transaction

from backend.accounts.models import Unit, User
from backend.audit.services import Actor, audit_record
from backend.cases.models import ReviewCatalogueEntry
from backend.tabular import (
    TableFormatError,
    TableRow,
    invalid_table,
    read_table,
    refuse_import,
    row_error,
)

CATALOGUE_REQUIRED = ["执法类别", "审核项目"]
CATALOGUE_OPTIONAL = [
    "序号",
    "承办机构",
    "审核条件",
    "审核依据",
    "审核机构",
    "提交的审核材料",
    "审核重点",
]
CATALOGUE_COLUMNS = ("序号", *CATALOGUE_REQUIRED, *CATALOGUE_OPTIONAL[1:])
CATALOGUE_SYNONYMS = {
    "审核项目": ("审核事项", "执法事项", "事项名称"),
    "提交的审核材料": ("审核材料", "提交材料"),
    "审核依据": ("法律依据",),
}
_FIELDS = {
    "执法类别": "category",
    "承办机构": "organiser",
    "审核条件": "condition",
    "审核依据": "basis",
    "审核机构": "reviewing_body",
    "提交的审核材料": "materials",
    "审核重点": "focus",
}


@dataclass
class CatalogueReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def review_catalogue_import(
    *, unit: Unit, source: Path | IO[bytes] | bytes, actor: User, file_name: str | None = None
) -> CatalogueReport:
    """Rows are matched by 审核项目 within the unit. All or nothing: any bad row (by sheet,
    row and column) imports no row (400 ``rows_invalid``)."""
    try:
        table = read_table(
            source,
            required=CATALOGUE_REQUIRED,
            optional=CATALOGUE_OPTIONAL,
            synonyms=CATALOGUE_SYNONYMS,
            file_name=file_name,
        )
    except TableFormatError as exc:
        raise invalid_table(exc) from exc
    report = CatalogueReport(warnings=list(table.warnings))
    seen: dict[str, int] = {}
    with transaction.atomic():
        for row in table.rows:
            values = row.values
            before = len(report.errors)

            def fail(column: str, message: str, row: TableRow = row) -> None:
                report.errors.append(row_error(table, row, column, message))

            for column in CATALOGUE_REQUIRED:
                if not values.get(column):
                    fail(column, f"缺少{column}")
            sequence = values.get("序号", "")
            if sequence and not sequence.isdigit():
                fail("序号", f"序号须为整数：{sequence}")
            item = values.get("审核项目", "")
            if item and item in seen:
                fail("审核项目", f"审核项目与第 {seen[item]} 行重复：{item}")
            seen.setdefault(item, row.line)
            if len(report.errors) > before:
                continue
            wanted: dict[str, Any] = {
                name: values.get(column, "") for column, name in _FIELDS.items()
            }
            wanted["sequence"] = int(sequence) if sequence else None
            existing = ReviewCatalogueEntry.objects.filter(unit=unit, item=item).first()
            if existing is None:
                ReviewCatalogueEntry.objects.create(unit=unit, item=item, **wanted)
                report.created += 1
            elif any(getattr(existing, k) != v for k, v in wanted.items()):
                for k, v in wanted.items():
                    setattr(existing, k, v)
                existing.save()
                report.updated += 1
            else:
                report.unchanged += 1
        if report.errors:
            refuse_import(report)
        audit_record(
            actor=Actor.user(actor),
            action="review_catalogue.imported",
            object_type="unit",
            object_id=unit.pk,
            data={**report.as_dict(), "file_name": file_name or ""},
        )
    return report


def catalogue_basis(entry: ReviewCatalogueEntry) -> str:
    """The review basis a case opened for `entry` records."""
    number = f"第 {entry.sequence} 项" if entry.sequence is not None else ""
    return f"法制审核目录清单{number}：{entry.item}"
