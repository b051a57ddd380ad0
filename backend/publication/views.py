"""Pages of the publication app.

The public site (``/public/``, no sign-in): the index of published decisions and results by
year and category with a search, and one item's page. Plain HTML, no script, printable;
it reads only the de-identified columns (selectors.PUBLIC_COLUMNS) and answers with
``Cache-Control: public`` so that a proxy in front serves the crowd.

The staff pages (``/publication/``, supervisors, legal officers, administrators): the queue
with its deadlines, publish / exclude / withdraw, and the yearly report's workbook."""

from __future__ import annotations

import datetime
import functools
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import Role, User
from backend.config.errors import FieldVaultError, NotFound
from backend.devices.models import LedgerState
from backend.importpages import forbidden, user_of
from backend.publication import selectors
from backend.publication.charts import Bar, bar_chart_svg
from backend.publication.figures import (
    SILENT_WORKING_DAYS,
    cases_by_month,
    silent_devices,
    timeliness_by_unit,
)
from backend.publication.models import (
    Category,
    ErrorReport,
    ExclusionGround,
    PublicNotice,
    ReportState,
)
from backend.publication.services import items as item_services
from backend.publication.services import reports as report_services
from backend.publication.services.report import (
    HAND_ENTERED,
    yearly_report_file,
    yearly_report_rows,
    yearly_report_xlsx,
)
from backend.web.pages import page
from backend.web.requests import client_ip
from backend.workcalendar.selectors import working_calendar

PUBLIC_MAX_AGE = 60  # seconds a proxy may serve a public page without asking again
PUBLIC_CACHE_SECONDS = 600


def _public_cached_by(
    generation: Callable[[], str],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        return _cached(view, generation)

    return decorate


def _public_cached(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    return _cached(view, selectors.public_generation)


def _cached(
    view: Callable[..., HttpResponse], generation_of: Callable[[], str]
) -> Callable[..., HttpResponse]:
    """Serve a public page from the cache while no item changed.

    The key holds the site's generation (the last change of any item: one indexed query),
    the language and the full path, so a publication, withdrawal or take-down is visible
    on the next request, in every worker; the pages carry no cookie and no CSRF token, so
    the same bytes serve everyone (and a proxy in front may keep them PUBLIC_MAX_AGE s)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        generation = generation_of()
        raw = f"{generation}|{translation.get_language()}|{request.get_full_path()}"
        key = "public-page:" + hashlib.sha256(raw.encode()).hexdigest()
        hit = cache.get(key)
        if hit is not None:
            response = HttpResponse(hit, content_type="text/html; charset=utf-8")
        else:
            response = view(request, *args, **kwargs)
            if response.status_code == 200:
                cache.set(key, response.content, PUBLIC_CACHE_SECONDS)
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response

    return wrapper


@require_GET
def public_language(request: HttpRequest, code: str) -> HttpResponse:
    """The public site's language switch: a link (no form, no CSRF cookie), remembered in
    the language cookie; back to `next` when it is a path of this site."""
    if code not in dict(settings.LANGUAGES):
        return _public_error(request, 400, _("没有这种语言。"))
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("public:index")
    response = redirect(target)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=365 * 86400, samesite="Lax")
    return response


# -- the public site ----------------------------------------------------------------------


def _public_error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "publication/public_error.html", {"message": message}, status=status)


@require_GET
@_public_cached
def public_index(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")
    if category and category not in Category.values:
        return _public_error(request, 400, _("没有这个类别。"))
    year_text = request.GET.get("year", "")
    year: int | None = None
    if year_text:
        if not year_text.isdigit() or not 2000 <= int(year_text) <= 2100:
            return _public_error(request, 400, _("年份应为四位数字。"))
        year = int(year_text)
    search = request.GET.get("q", "").strip()[:100]
    token = request.GET.get("after", "")
    after = selectors.PublicCursor.parse(token) if token else None
    if token and after is None:
        return _public_error(request, 400, _("翻页参数无效。"))
    rows, cursor = selectors.public_items(year=year, category=category, search=search, after=after)
    labels = dict(Category.choices)
    for row in rows:
        row["category_label"] = labels.get(str(row["category"]), "")
    return render(
        request,
        "publication/public_index.html",
        {
            "rows": rows,
            "next": cursor.token() if cursor else "",
            "categories": Category.choices,
            "category": category,
            "years": selectors.public_years(),
            "year": year,
            "search": search,
        },
    )


@require_GET
@_public_cached
def public_detail(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    try:
        row = selectors.public_item(item_id)
    except NotFound:
        return _public_error(request, 404, _("没有这条公示信息，或已过公开期限。"))
    return render(
        request,
        "publication/public_detail.html",
        {"row": {**row, "category_label": dict(Category.choices).get(str(row["category"]), "")}},
    )


# -- staff ----------------------------------------------------------------------------------


class ExcludeForm(forms.Form):
    ground = forms.ChoiceField(
        label=gettext_lazy("不予公开的情形"), choices=ExclusionGround.choices
    )
    reason = forms.CharField(label=gettext_lazy("理由"), max_length=500)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("撤下说明"), max_length=500)


def _manager(request: HttpRequest) -> User | None:
    user = user_of(request)
    return user if selectors.may_manage_publication(user) else None


def _error(request: HttpRequest, code: str, message: str) -> HttpResponse:
    """A refused form or parameter: the error page with a Chinese message, 400."""
    return render(request, "review/error.html", {"code": code, "message": message}, status=400)


def _bad_year(request: HttpRequest, year: int) -> HttpResponse | None:
    if 2000 <= year <= timezone.localdate().year:
        return None
    return _error(request, "bad_year", _("没有该年度的统计。"))


def _refused(request: HttpRequest) -> HttpResponse:
    return forbidden(request, _("只有监督人员、法制审核人员和系统管理员可以管理公示。"))


@require_GET
@page
def queue(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    if user is None:
        return _refused(request)
    today = timezone.localdate()
    calendar = working_calendar()
    pending = []
    for item in selectors.queue_for(user)[:200]:
        if item.publish_by >= today:
            left = calendar.working_days_between(today, item.publish_by)
        else:
            left = -calendar.working_days_between(item.publish_by, today)
        pending.append(
            {"item": item, "left": left, "late": -left, "overdue": today > item.publish_by}
        )
    return render(
        request,
        "publication/queue.html",
        {
            "pending": pending,
            "published": selectors.published_for(user),
            "today": today,
            "may_exclude": selectors.may_exclude(user),
            "exclude_form": ExcludeForm(),
            "withdraw_form": WithdrawForm(),
            "report_year": today.year - 1 if today.month == 1 else today.year,
        },
    )


@require_POST
@page
def publish(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    user = _manager(request)
    if user is None:
        return _refused(request)
    item = selectors.item_for_manager(user, item_id)
    item_services.public_item_publish(item_id=item.pk, actor=user)
    messages.success(request, _("已公示。"))
    return redirect("publication:queue")


@require_POST
@page
def exclude(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    user = _manager(request)
    if user is None:
        return _refused(request)
    if not selectors.may_exclude(user):
        return forbidden(request, _("不予公开须经领导（监督人员）批准。"))
    item = selectors.item_for_manager(user, item_id)
    form = ExcludeForm(request.POST)
    if not form.is_valid():
        return _error(request, "invalid_input", _("请选择情形并填写理由。"))
    item_services.public_item_exclude(
        item_id=item.pk,
        ground=form.cleaned_data["ground"],
        reason=form.cleaned_data["reason"],
        approver=user,
    )
    messages.success(request, _("已决定不予公开。"))
    return redirect("publication:queue")


@require_POST
@page
def withdraw(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    user = _manager(request)
    if user is None:
        return _refused(request)
    item = selectors.item_for_manager(user, item_id)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _error(request, "reason_required", _("请填写撤下说明。"))
    item_services.public_item_withdraw(
        item_id=item.pk, reason=form.cleaned_data["reason"], actor=user
    )
    messages.success(request, _("已撤下，公示网站显示撤下说明。"))
    return redirect("publication:queue")


@require_GET
@page
def report(request: HttpRequest, year: int) -> HttpResponse:
    user = _manager(request)
    if user is None:
        return _refused(request)
    if (refused := _bad_year(request, year)) is not None:
        return refused
    months = cases_by_month(user, year)
    chart = bar_chart_svg(
        chart_id="cases-chart",
        title=_("%(year)s 年各月立案数") % {"year": year},
        description=_("每月立案件数；各月法制审核出具意见数见下表。"),
        bars=[Bar(_("%(m)s月") % {"m": row.month}, row.cases_filed) for row in months],
        axis_label=_("件"),
    )
    return render(
        request,
        "publication/report.html",
        {
            "year": year,
            "months": months,
            "cases_chart": chart,
            "sections": yearly_report_rows(year, user),
            "may_file": selectors.may_file_report(user),
            "form": HandEnteredForm(),
        },
    )


class HandEnteredForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, label in HAND_ENTERED.items():
            self.fields[code] = forms.IntegerField(label=label, min_value=0, max_value=10**6)


@require_POST
@page
def report_file(request: HttpRequest, year: int) -> HttpResponse:
    user = _manager(request)
    if user is None or not selectors.may_file_report(user):
        return forbidden(request, _("年报由本单位的法制审核人员报送。"))
    if (refused := _bad_year(request, year)) is not None:
        return refused
    form = HandEnteredForm(request.POST)
    if not form.is_valid():
        return _error(request, "hand_entered_incomplete", _("请填写全部手工统计项（非负整数）。"))
    yearly_report_file(year=year, user=user, hand_entered=form.cleaned_data)
    messages.success(request, _("年报已报送。"))
    return redirect("publication:report", year=year)


@require_GET
@page
def report_xlsx(request: HttpRequest, year: int) -> HttpResponse:
    user = _manager(request)
    if user is None:
        return _refused(request)
    if (refused := _bad_year(request, year)) is not None:
        return refused
    response = HttpResponse(
        yearly_report_xlsx(year, user),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="publication-{year}.xlsx"'
    return response


@require_GET
@page
def timeliness(request: HttpRequest) -> HttpResponse:
    """上传及时性: per unit, median and p90 hours from a clip's end to its storage, the share
    within 24 h, clips not stored after 24 h, and the devices silent for working days."""
    user = _manager(request)
    if user is None:
        return _refused(request)
    today = timezone.localdate()
    month_text = request.GET.get("month", "")
    if month_text:
        try:
            month = datetime.date.fromisoformat(month_text + "-01")
        except ValueError:
            return _error(request, "bad_month", _("月份格式应为 YYYY-MM。"))
    else:
        month = today.replace(day=1)
    rows = timeliness_by_unit(user, month)
    chart = bar_chart_svg(
        chart_id="timeliness-chart",
        title=_("%(month)s 各单位从录制结束到存储的时长") % {"month": month.strftime("%Y-%m")},
        description=_("蓝色条为中位数，红色刻度为第 90 百分位数，单位：小时。数据见下表。"),
        bars=[Bar(row.unit, row.median_hours or 0.0, row.p90_hours) for row in rows],
        axis_label=_("小时"),
    )
    return render(
        request,
        "publication/timeliness.html",
        {
            "month": month,
            "rows": rows,
            "chart": chart,
            "silent": silent_devices(user, today=today),
            "silent_days": SILENT_WORKING_DAYS,
            # Supervisors and administrators record a device away for repair, lost or retired.
            "ledger_states": LedgerState.choices
            if user.role in (Role.SUPERVISOR, Role.SYSTEM_ADMIN)
            else (),
        },
    )


@require_GET
@_public_cached_by(selectors.roster_generation)
def public_officers(request: HttpRequest) -> HttpResponse:
    """行政执法人员清单 (事前公开): certified officers only, and of them only 姓名, 单位,
    执法类别, 证件编号, 有效期 — no personal data beyond that."""
    token = request.GET.get("after", "")
    if token and not token.isdigit():
        return _public_error(request, 400, _("翻页参数无效。"))
    rows, next_id = selectors.public_roster(after=int(token) if token else None)
    return render(
        request,
        "publication/public_officers.html",
        {"rows": rows, "next": next_id, "today": timezone.localdate()},
    )


def _after(request: HttpRequest) -> int | HttpResponse | None:
    token = request.GET.get("after", "")
    if token and not token.isdigit():
        return _public_error(request, 400, _("翻页参数无效。"))
    return int(token) if token else None


@require_GET
def public_matters(request: HttpRequest) -> HttpResponse:
    """行政执法事项清单 (事前公开): what each unit enforces, on what basis, against whom."""
    after = _after(request)
    if isinstance(after, HttpResponse):
        return after
    rows, next_id = selectors.public_matters(after=after)
    return render(request, "publication/public_matters.html", {"rows": rows, "next": next_id})


@require_GET
def public_inspection_items(request: HttpRequest) -> HttpResponse:
    """随机抽查事项清单 (事前公开): what each unit inspects at random, how often, of whom."""
    after = _after(request)
    if isinstance(after, HttpResponse):
        return after
    rows, next_id = selectors.public_inspection_items(after=after)
    return render(
        request, "publication/public_inspection_items.html", {"rows": rows, "next": next_id}
    )


@require_GET
def public_record_list(request: HttpRequest) -> HttpResponse:
    """音像记录事项清单 in force today (事前公开): what is recorded, from when to when."""
    version, rows = selectors.public_record_list(timezone.localdate())
    return render(
        request, "publication/public_record_list.html", {"version": version, "rows": rows}
    )


@require_GET
def public_notices(request: HttpRequest) -> HttpResponse:
    """救济途径与投诉举报渠道 (事前公开), as each unit's staff wrote them."""
    after = _after(request)
    if isinstance(after, HttpResponse):
        return after
    rows, next_id = selectors.public_notices(after=after)
    return render(request, "publication/public_notices.html", {"rows": rows, "next": next_id})


@require_http_methods(["GET", "POST"])
@page
def notices(request: HttpRequest) -> HttpResponse:
    """The unit's 救济途径 and 投诉举报渠道, edited by its publication staff."""
    user = _manager(request)
    if user is None or user.unit is None:
        return _refused(request)
    notice = PublicNotice.objects.filter(unit=user.unit).first()
    if request.method == "POST":
        item_services.public_notice_save(
            actor=user,
            remedies=request.POST.get("remedies", ""),
            complaints=request.POST.get("complaints", ""),
        )
        messages.success(request, _("已保存，公示网站随即显示。"))
        return redirect("publication:notices")
    return render(
        request,
        "publication/notices.html",
        {"notice": notice, "max": item_services.NOTICE_MAX, "unit": user.unit},
    )


# -- 纠错: the public reports an inaccuracy; staff answer on the ticket ---------------------


def public_report(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    """The 纠错 form under a published item (GET) and its submission (POST): a refused
    submission re-renders the form with the reason and what was typed."""
    if request.method not in ("GET", "POST"):
        return _public_error(request, 405, _("不支持该请求方法。"))
    try:
        row = selectors.public_item(item_id)
    except NotFound:
        return _public_error(request, 404, _("没有这条公示信息，或已过公开期限。"))
    if row["state"] != "published":
        return _public_error(request, 404, _("没有这条公示信息，或已过公开期限。"))
    typed = {"text": "", "contact": ""}
    error, status = "", 200
    if request.method == "POST":
        typed = {key: request.POST.get(key, "") for key in typed}
        try:
            report = report_services.error_report_submit(
                item_id=item_id,
                text=typed["text"],
                contact=typed["contact"],
                address=client_ip(request),
            )
        except FieldVaultError as refused:
            error, status = refused.message, refused.status
        else:
            return redirect("public:ticket", report_id=report.pk)
    return render(
        request,
        "publication/public_report.html",
        {
            "row": row,
            "typed": typed,
            "error": error,
            "text_max": report_services.TEXT_MAX,
            "contact_max": report_services.CONTACT_MAX,
        },
        status=status,
    )


@require_GET
def public_ticket(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    """The reporter's ticket (its address is the unguessable id): state and outcome."""
    report = ErrorReport.objects.select_related("item").filter(pk=report_id).first()
    if report is None:
        return _public_error(request, 404, _("没有该纠错记录。"))
    response = render(request, "publication/public_ticket.html", {"report": report})
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
@page
def reports(request: HttpRequest) -> HttpResponse:
    user = _manager(request)
    if user is None:
        return _refused(request)
    return render(
        request,
        "publication/reports.html",
        {
            "reports": selectors.open_reports_for(user),
            "outcomes": [
                (ReportState.CORRECTED.value, ReportState.CORRECTED.label),
                (ReportState.NO_ERROR.value, ReportState.NO_ERROR.label),
            ],
        },
    )


@require_POST
@page
def report_handle(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    user = _manager(request)
    if user is None:
        return _refused(request)
    report_services.error_report_handle(
        actor=user,
        report_id=report_id,
        outcome=request.POST.get("outcome", ""),
        note=request.POST.get("note", ""),
        field_label=request.POST.get("field", ""),
        new_value=request.POST.get("value", ""),
    )
    messages.success(request, _("纠错已处理，纠错人可在回执页面看到结果。"))
    return redirect("publication:reports")
