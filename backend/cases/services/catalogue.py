"""The review catalogue (重大行政执法决定法制审核目录清单, 第三条): imported in its official
columns through the one tolerant reader (title row, merged headers, GBK, XLS…); a case
opened for an item of the catalogue needs legal review, its basis named after the item."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from backend.accounts.models import Unit, User
from backend.cases.models import ReviewCatalogueEntry
from backend.listimport import KeyedList, ListImportReport, keyed_list_import

CATALOGUE = KeyedList(
    model=ReviewCatalogueEntry,
    key=("审核项目", "item"),
    required=("执法类别", "审核项目"),
    fields={
        "执法类别": "category",
        "审核项目": "item",
        "承办机构": "organiser",
        "审核条件": "condition",
        "审核依据": "basis",
        "审核机构": "reviewing_body",
        "提交的审核材料": "materials",
        "审核重点": "focus",
    },
    synonyms={
        "审核项目": ("审核事项", "执法事项", "事项名称"),
        "提交的审核材料": ("审核材料", "提交材料"),
        "审核依据": ("法律依据",),
    },
    audit_action="review_catalogue.imported",
)
CATALOGUE_COLUMNS = CATALOGUE.columns


def review_catalogue_import(
    *, unit: Unit, source: Path | IO[bytes] | bytes, actor: User, file_name: str | None = None
) -> ListImportReport:
    """Rows are matched by 审核项目 within the unit. All or nothing: any bad row (by sheet,
    row and column) imports no row (400 ``rows_invalid``)."""
    return keyed_list_import(CATALOGUE, unit=unit, source=source, actor=actor, file_name=file_name)


def catalogue_basis(entry: ReviewCatalogueEntry) -> str:
    """The review basis a case opened for `entry` records."""
    number = f"第 {entry.sequence} 项" if entry.sequence is not None else ""
    return f"法制审核目录清单{number}：{entry.item}"
