"""The coverage reports page for supervisors, legal officers and the system administrator:
compliance and activation by month and by unit as charts (server-drawn SVG with axes,
units and the figures as a table), the officers' table, and the exports of the JSON API
(`/api/coverage/reports/...?format=xlsx|csv`) as buttons. The figures are those of the
kept monthly rows (UnitMonth, OfficerMonth: the sums of
coverage_core.evaluation.monthly_figures, kept current by the writers of the verdicts —
coverage/services/aggregates.py), read in two grouped queries whatever the number of
activities; the period counts in whole months (Asia/Shanghai)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from backend.accounts.models import Role, Unit, User
from backend.accounts.selectors import units_in_subtree, user_has_role
from backend.config.errors import PermissionDenied
from backend.coverage import selectors
from backend.web.charts import BarChart, Series, bar_chart, percent
from backend.web.pages import page

REPORT_ROLES = (Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN)
DEFAULT_MONTHS = 6
MAX_DAYS = 366 * 3


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def units_for(user: User) -> list[Unit]:
    if user.role == Role.SYSTEM_ADMIN:
        return list(Unit.objects.order_by("path"))
    return list(units_in_subtree(user.unit).order_by("path")) if user.unit else []


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("自"), required=False)
    date_to = forms.DateField(label=gettext_lazy("至"), required=False)
    unit = forms.TypedChoiceField(
        label=gettext_lazy("单位"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, units: list[Unit], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("全部单位")), *((u.pk, u.name) for u in units)]  # type: ignore[attr-defined]
        for name in ("date_from", "date_to"):
            self.fields[name].widget.input_type = "date"  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("结束日期不能早于开始日期"))
        elif start and end and (end - start).days > MAX_DAYS:
            self.add_error("date_to", _("一次最多查询三年"))
        return data


@dataclass
class Totals:
    required: int = 0
    recorded: int = 0
    decided: int = 0
    compliant: int = 0
    explained: int = 0
    activities: int = 0
    late_start: int = 0
    early_stop: int = 0
    with_gaps: int = 0

    def add(self, row: dict[str, Any]) -> None:
        for name in (
            "required",
            "recorded",
            "decided",
            "compliant",
            "explained",
            "activities",
            "late_start",
            "early_stop",
            "with_gaps",
        ):
            setattr(self, name, getattr(self, name) + int(row.get(name) or 0))

    @property
    def activation(self) -> float | None:
        return self.recorded / self.required if self.required else None

    @property
    def compliance(self) -> float | None:
        return self.compliant / self.decided if self.decided else None


def _totals(rows: Iterable[dict[str, Any]], key: str) -> dict[Hashable, Totals]:
    found: dict[Hashable, Totals] = defaultdict(Totals)
    for row in rows:
        found[row[key]].add(row)
    return found


def _rates_chart(
    title: str, x_title: str, groups: dict[Hashable, Totals], names: dict[Hashable, str], cid: str
) -> BarChart:
    keys = list(groups)
    return bar_chart(
        title=title,
        x_title=x_title,
        y_title=_("比率（%）"),
        series=[Series(_("合规率"), "s1"), Series(_("启用率"), "s2")],
        groups=[names.get(k, str(k)) for k in keys],
        values=[[groups[k].compliance, groups[k].activation] for k in keys],
        fmt=percent,
        y_max=1.0,
        chart_id=cid,
    )


def _default_period() -> tuple[datetime.date, datetime.date]:
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 - (DEFAULT_MONTHS - 1)
    return datetime.date(index // 12, index % 12 + 1, 1), today


@require_GET
@page
def reports(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user_has_role(user, *REPORT_ROLES):
        raise PermissionDenied(
            _("覆盖情况报表供监督人员、法制审核人员和系统管理员使用"), code="forbidden"
        )
    units = units_for(user)
    start, end = _default_period()
    form = ReportFilterForm(request.GET or None, units=units)
    if request.GET and not form.is_valid():
        return render(request, "coverage/reports.html", {"form": form, "invalid": True}, status=400)
    data = form.cleaned_data if request.GET else {}
    date_from = data.get("date_from") or start
    date_to = data.get("date_to") or end
    unit_id = data.get("unit")
    # The figures are kept per calendar month: the period widens to the whole months it
    # touches (said on the page), and the exports follow the same period.
    date_from, date_to = selectors.whole_months(date_from, date_to)
    scope: dict[str, Any] = {"date_from": date_from, "date_to": date_to, "unit_id": unit_id}
    unit_rows = selectors.report_unit_months(user, **scope)
    officer_rows = selectors.report_officer_totals(user, **scope)
    by_month = _totals(unit_rows, "month")
    by_unit = _totals(unit_rows, "unit_id")
    unit_names = {row["unit_id"]: row["unit"] for row in unit_rows}
    by_officer = _totals(officer_rows, "officer_id")
    officer_names = {row["officer_id"]: (row["officer"], row["unit"]) for row in officer_rows}
    officers = sorted(
        (
            {
                "name": officer_names[k][0],
                "unit": officer_names[k][1],
                "t": t,
                "compliance": "—" if t.compliance is None else percent(t.compliance),
                "activation": "—" if t.activation is None else percent(t.activation),
            }
            for k, t in by_officer.items()
        ),
        key=lambda o: (o["t"].compliance if o["t"].compliance is not None else 2.0, o["name"]),
    )
    query = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
    if unit_id:
        query["unit_id"] = str(unit_id)
    exports = [
        (_("按单位"), "units"),
        (_("按执法人员"), "officers"),
        (_("逐项活动"), "activities"),
    ]
    overall = Totals()
    for totals in by_month.values():
        overall.activities += totals.activities
        overall.required += totals.required
        overall.recorded += totals.recorded
        overall.decided += totals.decided
        overall.compliant += totals.compliant
    return render(
        request,
        "coverage/reports.html",
        {
            "form": form,
            "date_from": date_from,
            "date_to": date_to,
            "overall": overall,
            "overall_compliance": "—"
            if overall.compliance is None
            else percent(overall.compliance),
            "overall_activation": "—"
            if overall.activation is None
            else percent(overall.activation),
            "month_chart": _rates_chart(
                _("各月合规率与启用率"), _("月份"), by_month, {}, "month-chart"
            )
            if by_month
            else None,
            "unit_chart": _rates_chart(
                _("各单位合规率与启用率"), _("单位"), by_unit, unit_names, "unit-chart"
            )
            if by_unit
            else None,
            "officers": officers,
            "exports": [
                (
                    label,
                    f"/api/coverage/reports/{kind}?{urlencode({**query, 'format': 'xlsx'})}",
                    f"/api/coverage/reports/{kind}?{urlencode({**query, 'format': 'csv'})}",
                )
                for label, kind in exports
            ],
        },
    )
