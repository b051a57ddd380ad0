"""Pages of the holiday arrangement (system administrators): the years entered, one year's
days, and entering a year from the State Council's notice (file or typed)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from backend.accounts.models import User
from backend.config.errors import FieldVaultError
from backend.importpages import table_response
from backend.web.pages import page
from backend.workcalendar import selectors
from backend.workcalendar.forms import YearFileForm, YearTextForm
from backend.workcalendar.models import CalendarSource, DayKind
from backend.workcalendar.services.entry import (
    COLUMN_DATE,
    COLUMN_KIND,
    COLUMN_NAME,
    EntryRow,
    calendar_year_enter,
    rows_from_file,
    rows_from_text,
)

EXPORT_COLUMNS = (COLUMN_DATE, COLUMN_KIND, COLUMN_NAME)


def _admin(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    selectors.require_system_admin(user)
    return user


@require_GET
@page
def calendar_overview(request: HttpRequest) -> HttpResponse:
    _admin(request)
    today = timezone.localdate()
    context = {
        "years": selectors.calendar_years(),
        "missing": selectors.next_year_missing(today),
        "file_form": YearFileForm(initial={"year": today.year + 1}),
        "text_form": YearTextForm(initial={"year": today.year + 1}),
    }
    return render(request, "workcalendar/overview.html", context)


@require_GET
@page
def calendar_year(request: HttpRequest, year: int) -> HttpResponse:
    _admin(request)
    days = selectors.calendar_days(year)
    return render(request, "workcalendar/year.html", {"year": year, "days": days})


@require_http_methods(["POST"])
@page
def calendar_enter(request: HttpRequest) -> HttpResponse:
    user = _admin(request)
    is_file = "file" in request.FILES
    form: YearFileForm | YearTextForm = (
        YearFileForm(request.POST, request.FILES) if is_file else YearTextForm(request.POST)
    )
    errors: list[dict[str, Any]] = []
    if form.is_valid():
        data = form.cleaned_data
        try:
            rows: list[EntryRow] = (
                rows_from_file(data["file"], file_name=data["file"].name)
                if is_file
                else rows_from_text(data["days"])
            )
            report = calendar_year_enter(
                actor=user,
                year=data["year"],
                rows=rows,
                source=CalendarSource.IMPORT if is_file else CalendarSource.FORM,
                notice=data["notice"],
                replace=data["replace"],
            )
        except FieldVaultError as error:
            errors = error.details.get("errors") or [{"row": 0, "message": error.message}]
            status = error.status
        else:
            messages.success(
                request,
                _(
                    "%(year)s 年节假日安排已录入：放假 %(holidays)s 天，调休上班 %(workdays)s 天；"
                    "重新计算了 %(recomputed)s 个暂定期限。"
                )
                % vars(report),
            )
            for warning in report.warnings:
                messages.warning(request, warning)
            return HttpResponseRedirect(reverse("workcalendar:year", args=[report.year]))
    else:
        status = 400
    today = timezone.localdate()
    context = {
        "years": selectors.calendar_years(),
        "missing": selectors.next_year_missing(today),
        "file_form": form if is_file else YearFileForm(initial={"year": today.year + 1}),
        "text_form": form if not is_file else YearTextForm(initial={"year": today.year + 1}),
        "errors": errors,
    }
    return render(request, "workcalendar/overview.html", context, status=status)


_KIND_WORD = {DayKind.HOLIDAY: "放假", DayKind.WORKDAY: "上班"}


@require_GET
@page
def calendar_export(request: HttpRequest, year: int) -> HttpResponse:
    """One year's days as XLSX (日期, 类型, 名称), which the file import reads back."""
    _admin(request)
    rows = [
        (day.date.isoformat(), _KIND_WORD[DayKind(day.kind)], day.name)
        for day in selectors.calendar_days(year)
    ]
    return table_response(
        title=f"{year}年节假日安排", sheet=f"{year}年节假日安排", headers=EXPORT_COLUMNS, rows=rows
    )
