"""Pages of the accounts app: the certificate watch list (持证上岗)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from backend.accounts import selectors
from backend.accounts.models import CertificateStatus, Officer, Role, User
from backend.accounts.services import (
    CERTIFICATE_STATUS,
    ROSTER_OPTIONAL,
    ROSTER_REQUIRED,
    officers_import,
)
from backend.audit.services import Actor
from backend.importpages import (
    ImportPage,
    Outcome,
    forbidden,
    import_page,
    table_response,
    upsert_counts,
    user_of,
)

MAX_ROWS = 500  # one unit's officers; a bureau has tens to a few hundred


@require_GET
@login_required
def certificates(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if not selectors.user_has_role(user, *selectors.CERTIFICATE_PAGE_ROLES):
        return render(
            request,
            "review/error.html",
            {"code": "forbidden", "message": _("只有监督人员、法制审核人员和系统管理员可以查看。")},
            status=403,
        )
    today = timezone.localdate()
    rows = []
    for officer in selectors.officers_certificate_watch(user, today=today)[:MAX_ROWS]:
        until = officer.certificate_valid_until
        rows.append(
            {
                "officer": officer,
                "problem": officer.certificate_problem,
                "days_left": (until - today).days if until is not None else None,
            }
        )
    return render(
        request,
        "accounts/certificates.html",
        {"rows": rows, "today": today, "within_days": selectors.CERTIFICATE_WATCH_DAYS},
    )


# The roster (执法人员名单): supervisors for their unit, system administrators for all.
ROSTER_ROLES = (Role.SUPERVISOR, Role.SYSTEM_ADMIN)
ROSTER_COLUMNS = (ROSTER_OPTIONAL[0], *ROSTER_REQUIRED, *ROSTER_OPTIONAL[1:])
_STATUS_TEXT = {code: text for text, code in CERTIFICATE_STATUS.items()}


def _roster_user(request: HttpRequest) -> User | None:
    user = user_of(request)
    if not selectors.user_has_role(user, *ROSTER_ROLES):
        return None
    if user.role != Role.SYSTEM_ADMIN and user.unit is None:
        return None
    return user


@require_http_methods(["GET", "POST"])
@login_required
def roster_import(request: HttpRequest) -> HttpResponse:
    user = _roster_user(request)
    if user is None:
        return forbidden(request, _("只有监督人员和系统管理员可以导入执法人员名单。"))
    page = ImportPage(
        key="roster",
        title=_("导入执法人员名单"),
        intro=_(
            "按印发的执法人员名单格式导入（可有标题行）；证件情况可写“已持证（证件编号，"
            "有效期至）”或“未持证”。未填单位的人员归入您所在的单位。任何一行有问题则整份"
            "文件都不导入。"
        ),
        columns=ROSTER_COLUMNS,
        export_url=reverse("accounts:roster_export"),
    )
    scope = None if user.role == Role.SYSTEM_ADMIN else user.unit

    def run(data: dict[str, object]) -> Outcome:
        upload = data["file"]
        report = officers_import(
            source=upload,  # type: ignore[arg-type]
            actor=Actor.user(user),
            file_name=upload.name,  # type: ignore[attr-defined]
            default_unit=user.unit,
            scope=scope,
        )
        notes = [
            _("未填单位的人员已归入：%(unit)s") % {"unit": name}
            for name in report.default_unit_used
        ]
        notes += [f"{flag['name']}：{flag['problem']}" for flag in report.flagged]
        return Outcome(
            counts=upsert_counts(report),
            warnings=report.warnings,
            notes=notes,
            errors=[str(error["message"]) for error in report.errors],
        )

    return import_page(request, page, run)


@require_GET
@login_required
def roster_export(request: HttpRequest) -> HttpResponse:
    user = _roster_user(request)
    if user is None:
        return forbidden(request, _("只有监督人员和系统管理员可以导出执法人员名单。"))
    officers = (
        Officer.objects.filter(selectors.unit_scope_q(user, unit_field="unit"))
        .select_related("unit")
        .order_by("unit__path", "name", "pk")
    )
    rows = [
        (
            index,
            officer.name,
            officer.unit.name,
            officer.post,
            officer.enforcement_type,
            officer.staffing_category,
            officer.certificate_number or "",
            officer.certificate_valid_until.isoformat() if officer.certificate_valid_until else "",
            _STATUS_TEXT.get(CertificateStatus(officer.certificate_status), ""),
        )
        for index, officer in enumerate(officers, 1)
    ]
    return table_response(
        title="行政执法人员名单", sheet="执法人员名单", headers=ROSTER_COLUMNS, rows=rows
    )
