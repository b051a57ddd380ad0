"""Retention's web pages (HTML, session sign-in; the JSON API is retention/api.py): the
policies and the preview of a change, destruction batches (storage admins prepare, the
leader in charge approves), capacity charts and the printable destruction register."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.config.errors import FieldVaultError, NotFound
from backend.retention import destruction, services
from backend.retention.facts import categories_from_key
from backend.retention.models import DestructionBatch, RetentionPolicy
from backend.retention.permissions import (
    admin_or_approver,
    register_reader,
    storage_admin,
    user_of,
)
from backend.retention.register_export import register_print_html
from backend.retention.selectors import capacity_report, register_entries
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


def _with_bars(rows: list[dict[str, Any]], *, width: int = 240) -> list[dict[str, Any]]:
    top = max((int(r["bytes"]) for r in rows), default=0) or 1
    return [
        {**r, "human": human_bytes(r["bytes"]), "pct": int(width * int(r["bytes"]) / top)}
        for r in rows
    ]


def capacity_page(request: HttpRequest) -> HttpResponse:
    """The storage admins' capacity charts in the web UI (HTML, inline SVG, no scripts):
    cumulative bytes over the last 12 months and the projection of the next 12, and bytes
    by unit, retention category and month."""
    storage_admin(request)
    report = capacity_report()
    values: list[tuple[str, float, str]] = [
        (g["month"], float(g["total_bytes"]), "bar") for g in report.growth
    ] + [(p["month"], float(p["total_bytes"]), "proj") for p in report.projection]
    top = max((v for _m, v, _c in values), default=1.0) or 1.0
    step, bar_w = 34, 26
    bars: list[dict[str, Any]] = []
    for index, (label, value, cls) in enumerate(values):
        h = int(180 * value / top)
        bars.append(
            {
                "x": index * step + 10,
                "y": 190 - h,
                "w": bar_w,
                "h": h,
                "cls": cls,
                "label": label,
                "value": human_bytes(value),
                "short": label[2:],
            }
        )
    context = {
        "report": report,
        "total_human": human_bytes(report.total_bytes),
        "per_month_human": human_bytes(report.bytes_per_month),
        "projected_human": human_bytes(report.projected_12_months_bytes),
        "chart": {"width": step * len(values) + 20, "height": 215, "bars": bars, "label_y": 205},
        "by_unit": _with_bars(report.by_unit),
        "by_category": _with_bars(report.by_category),
        "by_month": _with_bars(report.by_month),
    }
    return render(request, "retention/capacity.html", context)


# -- web UI: policies and the preview of a change ------------------------------------------
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
        return values, "类别不能为空 / category is required"
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
    return _policies_page(request, form=form, preview=preview, applied=True)


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
    return _batch_page(request, batch, status=201)


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
    return _batch_page(request, _batch_or_404(batch.pk))


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
def register_print_page(request: HttpRequest) -> HttpResponse:
    return register_print(request)
