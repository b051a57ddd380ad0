"""Import of an official list whose rows are keyed by one column within a unit (the review
catalogue's 审核项目, the enforcement matters' 项目名称): read through the one tolerant reader
(backend/tabular.py), matched by key, created / updated / left as they were, all or nothing
with every bad row named by sheet, row and column, and audited. Lists that parse their cells
further (ratios, moments) keep their own importers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.db import models, transaction

from backend.audit.services import Actor, audit_record
from backend.tabular import (
    TableFormatError,
    TableRow,
    invalid_table,
    read_table,
    refuse_import,
    row_error,
)

if TYPE_CHECKING:  # this module serves accounts' own imports: no runtime import of it
    from backend.accounts.models import Unit, User


@dataclass
class ListImportReport:
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


@dataclass(frozen=True)
class KeyedList:
    """How one list's columns map onto its model: `key` (column, field) identifies a row
    within the unit; `fields` map the other text columns; `sequence` is an optional integer
    column (序号)."""

    model: type[models.Model]
    key: tuple[str, str]
    required: Sequence[str]
    fields: Mapping[str, str]
    synonyms: Mapping[str, tuple[str, ...]]
    audit_action: str
    sequence: str = "序号"

    @property
    def optional(self) -> list[str]:
        return [c for c in (self.sequence, *self.fields) if c not in self.required]

    @property
    def columns(self) -> tuple[str, ...]:
        """The export's columns, in the official order (序号 first)."""
        return (self.sequence, *dict.fromkeys([*self.required, *self.fields]))


def keyed_list_import(
    spec: KeyedList,
    *,
    unit: Unit,
    source: Path | IO[bytes] | bytes,
    actor: User,
    file_name: str | None = None,
) -> ListImportReport:
    key_column, key_field = spec.key
    try:
        table = read_table(
            source,
            required=list(spec.required),
            optional=spec.optional,
            synonyms=dict(spec.synonyms),
            file_name=file_name,
        )
    except TableFormatError as exc:
        raise invalid_table(exc) from exc
    report = ListImportReport(warnings=list(table.warnings))
    seen: dict[str, int] = {}
    manager = spec.model._default_manager
    with transaction.atomic():
        for row in table.rows:
            values = row.values
            before = len(report.errors)

            def fail(column: str, message: str, row: TableRow = row) -> None:
                report.errors.append(row_error(table, row, column, message))

            for column in spec.required:
                if not values.get(column):
                    fail(column, f"缺少{column}")
            sequence = values.get(spec.sequence, "")
            if sequence and not sequence.isdigit():
                fail(spec.sequence, f"{spec.sequence}须为整数：{sequence}")
            key = values.get(key_column, "")
            if key and key in seen:
                fail(key_column, f"{key_column}与第 {seen[key]} 行重复：{key}")
            seen.setdefault(key, row.line)
            if len(report.errors) > before:
                continue
            wanted: dict[str, Any] = {
                name: values.get(column, "")
                for column, name in spec.fields.items()
                if column != key_column
            }
            wanted["sequence"] = int(sequence) if sequence else None
            existing = manager.filter(unit=unit, **{key_field: key}).first()
            if existing is None:
                manager.create(unit=unit, **{key_field: key}, **wanted)
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
            action=spec.audit_action,
            object_type="unit",
            object_id=unit.pk,
            data={**report.as_dict(), "file_name": file_name or ""},
        )
    return report
