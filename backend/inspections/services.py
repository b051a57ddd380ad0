"""Writes of the inspections app: imports, conflicts, random draws, on-site results, publication."""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Unit, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, PermissionDenied
from backend.devices.models import Device
from backend.footage.models import Recording
from backend.hooks import HookPoint
from backend.inspections.deadlines import publication_deadline
from backend.inspections.draw import (
    ALGORITHM,
    DrawImpossibleError,
    inputs_from_json,
    result_as_json,
    result_digest,
    run_draw,
)
from backend.inspections.models import (
    Inspection,
    InspectionInspector,
    InspectionItem,
    InspectionStatus,
    InspectionTarget,
    InspectorConflict,
    RandomDraw,
)
from backend.listimport import ListImportReport as ImportReport
from backend.tabular import (
    Table,
    TableFormatError,
    TableRow,
    invalid_table,
    read_table,
    refuse_import,
    row_error,
)
from sync.records.kinds import RecordCopy
from sync.records.services import records_commit, records_lock

TEAM_SIZE = 2

# Fired after the commit that concluded an inspection (or recorded its result again),
# with the inspection's id: its result is to be published (双随机抽查结果公示).
RESULT_CONCLUDED_HOOKS: HookPoint[[uuid.UUID], None] = HookPoint(
    "inspections.result_concluded",
    "An inspection's result was recorded with the departure: offer it for publication.",
)


def _table(
    source: Path | IO[bytes] | bytes,
    *,
    required: list[str],
    optional: list[str],
    synonyms: dict[str, tuple[str, ...]],
    file_name: str | None,
) -> Table:
    try:
        return read_table(
            source, required=required, optional=optional, synonyms=synonyms, file_name=file_name
        )
    except TableFormatError as exc:
        raise invalid_table(exc) from exc


def parse_ratio(text: str) -> Decimal:
    """'100%', '5%', '5' (percent) → Decimal percent in (0, 100]."""
    cleaned = text.strip().replace("％", "%").rstrip("%").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"抽查比例无法识别：{text!r}") from exc
    if not Decimal(0) < value <= Decimal(100):
        raise ValueError(f"抽查比例须大于 0 且不超过 100%：{text!r}")
    return value


ITEM_REQUIRED = ["检查主体", "抽查事项", "适用对象", "抽查比例"]
ITEM_OPTIONAL = ["序号", "检查依据", "检查内容", "检查方式", "市场主体数量", "抽查频次"]
ITEM_SYNONYMS = {
    "检查主体": ("抽查主体", "实施主体", "检查实施主体"),
    "抽查事项": ("抽查事项名称", "事项名称", "检查事项"),
    "适用对象": ("检查对象", "抽查对象"),
    "抽查比例": ("比例", "抽查比例(%)"),
    "检查依据": ("抽查依据", "依据"),
    "检查方式": ("抽查方式",),
    "市场主体数量": ("对象数量", "主体数量"),
    "抽查频次": ("频次", "检查频次"),
}


def inspection_items_import(
    *,
    unit: Unit,
    source: Path | IO[bytes] | bytes,
    actor: User | None,
    file_name: str | None = None,
) -> ImportReport:
    """Import the random-inspection item list (随机抽查事项清单) in its official columns.
    Rows are matched by 抽查事项 within the unit. All or nothing: any bad row (reported by
    sheet, row and column) imports no row (400 ``rows_invalid``)."""
    table = _table(
        source,
        required=ITEM_REQUIRED,
        optional=ITEM_OPTIONAL,
        synonyms=ITEM_SYNONYMS,
        file_name=file_name,
    )
    report = ImportReport(warnings=list(table.warnings))
    seen: dict[str, int] = {}
    with transaction.atomic():
        for row in table.rows:
            v = row.values
            before = len(report.errors)

            def fail(column: str, message: str, row: TableRow = row) -> None:
                report.errors.append(row_error(table, row, column, message))

            for column in ITEM_REQUIRED:
                if not v.get(column):
                    fail(column, f"缺少{column}")
            values: dict[str, Any] = {}
            try:
                values["ratio_percent"] = (
                    parse_ratio(v.get("抽查比例", "")) if v.get("抽查比例") else None
                )
            except ValueError as exc:
                fail("抽查比例", str(exc))
            for column, key in (("序号", "sequence"), ("市场主体数量", "declared_target_count")):
                text = v.get(column, "")
                if text and not text.isdigit():
                    fail(column, f"{column}须为整数：{text}")
                values[key] = int(text) if text.isdigit() else None
            name = v.get("抽查事项", "")
            if name and name in seen:
                fail("抽查事项", f"抽查事项与第 {seen[name]} 行重复：{name}")
            seen.setdefault(name, row.line)
            if len(report.errors) > before:
                continue
            values.update(
                inspecting_body=v["检查主体"],
                legal_basis=v.get("检查依据", ""),
                content=v.get("检查内容", ""),
                methods=v.get("检查方式", ""),
                target_type=v["适用对象"],
                frequency=v.get("抽查频次", ""),
            )
            _upsert(InspectionItem, report, unit=unit, name=name, values=values)
        if report.errors:
            refuse_import(report)
        audit_record(
            actor=Actor.user(actor) if actor else Actor.system(),
            action="inspection_items.imported",
            object_type="unit",
            object_id=unit.pk,
            data={**report.as_dict(), "file_name": file_name or ""},
        )
    return report


def _upsert(
    model: type[InspectionItem] | type[InspectionTarget],
    report: ImportReport,
    *,
    unit: Unit,
    name: str,
    values: dict[str, Any],
) -> None:
    """Create or update the unit's row of that name, counting it in the report."""
    existing = model.objects.filter(unit=unit, name=name).first()
    if existing is None:
        model.objects.create(unit=unit, name=name, **values)
        report.created += 1
    elif any(getattr(existing, k) != val for k, val in values.items()):
        for k, val in values.items():
            setattr(existing, k, val)
        existing.save()
        report.updated += 1
    else:
        report.unchanged += 1


TARGET_REQUIRED = ["名称", "类型"]
TARGET_OPTIONAL = ["序号", "统一社会信用代码", "地址"]
TARGET_SYNONYMS = {
    "名称": ("检查对象名称", "对象名称", "单位名称", "市场主体名称"),
    "类型": ("对象类型", "检查对象类型", "适用对象"),
    "统一社会信用代码": ("信用代码", "社会信用代码"),
    "地址": ("住所", "经营地址", "注册地址"),
}


def inspection_targets_import(
    *,
    unit: Unit,
    source: Path | IO[bytes] | bytes,
    actor: User | None,
    file_name: str | None = None,
) -> ImportReport:
    """Import inspection targets (名称, 类型 = the item list's 适用对象, 统一社会信用代码, 地址).
    All or nothing, like the item list."""
    table = _table(
        source,
        required=TARGET_REQUIRED,
        optional=TARGET_OPTIONAL,
        synonyms=TARGET_SYNONYMS,
        file_name=file_name,
    )
    report = ImportReport(warnings=list(table.warnings))
    seen: dict[str, int] = {}
    with transaction.atomic():
        for row in table.rows:
            v = row.values
            name, target_type = v.get("名称", ""), v.get("类型", "")
            problems = [
                row_error(table, row, c, f"缺少{c}")
                for c, val in (("名称", name), ("类型", target_type))
                if not val
            ]
            code = v.get("统一社会信用代码", "")
            if code and len(code) != 18:
                problems.append(
                    row_error(table, row, "统一社会信用代码", f"统一社会信用代码须为 18 位：{code}")
                )
            if name and name in seen:
                problems.append(
                    row_error(table, row, "名称", f"名称与第 {seen[name]} 行重复：{name}")
                )
            seen.setdefault(name, row.line)
            if problems:
                report.errors.extend(problems)
                continue
            values = {
                "target_type": target_type,
                "credit_code": code,
                "address": v.get("地址", ""),
                "active": True,
            }
            _upsert(InspectionTarget, report, unit=unit, name=name, values=values)
        if report.errors:
            refuse_import(report)
        audit_record(
            actor=Actor.user(actor) if actor else Actor.system(),
            action="inspection_targets.imported",
            object_type="unit",
            object_id=unit.pk,
            data={**report.as_dict(), "file_name": file_name or ""},
        )
    return report


def inspector_conflict_declare(
    *, officer: Officer, target: InspectionTarget, reason: str, actor: Actor
) -> InspectorConflict:
    with transaction.atomic():
        conflict, _created = InspectorConflict.objects.get_or_create(
            officer=officer, target=target, defaults={"reason": reason}
        )
        audit_record(
            actor=actor,
            action="inspector_conflict.declared",
            object_type="officer",
            object_id=officer.pk,
            data={"target_id": target.pk, "reason": reason},
        )
    return conflict


# --- random draws ----------------------------------------------------------------------


def eligible_inspectors(unit: Unit, day: datetime.date) -> list[Officer]:
    """Officers of the unit's subtree holding a certificate valid on `day` (持证上岗)."""
    candidates = Officer.objects.filter(
        unit__path__startswith=unit.path,
        certificate_number__isnull=False,
        certificate_valid_until__gte=day,
    ).order_by("pk")
    return [o for o in candidates if o.certificate_valid_on(day)]


def draw_inputs_build(
    *, item: InspectionItem, period: str, drawn_on: datetime.date
) -> dict[str, Any]:
    targets = InspectionTarget.objects.filter(
        unit=item.unit, active=True, target_type=item.target_type
    ).order_by("pk")
    inspectors = eligible_inspectors(item.unit, drawn_on)
    target_ids = [t.pk for t in targets]
    inspector_ids = [o.pk for o in inspectors]
    conflicts = sorted(
        InspectorConflict.objects.filter(
            target_id__in=target_ids, officer_id__in=inspector_ids
        ).values_list("officer_id", "target_id")
    )
    return {
        "item_id": item.pk,
        "period": period,
        "drawn_on": drawn_on.isoformat(),
        "ratio_percent": str(item.ratio_percent),
        "team_size": TEAM_SIZE,
        "target_ids": target_ids,
        "inspectors": [
            {
                "officer_id": o.pk,
                "certificate_number": o.certificate_number,
                "certificate_valid_until": str(o.certificate_valid_until),
            }
            for o in inspectors
        ],
        "conflicts": [list(pair) for pair in conflicts],
    }


def inspection_copy(inspection: Inspection) -> RecordCopy:
    inspectors = sorted(inspection.inspectors.all(), key=lambda i: i.officer_id)

    def iso(value: datetime.datetime | None) -> str | None:
        return value.astimezone(datetime.UTC).isoformat() if value else None

    return RecordCopy(
        kind="inspection",
        record_id=inspection.pk,
        unit_id=None,
        audience=tuple(i.officer_id for i in inspectors),
        data={
            "item_id": inspection.item_id,
            "item_name": inspection.item.name,
            "target_id": inspection.target_id,
            "target_name": inspection.target.name,
            "target_address": inspection.target.address,
            "inspector_ids": [i.officer_id for i in inspectors],
            "status": inspection.status,
            "arrived_at": iso(inspection.arrived_at),
            "departed_at": iso(inspection.departed_at),
            "findings": inspection.findings,
            "rectification_required": inspection.rectification_required,
            "rectification_deadline": inspection.rectification_deadline.isoformat()
            if inspection.rectification_deadline
            else None,
            "photo_recording_ids": sorted(str(p.pk) for p in inspection.photos.all()),
            "publish_by": inspection.publish_by.isoformat() if inspection.publish_by else None,
            "publish_by_provisional": inspection.publish_by_provisional,
            "published_at": iso(inspection.published_at),
        },
    )


def draw_create(
    *,
    item: InspectionItem,
    period: str,
    actor: User | None,
    drawn_on: datetime.date | None = None,
) -> RandomDraw:
    """Draw targets and two certified, conflict-free inspectors per target, record the
    inputs, seed and result, and create the inspections. One draw per item and period."""
    period = period.strip()
    if not period or len(period) > 20:
        raise InvalidInput(_("抽查期间无效"), code="invalid_period")
    drawn_on = drawn_on or timezone.localdate()
    inputs = draw_inputs_build(item=item, period=period, drawn_on=drawn_on)
    if not inputs["target_ids"]:
        raise Conflict(
            _("没有可抽取的检查对象"), code="no_targets", details={"target_type": item.target_type}
        )
    seed = secrets.token_hex(16)
    try:
        drawn = run_draw(inputs_from_json(inputs), seed=seed)
    except DrawImpossibleError as exc:
        raise Conflict(
            _("持证且无回避情形的检查人员不足两名"),
            code="draw_impossible",
            details={"target_id": exc.target_id, "available": exc.available},
        ) from exc
    result = result_as_json(drawn)
    certificates = {i["officer_id"]: i for i in inputs["inspectors"]}
    try:
        with transaction.atomic():
            draw = RandomDraw.objects.create(
                item=item,
                unit=item.unit,
                period=period,
                drawn_on=drawn_on,
                seed=seed,
                algorithm=ALGORITHM,
                inputs=inputs,
                result=result,
                result_sha256=result_digest(result),
                created_by=actor,
            )
            inspections = []
            for entry in drawn:
                inspection = Inspection.objects.create(
                    draw=draw, item=item, target_id=entry.target_id, unit=item.unit
                )
                InspectionInspector.objects.bulk_create(
                    [
                        InspectionInspector(
                            inspection=inspection,
                            officer_id=officer_id,
                            certificate_number=certificates[officer_id]["certificate_number"],
                            certificate_valid_until=datetime.date.fromisoformat(
                                certificates[officer_id]["certificate_valid_until"]
                            ),
                            drawn_on=drawn_on,
                        )
                        for officer_id in entry.inspector_ids
                    ]
                )
                inspections.append(inspection)
            audit_record(
                actor=Actor.user(actor) if actor else Actor.system(),
                action="random_draw.drawn",
                object_type="random_draw",
                object_id=draw.pk,
                data={
                    "item_id": item.pk,
                    "period": period,
                    "seed": seed,
                    "result_sha256": draw.result_sha256,
                    "inspections": len(inspections),
                },
            )
            records_commit(
                [
                    inspection_copy(i)
                    for i in Inspection.objects.filter(draw=draw)
                    .select_related("item", "target")
                    .prefetch_related("inspectors", "photos")
                ]
            )
    except IntegrityError as exc:
        raise Conflict(
            _("该事项在该期间已抽取"),
            code="already_drawn",
            details={"item_id": item.pk, "period": period},
        ) from exc
    return draw


@dataclass(frozen=True)
class DrawVerification:
    matches: bool
    algorithm: str
    stored_sha256: str
    recomputed_sha256: str
    inspectors_certified: bool
    inspections_match: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def draw_verify(draw: RandomDraw) -> DrawVerification:
    """Re-run the draw from its recorded inputs and seed and compare with its result, the
    inspections created from it, and the certificates recorded for its inspectors."""
    recomputed = result_as_json(run_draw(inputs_from_json(draw.inputs), seed=draw.seed))
    recomputed_sha = result_digest(recomputed)
    drawn_on = datetime.date.fromisoformat(draw.inputs["drawn_on"])
    certified = all(
        i.get("certificate_number")
        and datetime.date.fromisoformat(i["certificate_valid_until"]) >= drawn_on
        for i in draw.inputs["inspectors"]
    )
    actual = sorted(
        (
            insp.target_id,
            tuple(sorted(x.officer_id for x in insp.inspectors.all())),
        )
        for insp in draw.inspections.prefetch_related("inspectors")
    )
    expected = sorted((e["target_id"], tuple(e["inspector_ids"])) for e in recomputed)
    return DrawVerification(
        matches=recomputed == draw.result
        and recomputed_sha == draw.result_sha256
        and draw.algorithm == ALGORITHM,
        algorithm=draw.algorithm,
        stored_sha256=draw.result_sha256,
        recomputed_sha256=recomputed_sha,
        inspectors_certified=certified,
        inspections_match=actual == expected,
    )


# --- on-site inspections ---------------------------------------------------------------


@dataclass(frozen=True)
class InspectionResultInput:
    arrived_at: datetime.datetime | None
    departed_at: datetime.datetime | None
    device_arrived_at: datetime.datetime | None
    device_departed_at: datetime.datetime | None
    findings: str
    rectification_required: bool
    rectification_deadline: datetime.date | None
    photo_recording_ids: tuple[uuid.UUID, ...]


def inspection_activity_link(inspection_id: uuid.UUID) -> uuid.UUID | None:
    """Create the coverage activity (执法活动) of a concluded on-site inspection — record
    list row 4 (随机抽查) for a drawn one, row 3 (现场检查) otherwise — from the arrival and
    departure moments, with both inspectors. Idempotent (external_ref); run after commit."""
    from backend.enforcement.services import MomentIn, activity_create

    inspection = (
        Inspection.objects.select_related("unit", "target").filter(pk=inspection_id).first()
    )
    if inspection is None or inspection.arrived_at is None or inspection.departed_at is None:
        return None
    officers = [i.officer for i in inspection.inspectors.select_related("officer")]
    stage = "随机抽查" if inspection.draw_id else "现场检查"
    created = activity_create(
        actor=Actor.system(),
        category="行政检查",
        stage=stage,
        item=stage,
        unit=inspection.unit,
        officers=officers,
        start=MomentIn(occurred_at=inspection.arrived_at, source="tablet"),
        stop=MomentIn(occurred_at=inspection.departed_at, source="tablet"),
        place=inspection.target.address or inspection.target.name,
        external_ref=f"inspections.inspection:{inspection.pk}",
    )
    Inspection.objects.filter(pk=inspection.pk, activity__isnull=True).update(
        activity=created.activity
    )
    return created.activity.pk


def inspections_link_redrive() -> int:
    """Create the missing coverage activities of concluded inspections (idempotent)."""
    linked = 0
    pending = Inspection.objects.filter(
        status=InspectionStatus.CONCLUDED, activity__isnull=True
    ).values_list("pk", flat=True)
    for inspection_id in pending:
        if inspection_activity_link(inspection_id) is not None:
            linked += 1
    return linked


def inspection_record_result(
    *,
    record_id: uuid.UUID,
    officer: Officer,
    device: Device | None,
    values: InspectionResultInput,
) -> Inspection:
    """An assigned inspector records arrival, departure, findings and photos. When the
    inspector has left the site the inspection is concluded and its publication deadline
    (20 working days) is set."""
    inspection = (
        Inspection.objects.select_for_update()
        .filter(pk=record_id)
        .select_related("item", "target")
        .first()
    )
    if inspection is None or not inspection.inspectors.filter(officer=officer).exists():
        raise PermissionDenied(_("不是该检查的检查人员"), code="record_out_of_scope")
    if inspection.published_at is not None:
        raise Conflict(_("检查结果已公示，不能修改"), code="already_published")
    if values.departed_at and (values.arrived_at is None or values.departed_at < values.arrived_at):
        raise InvalidInput(_("离开时间须晚于进入时间"), code="departs_before_arrival")
    if values.rectification_required and values.rectification_deadline is None:
        raise InvalidInput(_("责令整改须有整改期限"), code="rectification_deadline_required")
    inspector_ids = list(inspection.inspectors.values_list("officer_id", flat=True))
    photos = list(
        Recording.objects.filter(pk__in=values.photo_recording_ids).filter(
            Q(officer_id__in=inspector_ids) | Q(device__unit__path__startswith=inspection.unit.path)
        )
    )
    if len(photos) != len(set(values.photo_recording_ids)):
        raise InvalidInput(_("关联的照片不存在"), code="unknown_recording")
    inspection.arrived_at = values.arrived_at
    inspection.departed_at = values.departed_at
    inspection.device_arrived_at = values.device_arrived_at
    inspection.device_departed_at = values.device_departed_at
    inspection.findings = values.findings
    inspection.rectification_required = values.rectification_required
    inspection.rectification_deadline = values.rectification_deadline
    if values.departed_at:
        inspection.status = InspectionStatus.CONCLUDED
        deadline = publication_deadline(values.departed_at)
        inspection.publish_by = deadline.date
        inspection.publish_by_provisional = deadline.provisional
    elif values.arrived_at:
        inspection.status = InspectionStatus.IN_PROGRESS
    inspection.save()
    inspection.photos.set(photos)
    if inspection.status == InspectionStatus.CONCLUDED:
        concluded_id = inspection.pk
        transaction.on_commit(lambda: RESULT_CONCLUDED_HOOKS.fire(concluded_id))
    if inspection.status == InspectionStatus.CONCLUDED and inspection.activity_id is None:
        inspection_id = str(inspection.pk)

        def link() -> None:
            from backend.inspections.tasks import link_inspection_activity

            link_inspection_activity.enqueue(inspection_id)

        transaction.on_commit(link)
    return inspection


def _with_detail(inspection_id: uuid.UUID) -> Inspection:
    return (
        Inspection.objects.select_related("item", "target")
        .prefetch_related("inspectors", "photos")
        .get(pk=inspection_id)
    )


def inspection_publish(*, inspection: Inspection, actor: User) -> Inspection:
    with transaction.atomic():
        records_lock([inspection.pk])
        inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
        if inspection.status != InspectionStatus.CONCLUDED:
            raise Conflict(_("检查尚未完成，不能公示"), code="not_concluded")
        if inspection.published_at is None:
            inspection.published_at = timezone.now()
            inspection.save(update_fields=["published_at", "updated_at"])
            audit_record(
                actor=Actor.user(actor),
                action="inspection.published",
                object_type="inspection",
                object_id=inspection.pk,
                data={
                    "publish_by": inspection.publish_by,
                    "publish_by_provisional": inspection.publish_by_provisional,
                },
            )
            records_commit([inspection_copy(_with_detail(inspection.pk))])
    return inspection


INSPECTION_SOURCE = "inspections.inspection"  # how the public site names an inspection


def inspection_published_on_site(
    source: str, source_key: str, published_at: datetime.datetime
) -> None:
    """Receiver of ``publication.item_published``: an inspection's result published on the
    public site is published here too (the tablets see it and stop editing it). Other
    sources' items are not ours; publishing twice keeps the first time."""
    if source != INSPECTION_SOURCE:
        return
    with transaction.atomic():
        records_lock([uuid.UUID(source_key)])
        inspection = Inspection.objects.select_for_update().filter(pk=source_key).first()
        if inspection is None or inspection.published_at is not None:
            return
        inspection.published_at = published_at
        inspection.save(update_fields=["published_at", "updated_at"])
        audit_record(
            actor=Actor.system(),
            action="inspection.published",
            object_type="inspection",
            object_id=inspection.pk,
            data={
                "publish_by": inspection.publish_by,
                "publish_by_provisional": inspection.publish_by_provisional,
                "on_public_site": True,
            },
        )
        records_commit([inspection_copy(_with_detail(inspection.pk))])
