"""Retention for storage admins, legal officers and the leader in charge. Storage admins
see storage facts (ids, sizes, hashes, dates, categories, units), never the footage."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.security import django_auth

from backend.accounts.models import Role, User
from backend.config.api_types import BIGINT_MAX
from backend.config.errors import FieldVaultError, NotFound, PermissionDenied
from backend.footage.selectors import recording_get_visible
from backend.retention import destruction, fixity, services
from backend.retention.facts import categories_from_key
from backend.retention.models import (
    DestructionBatch,
    FixityAlert,
    FixityCheck,
    LegalHold,
    RecordingRetention,
    RetentionPolicy,
)
from backend.retention.register_export import register_print_html, register_xlsx
from backend.retention.schemas import (
    AlertOut,
    BatchIn,
    BatchOut,
    CapacityOut,
    DateChangeOut,
    FixityCheckOut,
    FixityRunIn,
    FixityRunOut,
    HoldIn,
    HoldOut,
    ItemOut,
    MarkIn,
    MarkOut,
    PolicyIn,
    PolicyOut,
    PolicyPreviewIn,
    PolicyPreviewOut,
    ReasonIn,
    RegisterEntryOut,
    RetentionOut,
)
from backend.retention.selectors import capacity_report, register_entries

router = Router(tags=["retention"], auth=django_auth)

REGISTER_ROLES = {Role.STORAGE_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _storage_admin(request: HttpRequest) -> User:
    user = _user(request)
    if not services.user_is_storage_admin(user):
        raise PermissionDenied(str(_("只有存储管理员可以访问")), code="not_storage_admin")
    return user


def _admin_or_approver(request: HttpRequest) -> User:
    user = _user(request)
    if not (services.user_is_storage_admin(user) or services.user_is_retention_approver(user)):
        raise PermissionDenied(str(_("只有存储管理员或分管领导可以访问")), code="not_allowed")
    return user


def _register_reader(request: HttpRequest) -> User:
    user = _user(request)
    if not (user.role in REGISTER_ROLES or services.user_is_retention_approver(user)):
        raise PermissionDenied(str(_("无权查看销毁清册")), code="not_allowed")
    return user


# -- policies ----------------------------------------------------------------------------
@router.get("policies", response=list[PolicyOut], operation_id="retention_policies")
def list_policies(request: HttpRequest) -> list[PolicyOut]:
    _admin_or_approver(request)
    return [
        PolicyOut(
            category=p.category, name=p.name, period_days=p.period_days, permanent=p.permanent
        )
        for p in RetentionPolicy.objects.order_by("category")
    ]


@router.post("policies/preview", response=PolicyPreviewOut, operation_id="retention_policy_preview")
def preview_policy(request: HttpRequest, body: PolicyPreviewIn) -> PolicyPreviewOut:
    """Which recordings' dates would change, and how, if this policy took effect. Nothing
    is written; `refused_reason` says why applying it would be refused."""
    _storage_admin(request)
    preview = services.retention_policy_preview(
        category=body.category,
        period_days=body.period_days,
        permanent=body.permanent,
        remove=body.remove,
        limit=body.limit,
    )
    return _preview_out(preview)


def _preview_out(preview: services.PolicyPreview) -> PolicyPreviewOut:
    return PolicyPreviewOut(
        category=preview.category,
        total_changed=preview.total_changed,
        later=preview.later,
        earlier=preview.earlier,
        refused_reason=preview.refused_reason,
        changes=[DateChangeOut(**change.__dict__) for change in preview.changes],
    )


@router.put("policies/{category}", response=PolicyPreviewOut, operation_id="retention_policy_set")
def set_policy(request: HttpRequest, category: str, body: PolicyIn) -> PolicyPreviewOut:
    """Create or change a category's policy. 409 `policy_would_shorten` when any date would
    move earlier (object locks only extend)."""
    user = _storage_admin(request)
    preview = services.retention_policy_set(
        actor=user,
        category=category,
        name=body.name,
        period_days=body.period_days,
        permanent=body.permanent,
    )
    return _preview_out(preview)


# -- per recording -----------------------------------------------------------------------
@router.get("recordings/{recording_id}", response=RetentionOut, operation_id="retention_recording")
def recording_retention(request: HttpRequest, recording_id: str) -> RetentionOut:
    """A recording's retention date and the reason, for storage admins and for whoever may
    see the recording."""
    user = _user(request)
    row = None
    try:
        key = uuid.UUID(recording_id)
    except ValueError:
        key = None
    if key is not None and (
        services.user_is_storage_admin(user)
        or recording_get_visible(user=user, recording_id=recording_id) is not None
    ):
        row = RecordingRetention.objects.filter(recording_id=key).first()
    if row is None:
        raise NotFound(str(_("没有该记录的保存期限")), code="retention_not_found")
    reason = row.reason
    if row.retention_until > row.policy_until:
        reason += "；对象锁定已至更晚日期，不可缩短"
    return RetentionOut(
        recording_id=str(row.recording_id),
        retention_until=row.retention_until,
        permanent=row.permanent,
        reason=reason,
        categories=categories_from_key(row.categories),
        policy_until=row.policy_until,
        lock_until=row.lock_until_applied,
        held=row.held,
        last_fixity_at=row.last_fixity_at,
        last_fixity_outcome=row.last_fixity_outcome,
        destroyed_at=row.destroyed_at,
    )


@router.post("marks", response={201: MarkOut}, operation_id="retention_mark_add")
def add_mark(request: HttpRequest, body: MarkIn) -> Status:
    mark = services.evidence_mark_add(
        actor=_user(request),
        recording_id=body.recording_id,
        kind=body.kind,
        activity_ref=body.activity_ref,
        case_ref=body.case_ref,
        note=body.note,
    )
    return Status(201, MarkOut(id=mark.pk, recording_id=str(mark.recording_id), kind=mark.kind))


@router.delete("marks/{mark_id}", response={204: None}, operation_id="retention_mark_withdraw")
def withdraw_mark(request: HttpRequest, mark_id: int) -> Status:
    services.evidence_mark_withdraw(actor=_user(request), mark_id=mark_id)
    return Status(204, None)


# -- legal holds -------------------------------------------------------------------------
def _hold_out(hold: LegalHold) -> HoldOut:
    return HoldOut(
        id=hold.pk,
        target_kind=hold.target_kind,
        recording_id=str(hold.recording_id) if hold.recording_id else None,
        reference=hold.reference,
        reason=hold.reason,
        placed_by=hold.placed_by_id,
        placed_at=hold.placed_at,
        released_by=hold.released_by_id,
        released_at=hold.released_at,
    )


@router.get("holds", response=list[HoldOut], operation_id="retention_holds")
def list_holds(request: HttpRequest, active: bool = True) -> list[HoldOut]:
    user = _user(request)
    if not (
        user.role in services.HOLD_ROLES | {Role.STORAGE_ADMIN}
        or services.user_is_retention_approver(user)
    ):
        raise PermissionDenied(str(_("无权查看保全")), code="not_allowed")
    holds = services.legal_holds_visible_to(user).order_by("-placed_at")
    if active:
        holds = holds.filter(released_at__isnull=True)
    return [_hold_out(h) for h in holds[:1000]]


@router.post("holds", response={201: HoldOut}, operation_id="retention_hold_place")
def place_hold(request: HttpRequest, body: HoldIn) -> Status:
    hold = services.legal_hold_place(
        actor=_user(request),
        target_kind=body.target_kind,
        reason=body.reason,
        recording_id=body.recording_id,
        reference=body.reference,
    )
    return Status(201, _hold_out(hold))


@router.post("holds/{hold_id}/release", response=HoldOut, operation_id="retention_hold_release")
def release_hold(request: HttpRequest, hold_id: int, body: ReasonIn) -> HoldOut:
    """Needs a second person: 403 `hold_release_needs_second_person` for the placer."""
    return _hold_out(
        services.legal_hold_release(actor=_user(request), hold_id=hold_id, reason=body.reason)
    )


# -- destruction -------------------------------------------------------------------------
def _batch_out(batch: DestructionBatch) -> BatchOut:
    return BatchOut(
        id=batch.pk,
        state=batch.state,
        prepared_by=batch.prepared_by_id,
        prepared_at=batch.prepared_at,
        item_count=batch.item_count,
        total_bytes=batch.total_bytes,
        share=batch.share,
        approvals_required=batch.approvals_required,
        approvers=list(
            batch.approvals.order_by("approved_at").values_list("approver_id", flat=True)
        ),
        executes_after=batch.executes_after,
        items=[
            ItemOut(
                id=i.pk,
                recording_id=str(i.recording_id),
                size_bytes=i.size_bytes,
                sha256=i.sha256,
                categories=categories_from_key(i.categories),
                links={k: [str(x) for x in v] for k, v in i.links.items()},
                retention_until=i.retention_until,
                reason_due=i.reason_due,
                state=i.state,
                state_reason=i.state_reason,
            )
            for i in batch.items.order_by("pk")
        ],
    )


@router.get(
    "destruction/candidates", response=list[str], operation_id="retention_destruction_candidates"
)
def destruction_candidates(
    request: HttpRequest, limit: int = Query(500, ge=1, le=10000)
) -> list[str]:
    _storage_admin(request)
    return [str(i) for i in destruction.destruction_candidates(limit=min(limit, 10000))]


@router.post(
    "destruction/batches", response={201: BatchOut}, operation_id="retention_destruction_prepare"
)
def prepare_batch(request: HttpRequest, body: BatchIn) -> Status:
    """Prepare a destruction batch. 409 `destruction_refused` lists, per recording, why it
    may not be destroyed (held, used as evidence, not yet due, already queued)."""
    batch = destruction.destruction_batch_prepare(
        actor=_storage_admin(request),
        recording_ids=body.recording_ids,
        limit=body.limit,
        note=body.note,
    )
    return Status(201, _batch_out(batch))


@router.get(
    "destruction/batches/{batch_id}", response=BatchOut, operation_id="retention_destruction_batch"
)
def get_batch(request: HttpRequest, batch_id: int) -> BatchOut:
    """The preview the approver reads: each item, its size, category, links, why it is due."""
    _admin_or_approver(request)
    batch = DestructionBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(str(_("没有该销毁批次")), code="batch_not_found")
    return _batch_out(batch)


@router.post(
    "destruction/batches/{batch_id}/approve",
    response=BatchOut,
    operation_id="retention_destruction_approve",
)
def approve_batch(request: HttpRequest, batch_id: int) -> BatchOut:
    return _batch_out(
        destruction.destruction_batch_approve(actor=_user(request), batch_id=batch_id)
    )


@router.post(
    "destruction/batches/{batch_id}/cancel",
    response=BatchOut,
    operation_id="retention_destruction_cancel",
)
def cancel_batch(request: HttpRequest, batch_id: int, body: ReasonIn) -> BatchOut:
    return _batch_out(
        destruction.destruction_batch_cancel(
            actor=_user(request), batch_id=batch_id, reason=body.reason
        )
    )


@router.post(
    "destruction/items/{item_id}/recover",
    response={204: None},
    operation_id="retention_destruction_recover_item",
)
def recover_item(request: HttpRequest, item_id: int, body: ReasonIn) -> Status:
    destruction.destruction_item_recover(actor=_user(request), item_id=item_id, reason=body.reason)
    return Status(204, None)


@router.get("register", response=list[RegisterEntryOut], operation_id="retention_register")
def register(
    request: HttpRequest,
    after: int = Query(0, ge=0, le=BIGINT_MAX),
    limit: int = Query(500, ge=1, le=5000),
) -> list[RegisterEntryOut]:
    _register_reader(request)
    entries = register_entries().filter(number__gt=after)[: min(limit, 5000)]
    return [
        RegisterEntryOut(
            number=e.number,
            recording_id=str(e.recording_id),
            file_name=e.file_name,
            sha256=e.sha256,
            size_bytes=e.size_bytes,
            recorded_started_at=e.recorded_started_at,
            retention_until=e.retention_until,
            reason_due=e.reason_due,
            prepared_by=e.prepared_by,
            approved_by=e.approved_by,
            approved_at=e.approved_at,
            destroyed_at=e.destroyed_at,
            audit_sequence=e.audit_sequence,
        )
        for e in entries
    ]


@router.get("register.xlsx", operation_id="retention_register_xlsx")
def register_export(request: HttpRequest) -> HttpResponse:
    _register_reader(request)
    response = HttpResponse(
        register_xlsx(register_entries().iterator()),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = "attachment; filename=destruction-register.xlsx"
    return response


@router.get("register/print", operation_id="retention_register_print")
def register_print(request: HttpRequest) -> HttpResponse:
    _register_reader(request)
    return HttpResponse(
        register_print_html(register_entries().iterator()), content_type="text/html; charset=utf-8"
    )


# -- fixity and capacity -----------------------------------------------------------------
@router.post("fixity/run", response=FixityRunOut, operation_id="retention_fixity_run")
def run_fixity(request: HttpRequest, body: FixityRunIn) -> FixityRunOut:
    _storage_admin(request)
    report = fixity.fixity_sweep(limit=body.limit)
    return FixityRunOut(
        checked=report.checked,
        ok=report.ok,
        failed=report.failed,
        bytes_read=report.bytes_read,
        seconds=report.seconds,
        overdue_remaining=report.overdue_remaining,
    )


@router.get("fixity/alerts", response=list[AlertOut], operation_id="retention_fixity_alerts")
def fixity_alerts(request: HttpRequest, open_only: bool = True) -> list[AlertOut]:
    _storage_admin(request)
    alerts = FixityAlert.objects.order_by("-raised_at")
    if open_only:
        alerts = alerts.filter(acknowledged_at__isnull=True)
    return [_alert_out(a) for a in alerts[:1000]]


def _alert_out(alert: FixityAlert) -> AlertOut:
    return AlertOut(
        id=alert.pk,
        recording_id=str(alert.recording_id),
        outcome=alert.outcome,
        message=alert.message,
        raised_at=alert.raised_at,
        acknowledged_at=alert.acknowledged_at,
    )


@router.post(
    "fixity/alerts/{alert_id}/acknowledge",
    response=AlertOut,
    operation_id="retention_fixity_alert_acknowledge",
)
def acknowledge_alert(request: HttpRequest, alert_id: int) -> AlertOut:
    """A storage admin has seen the alert (and is handling it). 409 when already done."""
    alert = fixity.fixity_alert_acknowledge(actor=_storage_admin(request), alert_id=alert_id)
    return _alert_out(alert)


@router.get(
    "recordings/{recording_id}/fixity",
    response=list[FixityCheckOut],
    operation_id="retention_recording_fixity",
)
def recording_fixity(request: HttpRequest, recording_id: uuid.UUID) -> list[FixityCheckOut]:
    """Every fixity check of one recording, newest first (storage facts only)."""
    _storage_admin(request)
    checks = FixityCheck.objects.filter(recording_id=recording_id).order_by("-checked_at", "-pk")
    return [
        FixityCheckOut(
            id=c.pk,
            checked_at=c.checked_at,
            outcome=c.outcome,
            expected_sha256=c.expected_sha256,
            actual_sha256=c.actual_sha256,
            bytes_read=c.bytes_read,
            detail=c.detail,
        )
        for c in checks[:1000]
    ]


@router.get("capacity", response=CapacityOut, operation_id="retention_capacity")
def capacity(request: HttpRequest) -> CapacityOut:
    _storage_admin(request)
    return CapacityOut(**capacity_report().__dict__)


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


@router.get("capacity/page", operation_id="retention_capacity_page")
def capacity_page(request: HttpRequest) -> HttpResponse:
    """The storage admins' capacity charts in the web UI (HTML, inline SVG, no scripts):
    cumulative bytes over the last 12 months and the projection of the next 12, and bytes
    by unit, retention category and month."""
    _storage_admin(request)
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


@router.get("policies-page", operation_id="retention_policies_page")
def policies_page(request: HttpRequest) -> HttpResponse:
    """Storage admins' page: the policies, and (with ?category=…&period_days=… or
    &permanent=1) exactly which recordings' dates a change would move, before applying."""
    _storage_admin(request)
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


@router.post("policies-page", operation_id="retention_policies_page_apply")
def policies_page_apply(request: HttpRequest) -> HttpResponse:
    """Apply the previewed change from the page (form post). A change that would shorten
    any date is refused (409) and the page shows why."""
    user = _storage_admin(request)
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
    user = _user(request)
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
    user = _user(request)
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


@router.get("destruction-page", operation_id="retention_destruction_page")
def destruction_page(request: HttpRequest) -> HttpResponse:
    """Destruction batches (web UI): storage admins prepare, the leader in charge approves."""
    _admin_or_approver(request)
    return _destruction_list_page(request)


@router.post("destruction-page", operation_id="retention_destruction_page_prepare")
def destruction_page_prepare(request: HttpRequest) -> HttpResponse:
    """Prepare a batch of every due recording (form post); then show its preview."""
    user = _storage_admin(request)
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


@router.get("destruction-page/{batch_id}", operation_id="retention_destruction_batch_page")
def destruction_batch_page(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The preview the leader in charge approves: every item, its size, categories, links and
    why it is due; the brake (share of holdings, approvals needed) and the queue date."""
    _admin_or_approver(request)
    return _batch_page(request, _batch_or_404(batch_id))


@router.post(
    "destruction-page/{batch_id}/{action}", operation_id="retention_destruction_batch_page_act"
)
def destruction_batch_page_act(request: HttpRequest, batch_id: int, action: str) -> HttpResponse:
    """Approve or cancel a batch from its page (form post). Refusals (the preparer approving,
    a second approval by the same leader, a closed batch) show on the page with their status."""
    user = _admin_or_approver(request)
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
