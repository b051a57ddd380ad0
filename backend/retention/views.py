"""Retention's web pages (HTML, session sign-in; the JSON API is retention/api.py): the
policies and the preview of a change, destruction batches (storage admins prepare, the
leader in charge approves), capacity charts and the printable destruction register."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.config.errors import FieldVaultError, NotFound
from backend.retention import destruction, services
from backend.retention.continuity import continuity_summary
from backend.retention.facts import categories_from_key
from backend.retention.models import DestructionBatch, FactCategory, RetentionPolicy
from backend.retention.permissions import (
    admin_or_approver,
    register_reader,
    storage_admin,
    user_of,
)
from backend.retention.register_export import register_print_html
from backend.retention.selectors import (
    SHORT_MEASUREMENT_DAYS,
    CapacityReport,
    capacity_report,
    register_entries,
)
from backend.web.charts import BarChart, Series, bar_chart, byte_unit
from backend.web.pages import page


def register_print(request: HttpRequest) -> HttpResponse:
    register_reader(request)
    return HttpResponse(
        register_print_html(register_entries().iterator()), content_type="text/html; charset=utf-8"
    )


def human_bytes(value: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} TB"


def _with_share(rows: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    return [
        {
            **r,
            "human": human_bytes(r["bytes"]),
            "share": f"{100 * int(r['bytes']) / total:.1f} %" if total else "—",
        }
        for r in rows
    ]


def capacity_chart(report: CapacityReport) -> BarChart:
    """Cumulative holdings at each of the last 12 month ends (actual) and the next 12
    (projected from the measured rate), in the unit that suits the largest figure."""
    groups = [g["month"] for g in report.growth] + [p["month"] for p in report.projection]
    raw: list[list[float | None]] = [[float(g["total_bytes"]), None] for g in report.growth] + [
        [None, float(p["total_bytes"])] for p in report.projection
    ]
    largest = max((v for row in raw for v in row if v is not None), default=0.0)
    unit, size = byte_unit(largest)
    return bar_chart(
        title=_("累计容量：近 12 个月（实际）与未来 12 个月（预测）"),
        x_title=_("月份（月末）"),
        y_title=_("容量（%(unit)s）") % {"unit": unit},
        series=[Series(_("实际"), "actual"), Series(_("预测"), "proj")],
        groups=[g[2:] for g in groups],
        values=[[None if v is None else v / size for v in row] for row in raw],
        fmt=lambda v: f"{v:.1f}" if v < 100 else f"{v:.0f}",
        chart_id="capacity-chart",
    )


def capacity_page(request: HttpRequest) -> HttpResponse:
    """The storage admins' capacity charts in the web UI (HTML, inline SVG, no scripts):
    cumulative bytes over the last 12 months and the projection of the next 12 (from the
    rate measured over the last year, or since the first original), and bytes by unit,
    retention category and month."""
    storage_admin(request)
    report = capacity_report()
    total = report.total_bytes
    context = {
        "report": report,
        "total_human": human_bytes(report.total_bytes),
        "per_month_human": human_bytes(report.bytes_per_month),
        "projected_human": human_bytes(report.projected_12_months_bytes),
        "rate_bytes_human": human_bytes(report.rate_bytes),
        "short_measurement": report.rate_days < SHORT_MEASUREMENT_DAYS,
        "chart": capacity_chart(report),
        "by_unit": _with_share(report.by_unit, total),
        "by_category": _with_share(report.by_category, total),
        "by_month": _with_share(report.by_month, total),
    }
    return render(request, "retention/capacity.html", context)


def continuity_page(request: HttpRequest) -> HttpResponse:
    """The storage admins' view of recovery: the continuous backup's last replicated
    position and its age, where the originals are kept, and the last reconciliation of the
    database with the originals bucket (manage.py storage_reconcile)."""
    storage_admin(request)
    summary = continuity_summary()
    run = summary["reconciliation"]
    context = {
        **summary,
        "problems": (run.problems[:20] if run else []),
        "orphans": (run.orphans[:20] if run else []),
    }
    return render(request, "retention/continuity.html", context)


# -- web UI: policies and the preview of a change ------------------------------------------
def category_choices() -> list[tuple[str, str]]:
    """Every category a recording can carry, in words: the fixed ones, each coverage verdict
    (`verdict:<code>`), each enforcement category of the record list
    (`enforcement:<执法类别>`), and any other category a policy already names."""
    from backend.enforcement.models import RecordRule
    from coverage_core.wording import VERDICT_LABELS_EN, VERDICT_LABELS_ZH

    english = (get_language() or "").startswith("en")
    verdicts = VERDICT_LABELS_EN if english else VERDICT_LABELS_ZH
    choices: list[tuple[str, str]] = [(c.value, str(c.label)) for c in FactCategory]
    choices += [
        (f"verdict:{verdict}", _("核查结论：%(label)s") % {"label": label})
        for verdict, label in verdicts.items()
    ]
    categories = RecordRule.objects.order_by("category").values_list("category", flat=True)
    choices += [
        (f"enforcement:{name}", _("执法类别：%(name)s") % {"name": name})
        for name in dict.fromkeys(categories)
    ]
    known = {code for code, _label in choices}
    for policy in RetentionPolicy.objects.order_by("category"):
        if policy.category not in known:
            choices.append((policy.category, policy.name))
    return choices


def _policy_form(data: Any) -> tuple[dict[str, Any], str | None]:
    """Parse the page's form (GET for a preview, POST to apply): values and an error text."""
    category = str(data.get("category", "")).strip()
    name = str(data.get("name", "")).strip()
    permanent = str(data.get("permanent", "")) in {"1", "on", "true"}
    raw_days = str(data.get("period_days", "")).strip()
    values: dict[str, Any] = {
        "category": category,
        "name": name,
        "permanent": permanent,
        "period_days": raw_days,
    }
    if not category:
        return values, _("请从列表中选择类别")
    if category not in dict(category_choices()):
        return values, _("没有该类别，请从列表中选择")
    if len(category) > 120 or len(name) > 200:
        return values, "类别或名称过长 / category or name too long"
    if permanent:
        if raw_days:
            return values, "永久保存的策略不能同时指定天数 / permanent takes no days"
        values["days"] = None
        return values, None
    if not raw_days.isdigit() or not 0 < int(raw_days) <= 36500:
        return values, "保存天数必须为 1–36500 的整数 / days must be 1–36500"
    values["days"] = int(raw_days)
    return values, None


def _policies_page(
    request: HttpRequest,
    *,
    form: dict[str, Any],
    error: str | None = None,
    preview: services.PolicyPreview | None = None,
    applied: bool = False,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "retention/policies.html",
        {
            "policies": RetentionPolicy.objects.order_by("category"),
            "categories": category_choices(),
            "form": form,
            "error": error,
            "preview": preview,
            "applied": applied,
        },
        status=status,
    )


def policies_page(request: HttpRequest) -> HttpResponse:
    """Storage admins' page: the policies, and (with ?category=…&period_days=… or
    &permanent=1) exactly which recordings' dates a change would move, before applying."""
    storage_admin(request)
    if "category" not in request.GET:
        return _policies_page(request, form={})
    form, error = _policy_form(request.GET)
    if error:
        return _policies_page(request, form=form, error=error, status=400)
    preview = services.retention_policy_preview(
        category=form["category"],
        period_days=form["days"],
        permanent=form["permanent"],
        name=form["name"],
        limit=500,
    )
    return _policies_page(request, form=form, preview=preview)


def policies_page_apply(request: HttpRequest) -> HttpResponse:
    """Apply the previewed change from the page (form post). A change that would shorten
    any date is refused (409) and the page shows why."""
    user = storage_admin(request)
    form, error = _policy_form(request.POST)
    if error:
        return _policies_page(request, form=form, error=error, status=400)
    try:
        preview = services.retention_policy_set(
            actor=user,
            category=form["category"],
            name=form["name"] or form["category"],
            period_days=form["days"],
            permanent=form["permanent"],
        )
    except FieldVaultError as exc:
        return _policies_page(request, form=form, error=exc.message, status=exc.status)
    # POST-redirect-GET: reloading the page afterwards never re-applies the change.
    messages.success(
        request,
        _("策略已生效：%(category)s，%(changed)s 条记录的保存期限已调整。")
        % {"category": preview.category, "changed": preview.total_changed},
    )
    return HttpResponseRedirect(reverse("retention:policies"))


# -- web UI: destruction batches for storage admins and the leader in charge ---------------
def _destruction_list_page(
    request: HttpRequest, *, error: str | None = None, status: int = 200
) -> HttpResponse:
    user = user_of(request)
    return render(
        request,
        "retention/destruction_list.html",
        {
            "batches": DestructionBatch.objects.select_related("prepared_by").order_by("-pk")[:100],
            "due_count": len(destruction.destruction_candidates(limit=10000))
            if services.user_is_storage_admin(user)
            else None,
            "error": error,
        },
        status=status,
    )


def _batch_page(
    request: HttpRequest, batch: DestructionBatch, *, error: str | None = None, status: int = 200
) -> HttpResponse:
    user = user_of(request)
    approvals = list(batch.approvals.select_related("approver").order_by("approved_at"))
    return render(
        request,
        "retention/destruction_batch.html",
        {
            "batch": batch,
            "items": [
                {"item": i, "categories": categories_from_key(i.categories)}
                for i in batch.items.order_by("pk")
            ],
            "approvals": approvals,
            "total_human": human_bytes(batch.total_bytes),
            "share_percent": f"{batch.share * 100:.2f}",
            "can_approve": batch.state == "prepared"
            and services.user_is_retention_approver(user)
            and batch.prepared_by_id != user.pk
            and all(a.approver_id != user.pk for a in approvals),
            "error": error,
        },
        status=status,
    )


def destruction_page(request: HttpRequest) -> HttpResponse:
    """Destruction batches (web UI): storage admins prepare, the leader in charge approves."""
    admin_or_approver(request)
    return _destruction_list_page(request)


def destruction_page_prepare(request: HttpRequest) -> HttpResponse:
    """Prepare a batch of every due recording (form post); then show its preview."""
    user = storage_admin(request)
    note = str(request.POST.get("note", ""))[:500]
    try:
        batch = destruction.destruction_batch_prepare(actor=user, note=note)
    except FieldVaultError as exc:
        return _destruction_list_page(request, error=exc.message, status=exc.status)
    messages.success(request, _("已提请销毁批次，等待分管领导审批。"))
    return HttpResponseRedirect(reverse("retention:destruction_batch", args=[batch.pk]))


def _batch_or_404(batch_id: int) -> DestructionBatch:
    batch = DestructionBatch.objects.select_related("prepared_by").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(str(_("没有该销毁批次")), code="batch_not_found")
    return batch


def destruction_batch_page(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The preview the leader in charge approves: every item, its size, categories, links and
    why it is due; the brake (share of holdings, approvals needed) and the queue date."""
    admin_or_approver(request)
    return _batch_page(request, _batch_or_404(batch_id))


def destruction_batch_page_act(request: HttpRequest, batch_id: int, action: str) -> HttpResponse:
    """Approve or cancel a batch from its page (form post). Refusals (the preparer approving,
    a second approval by the same leader, a closed batch) show on the page with their status."""
    user = admin_or_approver(request)
    batch = _batch_or_404(batch_id)
    try:
        if action == "approve":
            batch = destruction.destruction_batch_approve(actor=user, batch_id=batch.pk)
        elif action == "cancel":
            reason = str(request.POST.get("reason", "")).strip()
            if not reason:
                return _batch_page(request, batch, error="必须填写撤销原因", status=400)
            batch = destruction.destruction_batch_cancel(
                actor=user, batch_id=batch.pk, reason=reason[:500]
            )
        else:
            raise NotFound(str(_("没有该操作")), code="action_not_found")
    except FieldVaultError as exc:
        return _batch_page(request, _batch_or_404(batch_id), error=exc.message, status=exc.status)
    messages.success(request, _("已批准销毁。") if action == "approve" else _("销毁批次已撤销。"))
    return HttpResponseRedirect(reverse("retention:destruction_batch", args=[batch.pk]))


# -- the URLs (backend/retention/urls.py): one view per address ----------------------------
@require_http_methods(["GET", "POST"])
@page
def policies(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return policies_page_apply(request)
    return policies_page(request)


@require_http_methods(["GET", "POST"])
@page
def destruction_batches(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return destruction_page_prepare(request)
    return destruction_page(request)


@require_GET
@page
def destruction_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    return destruction_batch_page(request, batch_id)


@require_POST
@page
def destruction_batch_act(request: HttpRequest, batch_id: int, action: str) -> HttpResponse:
    return destruction_batch_page_act(request, batch_id, action)


@require_GET
@page
def capacity(request: HttpRequest) -> HttpResponse:
    return capacity_page(request)


@require_GET
@page
def continuity(request: HttpRequest) -> HttpResponse:
    return continuity_page(request)


@require_GET
@page
def register_print_page(request: HttpRequest) -> HttpResponse:
    return register_print(request)
