"""Retention for storage admins, legal officers and the leader in charge. Storage admins
see storage facts (ids, sizes, hashes, dates, categories, units), never the footage."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.security import django_auth

from backend.accounts.models import Role
from backend.config.api_types import BIGINT_MAX
from backend.config.errors import NotFound, PermissionDenied
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
from backend.retention.permissions import (
    admin_or_approver,
    register_reader,
    storage_admin,
    user_of,
)
from backend.retention.register_export import register_xlsx
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


# -- policies ----------------------------------------------------------------------------
@router.get("policies", response=list[PolicyOut], operation_id="retention_policies")
def list_policies(request: HttpRequest) -> list[PolicyOut]:
    admin_or_approver(request)
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
    storage_admin(request)
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
    user = storage_admin(request)
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
    user = user_of(request)
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
        actor=user_of(request),
        recording_id=body.recording_id,
        kind=body.kind,
        activity_ref=body.activity_ref,
        case_ref=body.case_ref,
        note=body.note,
    )
    return Status(201, MarkOut(id=mark.pk, recording_id=str(mark.recording_id), kind=mark.kind))


@router.delete("marks/{mark_id}", response={204: None}, operation_id="retention_mark_withdraw")
def withdraw_mark(request: HttpRequest, mark_id: int) -> Status:
    services.evidence_mark_withdraw(actor=user_of(request), mark_id=mark_id)
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
    user = user_of(request)
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
        actor=user_of(request),
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
        services.legal_hold_release(actor=user_of(request), hold_id=hold_id, reason=body.reason)
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
    storage_admin(request)
    return [str(i) for i in destruction.destruction_candidates(limit=min(limit, 10000))]


@router.post(
    "destruction/batches", response={201: BatchOut}, operation_id="retention_destruction_prepare"
)
def prepare_batch(request: HttpRequest, body: BatchIn) -> Status:
    """Prepare a destruction batch. 409 `destruction_refused` lists, per recording, why it
    may not be destroyed (held, used as evidence, not yet due, already queued)."""
    batch = destruction.destruction_batch_prepare(
        actor=storage_admin(request),
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
    admin_or_approver(request)
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
        destruction.destruction_batch_approve(actor=user_of(request), batch_id=batch_id)
    )


@router.post(
    "destruction/batches/{batch_id}/cancel",
    response=BatchOut,
    operation_id="retention_destruction_cancel",
)
def cancel_batch(request: HttpRequest, batch_id: int, body: ReasonIn) -> BatchOut:
    return _batch_out(
        destruction.destruction_batch_cancel(
            actor=user_of(request), batch_id=batch_id, reason=body.reason
        )
    )


@router.post(
    "destruction/items/{item_id}/recover",
    response={204: None},
    operation_id="retention_destruction_recover_item",
)
def recover_item(request: HttpRequest, item_id: int, body: ReasonIn) -> Status:
    destruction.destruction_item_recover(
        actor=user_of(request), item_id=item_id, reason=body.reason
    )
    return Status(204, None)


@router.get("register", response=list[RegisterEntryOut], operation_id="retention_register")
def register(
    request: HttpRequest,
    after: int = Query(0, ge=0, le=BIGINT_MAX),
    limit: int = Query(500, ge=1, le=5000),
) -> list[RegisterEntryOut]:
    register_reader(request)
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
    register_reader(request)
    response = HttpResponse(
        register_xlsx(register_entries().iterator()),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = "attachment; filename=destruction-register.xlsx"
    return response


# -- fixity and capacity -----------------------------------------------------------------
@router.post("fixity/run", response=FixityRunOut, operation_id="retention_fixity_run")
def run_fixity(request: HttpRequest, body: FixityRunIn) -> FixityRunOut:
    storage_admin(request)
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
    storage_admin(request)
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
    alert = fixity.fixity_alert_acknowledge(actor=storage_admin(request), alert_id=alert_id)
    return _alert_out(alert)


@router.get(
    "recordings/{recording_id}/fixity",
    response=list[FixityCheckOut],
    operation_id="retention_recording_fixity",
)
def recording_fixity(request: HttpRequest, recording_id: uuid.UUID) -> list[FixityCheckOut]:
    """Every fixity check of one recording, newest first (storage facts only)."""
    storage_admin(request)
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
    storage_admin(request)
    return CapacityOut(**capacity_report().__dict__)
