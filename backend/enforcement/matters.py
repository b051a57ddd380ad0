"""The enforcement-matters list (行政执法事项清单, 公示制度 事前公开): imported in its official
columns (序号, 项目名称, 执法类别, 执法主体, 承办机构, 执法依据, 实施对象) through the one
tolerant reader, matched by 项目名称 within the unit, shown on the public site."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from backend.accounts.models import Unit, User
from backend.enforcement.models import EnforcementMatter
from backend.listimport import KeyedList, ListImportReport, keyed_list_import

MATTERS = KeyedList(
    model=EnforcementMatter,
    key=("项目名称", "name"),
    required=("项目名称", "执法类别"),
    fields={
        "项目名称": "name",
        "执法类别": "category",
        "执法主体": "body",
        "承办机构": "organiser",
        "执法依据": "basis",
        "实施对象": "target",
    },
    synonyms={"项目名称": ("事项名称", "执法事项"), "执法依据": ("法律依据", "设定依据")},
    audit_action="enforcement_matters.imported",
)


def enforcement_matters_import(
    *, unit: Unit, source: Path | IO[bytes] | bytes, actor: User, file_name: str | None = None
) -> ListImportReport:
    """All or nothing: any bad row (by sheet, row and column) imports no row."""
    return keyed_list_import(MATTERS, unit=unit, source=source, actor=actor, file_name=file_name)
