"""Pages of the inspections app: importing and exporting the random-inspection item list
(随机抽查事项清单) and the inspection targets, for supervisors and legal officers of a unit
and system administrators with a unit (the API's rule)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from backend.accounts.models import Unit, User
from backend.importpages import (
    ImportPage,
    Outcome,
    forbidden,
    import_page,
    table_response,
    upsert_counts,
    user_of,
)
from backend.inspections import services
from backend.inspections.models import InspectionItem, InspectionTarget
from backend.inspections.selectors import may_manage_inspections

ITEM_COLUMNS = (
    "序号",
    "检查主体",
    "抽查事项",
    "检查依据",
    "检查内容",
    "检查方式",
    "适用对象",
    "抽查比例",
    "市场主体数量",
    "抽查频次",
)
TARGET_COLUMNS = ("序号", "名称", "类型", "统一社会信用代码", "地址")


def _manager(request: HttpRequest) -> tuple[User, Unit] | None:
    user = user_of(request)
    if not may_manage_inspections(user) or user.unit is None:
        return None
    return user, user.unit


def _refused(request: HttpRequest) -> HttpResponse:
    return forbidden(request, _("只有本单位的监督人员、法制审核人员和系统管理员可以管理抽查。"))


def _page(
    request: HttpRequest,
    *,
    key: str,
    title: str,
    intro: str,
    columns: Sequence[str],
    export: str,
    importer: Callable[..., services.ImportReport],
) -> HttpResponse:
    manager = _manager(request)
    if manager is None:
        return _refused(request)
    user, unit = manager
    page = ImportPage(
        key=key, title=title, intro=intro, columns=columns, export_url=reverse(export)
    )

    def run(data: dict[str, Any]) -> Outcome:
        report = importer(
            unit=unit, source=data["file"].read(), actor=user, file_name=data["file"].name
        )
        return Outcome(
            counts=upsert_counts(report),
            warnings=report.warnings,
            notes=[_("导入单位：%(unit)s") % {"unit": unit.name}],
        )

    return import_page(request, page, run)


@require_http_methods(["GET", "POST"])
@login_required
def items_import(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        key="inspection_items",
        title=_("导入随机抽查事项清单"),
        intro=_(
            "按印发的随机抽查事项清单格式导入本单位的抽查事项；同名事项会被更新。任何一行有问题则整份文件都不导入。"
        ),
        columns=ITEM_COLUMNS,
        export="inspections:items_export",
        importer=services.inspection_items_import,
    )


@require_http_methods(["GET", "POST"])
@login_required
def targets_import(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        key="inspection_targets",
        title=_("导入检查对象名录"),
        intro=_(
            "类型一栏与抽查事项清单的“适用对象”用同样的写法，抽取时据此找到候选对象；同名对象会被更新。任何一行有问题则整份文件都不导入。"
        ),
        columns=TARGET_COLUMNS,
        export="inspections:targets_export",
        importer=services.inspection_targets_import,
    )


@require_GET
@login_required
def items_export(request: HttpRequest) -> HttpResponse:
    manager = _manager(request)
    if manager is None:
        return _refused(request)
    items = InspectionItem.objects.filter(unit=manager[1]).order_by("sequence", "pk")
    rows = [
        (
            item.sequence if item.sequence is not None else "",
            item.inspecting_body,
            item.name,
            item.legal_basis,
            item.content,
            item.methods,
            item.target_type,
            f"{item.ratio_percent.normalize():f}%",
            item.declared_target_count if item.declared_target_count is not None else "",
            item.frequency,
        )
        for item in items
    ]
    title = f"{manager[1].name}随机抽查事项清单"
    return table_response(title=title, sheet="随机抽查事项清单", headers=ITEM_COLUMNS, rows=rows)


@require_GET
@login_required
def targets_export(request: HttpRequest) -> HttpResponse:
    manager = _manager(request)
    if manager is None:
        return _refused(request)
    targets = InspectionTarget.objects.filter(unit=manager[1], active=True).order_by("name", "pk")
    rows = [
        (index, t.name, t.target_type, t.credit_code, t.address)
        for index, t in enumerate(targets, 1)
    ]
    title = f"{manager[1].name}检查对象名录"
    return table_response(title=title, sheet="检查对象名录", headers=TARGET_COLUMNS, rows=rows)
