"""Random inspections (双随机、一公开): item and target imports, draws, publication.

Draws and published results are public by design (一公开): anyone may read a draw's
inputs, seed and result and re-run it (`POST /draws/{id}/verify`, or the pure function
backend/inspections/draw.py run_draw); managing needs a supervisor or legal officer.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from django.utils import timezone
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile
from ninja.security import django_auth

from backend.accounts.models import Officer, Unit, User
from backend.audit.services import Actor
from backend.config.api_types import BIGINT_MAX
from backend.config.errors import InvalidInput, NotFound, PermissionDenied
from backend.inspections.models import Inspection, InspectionTarget, RandomDraw
from backend.inspections.schemas import (
    ConflictIn,
    DrawIn,
    DrawnInspectionOut,
    DrawOut,
    DrawSummaryOut,
    DrawVerificationOut,
    ImportReportOut,
    InspectorOut,
    ItemOut,
    PendingPublicationOut,
    PublishedInspectionOut,
)
from backend.inspections.selectors import (
    draw_get,
    draws_published,
    inspections_pending_publication,
    inspections_published,
    inspections_visible_to,
    items_visible_to,
    may_manage_inspections,
)
from backend.inspections.services import (
    draw_create,
    draw_verify,
    inspection_items_import,
    inspection_publish,
    inspection_targets_import,
    inspector_conflict_declare,
)
from backend.workcalendar.selectors import working_calendar

router = Router(tags=["inspections"], auth=django_auth)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _manager(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if not may_manage_inspections(user) or user.unit is None:
        raise PermissionDenied("only supervisors and legal officers of a unit manage inspections")
    return user


def _read(file: UploadedFile) -> bytes:
    if file.size is not None and file.size > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            "file too large", code="file_too_large", details={"max_bytes": MAX_UPLOAD_BYTES}
        )
    return file.read()


@router.post(
    "items/import", response={201: ImportReportOut}, operation_id="inspection_items_import"
)
def import_items(request: HttpRequest, file: File[UploadedFile]) -> Status:
    """Import the random-inspection item list (随机抽查事项清单) in the official columns
    (序号, 检查主体, 抽查事项, 检查依据, 检查内容, 检查方式, 适用对象, 抽查比例, 市场主体数量,
    抽查频次) as CSV (UTF-8/BOM/GBK) or XLSX, for the caller's unit."""
    user = _manager(request)
    unit: Unit = user.unit  # type: ignore[assignment]
    report = inspection_items_import(unit=unit, source=_read(file), actor=user, file_name=file.name)
    return Status(201, ImportReportOut(**report.as_dict()))


@router.post(
    "targets/import", response={201: ImportReportOut}, operation_id="inspection_targets_import"
)
def import_targets(request: HttpRequest, file: File[UploadedFile]) -> Status:
    """Import inspection targets (名称, 类型, 统一社会信用代码, 地址) as CSV or XLSX. 类型 uses
    the wording of the item list's 适用对象, which is how a draw finds its candidates."""
    user = _manager(request)
    unit: Unit = user.unit  # type: ignore[assignment]
    report = inspection_targets_import(
        unit=unit, source=_read(file), actor=user, file_name=file.name
    )
    return Status(201, ImportReportOut(**report.as_dict()))


@router.get("items", response=list[ItemOut], operation_id="inspection_items_list")
def list_items(request: HttpRequest) -> list[ItemOut]:
    return [
        ItemOut(
            id=i.pk,
            sequence=i.sequence,
            inspecting_body=i.inspecting_body,
            name=i.name,
            legal_basis=i.legal_basis,
            content=i.content,
            methods=i.methods,
            target_type=i.target_type,
            ratio_percent=str(i.ratio_percent),
            declared_target_count=i.declared_target_count,
            frequency=i.frequency,
        )
        for i in items_visible_to(_manager(request))
    ]


@router.post("conflicts", response={201: dict}, operation_id="inspector_conflicts_declare")
def declare_conflict(request: HttpRequest, payload: ConflictIn) -> Status:
    """Declare that an officer must never inspect a target (回避)."""
    user = _manager(request)
    unit: Unit = user.unit  # type: ignore[assignment]
    officer = Officer.objects.filter(
        pk=payload.officer_id, unit__path__startswith=unit.path
    ).first()
    target = InspectionTarget.objects.filter(pk=payload.target_id, unit=unit).first()
    if officer is None or target is None:
        raise NotFound("no such officer or target", code="not_found")
    conflict = inspector_conflict_declare(
        officer=officer, target=target, reason=payload.reason, actor=Actor.user(user)
    )
    return Status(201, {"id": conflict.pk})


def _draw_out(draw: RandomDraw) -> DrawOut:
    inspections = draw.inspections.prefetch_related("inspectors").order_by("pk")
    return DrawOut(
        id=draw.pk,
        item_id=draw.item_id,
        item_name=draw.item.name,
        period=draw.period,
        drawn_on=draw.drawn_on,
        algorithm=draw.algorithm,
        seed=draw.seed,
        inputs=draw.inputs,
        result=draw.result,
        result_sha256=draw.result_sha256,
        inspections=[
            DrawnInspectionOut(
                inspection_id=i.pk,
                target_id=i.target_id,
                inspector_ids=sorted(x.officer_id for x in i.inspectors.all()),
            )
            for i in inspections
        ],
    )


@router.post("draws", response={201: DrawOut}, operation_id="random_draws_create")
def create_draw(request: HttpRequest, payload: DrawIn) -> Status:
    """Draw targets (by the item's ratio) and two certified inspectors without a declared
    conflict per target, at random, and create the inspections. One draw per item and
    period (409 `already_drawn`); 409 `draw_impossible` when a target has fewer than two
    eligible inspectors."""
    user = _manager(request)
    item = items_visible_to(user).filter(pk=payload.item_id).first()
    if item is None:
        raise NotFound("no such item", code="item_not_found")
    draw = draw_create(item=item, period=payload.period, actor=user)
    return Status(201, _draw_out(draw))


@router.get("draws", response=list[DrawSummaryOut], auth=None, operation_id="random_draws_list")
def list_draws(
    request: HttpRequest,
    item_id: int | None = Query(None, ge=1, le=BIGINT_MAX),
    period: str | None = None,
    limit: int = Query(200, ge=1, le=1000),
) -> list[DrawSummaryOut]:
    """Every draw as published (一公开), newest first: item, period, seed and the SHA-256 of
    the result. Fetch one for its full inputs and result and re-run it. Public."""
    return [
        DrawSummaryOut(
            id=d.pk,
            item_id=d.item_id,
            item_name=d.item.name,
            inspecting_body=d.item.inspecting_body,
            period=d.period,
            drawn_on=d.drawn_on,
            algorithm=d.algorithm,
            seed=d.seed,
            result_sha256=d.result_sha256,
            targets_drawn=len(d.result),
        )
        for d in draws_published(item_id=item_id, period=period)[: max(1, min(limit, 1000))]
    ]


@router.get("draws/{draw_id}", response=DrawOut, auth=None, operation_id="random_draws_get")
def get_draw(request: HttpRequest, draw_id: str) -> DrawOut:
    """A draw as published: algorithm, seed, inputs (sorted candidate ids, certificates,
    conflicts, ratio) and result. Public."""
    draw = draw_get(draw_id)
    if draw is None:
        raise NotFound("no such draw", code="draw_not_found")
    return _draw_out(draw)


@router.post(
    "draws/{draw_id}/verify",
    response=DrawVerificationOut,
    auth=None,
    operation_id="random_draws_verify",
)
def verify_draw(request: HttpRequest, draw_id: str) -> DrawVerificationOut:
    """Re-run the draw from its recorded inputs and seed and compare. Public."""
    draw = draw_get(draw_id)
    if draw is None:
        raise NotFound("no such draw", code="draw_not_found")
    return DrawVerificationOut(**draw_verify(draw).as_dict())


@router.post(
    "{inspection_id}/publish", response=PublishedInspectionOut, operation_id="inspections_publish"
)
def publish(request: HttpRequest, inspection_id: uuid.UUID) -> PublishedInspectionOut:
    """Publish a concluded inspection's result (within 20 working days of the visit)."""
    user = _manager(request)
    inspection = inspections_visible_to(user).filter(pk=inspection_id).first()
    if inspection is None:
        raise NotFound("no such inspection", code="inspection_not_found")
    inspection_publish(inspection=inspection, actor=user)
    return _published_out(inspections_published().get(pk=inspection.pk))


def _published_out(i: Inspection) -> PublishedInspectionOut:
    assert i.published_at is not None
    return PublishedInspectionOut(
        id=i.pk,
        item_name=i.item.name,
        inspecting_body=i.item.inspecting_body,
        target_name=i.target.name,
        draw_id=i.draw_id,
        inspectors=[
            InspectorOut(
                officer_id=x.officer_id,
                name=x.officer.name,
                certificate_number=x.certificate_number,
            )
            for x in i.inspectors.all()
        ],
        arrived_at=i.arrived_at,
        departed_at=i.departed_at,
        findings=i.findings,
        rectification_required=i.rectification_required,
        rectification_deadline=i.rectification_deadline,
        publish_by=i.publish_by,
        publish_by_provisional=i.publish_by_provisional,
        published_at=i.published_at,
        # None only for a legacy row without a deadline.
        published_within_deadline=None
        if i.publish_by is None
        else timezone.localtime(i.published_at).date() <= i.publish_by,
    )


@router.get(
    "pending-publication",
    response=list[PendingPublicationOut],
    operation_id="inspections_pending_publication",
)
def pending_publication(request: HttpRequest) -> list[PendingPublicationOut]:
    """Concluded inspections not yet published, with their deadline (20 working days after
    the visit, official calendar) and the working days left; `overdue` once it passed.
    `publish_by_provisional`: a year the count crosses has no official holiday arrangement
    yet, so the deadline was counted on the national rule; it is recomputed (and may move)
    when the arrangement is entered."""
    user = _manager(request)
    today = timezone.localdate()
    calendar = working_calendar()
    rows = []
    for i in inspections_pending_publication(user)[:1000]:
        left: int | None = None
        if i.publish_by is not None:
            left = (
                calendar.working_days_between(today, i.publish_by)
                if i.publish_by >= today
                else -calendar.working_days_between(i.publish_by, today)
            )
        rows.append(
            PendingPublicationOut(
                id=i.pk,
                item_name=i.item.name,
                target_name=i.target.name,
                departed_at=i.departed_at,
                publish_by=i.publish_by,
                publish_by_provisional=i.publish_by_provisional,
                working_days_left=left,
                overdue=None if i.publish_by is None else today > i.publish_by,
            )
        )
    return rows


@router.get(
    "published",
    response=list[PublishedInspectionOut],
    auth=None,
    operation_id="inspections_published",
)
def published(
    request: HttpRequest, limit: int = Query(200, ge=1, le=1000)
) -> list[PublishedInspectionOut]:
    """Published inspection results, newest first — the listing of the publication page
    (公示). Public."""
    return [_published_out(i) for i in inspections_published()[: max(1, min(limit, 1000))]]
