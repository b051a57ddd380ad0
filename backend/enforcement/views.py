"""Pages of the enforcement app: importing and exporting the record list (音像记录事项清单)
and importing activities, for the roles the API lets do the same."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from backend.accounts.models import Role
from backend.accounts.selectors import user_has_role
from backend.audit.services import Actor
from backend.enforcement import record_list_format as fmt
from backend.enforcement import services
from backend.enforcement.matters import MATTERS
from backend.enforcement.models import RecordList
from backend.enforcement.selectors import RECORD_LIST_MANAGERS, UNIT_WIDE_ROLES
from backend.importpages import (
    ImportForm,
    ImportPage,
    Outcome,
    forbidden,
    import_page,
    keyed_list_export,
    keyed_list_page,
    table_response,
    user_of,
)

RECORD_LIST_COLUMNS = (fmt.COL_SEQUENCE, *fmt.REQUIRED_COLUMNS, fmt.COL_REMARKS)


class RecordListForm(ImportForm):
    effective_from = forms.DateField(
        label=gettext_lazy("生效日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    name = forms.CharField(label=gettext_lazy("名称（可选）"), max_length=200, required=False)


def _messages(issues: list[dict[str, Any]]) -> list[str]:
    return [str(issue["message"]) for issue in issues]


@require_http_methods(["GET", "POST"])
@login_required
def record_list_import(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not user_has_role(user, *RECORD_LIST_MANAGERS):
        return forbidden(request, _("只有法制审核人员和系统管理员可以管理音像记录事项清单。"))
    page = ImportPage(
        key="record_list",
        title=_("导入音像记录事项清单"),
        intro=_(
            "按印发的清单格式导入一个新版本（可有标题行），自生效日期起用于判断执法活动的"
            "记录是否完整。任何一行有问题则整份文件都不导入。"
        ),
        columns=RECORD_LIST_COLUMNS,
        export_url=reverse("enforcement:record_list_export"),
        form_class=RecordListForm,
    )

    def run(data: dict[str, Any]) -> Outcome:
        report = services.record_list_import(
            source=data["file"].read(),
            effective_from=data["effective_from"],
            actor=Actor.user(user),
            user=user,
            file_name=data["file"].name,
            name=data["name"],
        )
        return Outcome(
            counts=[
                (_("记录事项"), report.rules_created),
                (_("重新判断的执法活动"), report.activities_reassigned),
            ],
            warnings=_messages(report.warnings),
            notes=[_("生效日期：%(day)s") % {"day": data["effective_from"].isoformat()}],
        )

    return import_page(request, page, run)


@require_GET
@login_required
def record_list_export(request: HttpRequest) -> HttpResponse:
    """The newest version (or ``?version=<id>``) in the official layout."""
    user = user_of(request)
    if not user_has_role(user, *RECORD_LIST_MANAGERS):
        return forbidden(request, _("只有法制审核人员和系统管理员可以管理音像记录事项清单。"))
    versions = RecordList.objects.order_by("-effective_from")
    version = request.GET.get("version", "")
    record_list = (
        versions.filter(pk=int(version)).first() if version.isdigit() else versions.first()
    )
    rules = record_list.rules.order_by("sequence", "pk") if record_list else []
    rows = [
        (
            rule.sequence if rule.sequence is not None else "",
            rule.category,
            rule.stage,
            rule.item,
            rule.place,
            rule.department,
            rule.start_text,
            rule.stop_text,
            rule.remarks,
        )
        for rule in rules
    ]
    return table_response(
        title="音像记录事项清单", sheet="音像记录事项清单", headers=RECORD_LIST_COLUMNS, rows=rows
    )


@require_http_methods(["GET", "POST"])
@login_required
def activities_import(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not user_has_role(user, *UNIT_WIDE_ROLES, Role.SYSTEM_ADMIN):
        return forbidden(
            request, _("只有监督人员、法制审核人员、社区矫正工作人员和系统管理员可以导入执法活动。")
        )
    page = ImportPage(
        key="activities",
        title=_("导入执法活动"),
        intro=_(
            "执法人员一栏填证件编号，多人用顿号分隔；时间按北京时间。已导入过的编号不会重复"
            "导入。任何一行有问题则整份文件都不导入。"
        ),
        columns=(*services.ACTIVITY_COLUMNS_REQUIRED, *services.ACTIVITY_COLUMNS_OPTIONAL),
    )

    def run(data: dict[str, Any]) -> Outcome:
        report = services.activities_import(
            source=data["file"].read(),
            actor=Actor.user(user),
            user=user,
            file_name=data["file"].name,
        )
        return Outcome(
            counts=[(_("新增"), report.created), (_("已导入过"), report.existing)],
            warnings=report.warnings,
            notes=[_("第 %(line)s 行 %(name)s：%(problem)s") % flag for flag in report.flagged],
        )

    return import_page(request, page, run)


# -- the enforcement-matters list (行政执法事项清单) -----------------------------------------


MATTERS_REFUSED = gettext_lazy("只有本单位的法制审核人员和系统管理员可以管理行政执法事项清单。")


def _matters_manager(request: HttpRequest) -> Any:
    user = user_of(request)
    if not user_has_role(user, *RECORD_LIST_MANAGERS) or user.unit is None:
        return None
    return user


@require_http_methods(["GET", "POST"])
@login_required
def matters_import(request: HttpRequest) -> HttpResponse:
    user = _matters_manager(request)
    if user is None:
        return forbidden(
            request, _("只有本单位的法制审核人员和系统管理员可以管理行政执法事项清单。")
        )
    return keyed_list_page(
        request,
        spec=MATTERS,
        unit=user.unit,
        actor=user,
        key="enforcement_matters",
        title=_("行政执法事项清单"),
        intro=_(
            "按事项清单的格式导入（可带标题行、合并表头、注释，CSV 或 Excel）；公示网站随即显示。"
            "同一项目名称再次导入即更新。"
        ),
        export_url=reverse("enforcement:matters_export"),
    )


@require_GET
@login_required
def matters_export(request: HttpRequest) -> HttpResponse:
    user = _matters_manager(request)
    if user is None:
        return forbidden(
            request, _("只有本单位的法制审核人员和系统管理员可以管理行政执法事项清单。")
        )
    return keyed_list_export(
        spec=MATTERS,
        unit=user.unit,
        title=f"{user.unit.name}行政执法事项清单",
        sheet="行政执法事项清单",
    )
