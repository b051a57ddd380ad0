"""Writes for the record list and activities: import, create, close, moments.

Coverage re-checks are not called from here directly: :data:`ACTIVITY_CHANGED_HOOKS` is
fired inside the same transaction (so the stored verdict commits together with the change
that caused it); its receivers are wired in backend/wiring/registry.py.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Role, Unit, User
from backend.accounts.selectors import bureau_path
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, NotFound
from backend.devices.models import Device
from backend.enforcement.models import (
    Activity,
    ActivityMoment,
    ActivityOfficer,
    ActivityState,
    MomentSource,
    RecordList,
    RecordRule,
)
from backend.enforcement.record_list_format import parse_record_list
from backend.hooks import HookPoint
from backend.tabular import (
    TableFormatError,
    invalid_table,
    read_table,
    refuse_import,
    row_error,
    rows_refused_message,
)
from coverage_core.moments import moment_for_phrase

# Fired with the activity id inside the transaction that created/closed/changed it.
ACTIVITY_CHANGED_HOOKS: HookPoint[[uuid.UUID], None] = HookPoint(
    "enforcement.activity_changed",
    "an activity was created, closed or changed (in its transaction)",
)

START_MOMENT_FALLBACK = "activity_start"
STOP_MOMENT_FALLBACK = "activity_stop"


def _run_activity_hooks(activity_id: uuid.UUID) -> None:
    ACTIVITY_CHANGED_HOOKS.fire(activity_id)


# ------------------------------------------------------------------ record list


@dataclass
class RecordListImportReport:
    record_list_id: int | None = None
    effective_from: datetime.date | None = None
    rules_created: int = 0
    file_errors: list[dict[str, Any]] = field(default_factory=list)
    row_errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    skipped_blank_rows: int = 0
    activities_reassigned: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_list_id": self.record_list_id,
            "activities_reassigned": self.activities_reassigned,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "rules_created": self.rules_created,
            "file_errors": self.file_errors,
            "row_errors": self.row_errors,
            "warnings": self.warnings,
            "skipped_blank_rows": self.skipped_blank_rows,
        }


def record_list_import(
    *,
    source: Path | IO[bytes] | bytes,
    effective_from: datetime.date,
    actor: Actor,
    user: User | None = None,
    file_name: str | None = None,
    name: str = "",
) -> RecordListImportReport:
    """Import one version of the record list, in force from ``effective_from``.

    All or nothing: a file-level problem (missing columns, unknown encoding, no rows) or any
    bad row (reported by sheet, row, column, code and Chinese message) imports nothing and
    raises InvalidInput with the report in ``details``. A second
    version with the same effective date is refused (409): versions are history, edit
    single rules in the admin instead.
    """
    data = source.read_bytes() if isinstance(source, Path) else source
    if not isinstance(data, bytes):
        data = data.read()
    file_name = file_name or (source.name if isinstance(source, Path) else None)
    parsed = parse_record_list(data, file_name=file_name)
    report = RecordListImportReport(
        effective_from=effective_from,
        file_errors=[issue.to_dict() for issue in parsed.file_errors],
        row_errors=[issue.to_dict() for issue in parsed.row_errors],
        warnings=[issue.to_dict() for issue in parsed.warnings],
        skipped_blank_rows=parsed.skipped_blank_rows,
    )
    rows = parsed.rows
    if parsed.file_errors or parsed.row_errors or not rows:
        if not report.file_errors and report.row_errors:
            report.file_errors.append(
                {
                    "code": "rows_invalid",
                    "message": rows_refused_message(len(report.row_errors)),
                    "line": None,
                }
            )
        elif not report.file_errors:
            report.file_errors.append(
                {"code": "no_valid_rows", "message": "没有可导入的记录事项", "line": None}
            )
        first = report.file_errors[0]
        raise InvalidInput(
            str(first.get("message") or _("记录事项清单无法导入")),
            code=str(first.get("code") or "record_list_invalid"),
            details=report.as_dict(),
        )
    with transaction.atomic():
        if RecordList.objects.filter(effective_from=effective_from).exists():
            raise Conflict(
                _("该生效日期已有一个清单版本"),
                code="record_list_version_exists",
                details={"effective_from": effective_from.isoformat()},
            )
        record_list = RecordList.objects.create(
            name=name or (file_name or ""),
            effective_from=effective_from,
            source_file_name=(file_name or "")[:255],
            source_sha256=hashlib.sha256(data).hexdigest(),
            imported_by=user,
        )
        RecordRule.objects.bulk_create(
            [
                RecordRule(
                    record_list=record_list,
                    sequence=row.sequence,
                    category=row.category,
                    stage=row.stage,
                    item=row.item,
                    place=row.place,
                    department=row.department,
                    start_text=row.start_text,
                    stop_text=row.stop_text,
                    start_moment=row.interpretation.start.code,
                    stop_moment=row.interpretation.stop.code,
                    remarks=row.remarks,
                    full_process=row.interpretation.full_process,
                    min_officers=row.interpretation.min_officers,
                )
                for row in rows
            ]
        )
        report.record_list_id = record_list.pk
        report.rules_created = len(rows)
        report.activities_reassigned = activities_resolve_rules(record_list=record_list)
        audit_record(
            actor=actor,
            action="record_list.imported",
            object_type="record_list",
            object_id=record_list.pk,
            data={
                "effective_from": effective_from.isoformat(),
                "file_name": file_name,
                "sha256": record_list.source_sha256,
                "rules": len(rows),
                "row_errors": len(report.row_errors),
                "warnings": len(report.warnings),
            },
        )
    return report


def record_rule_for(
    *, category: str, stage: str, item: str = "", at: datetime.datetime
) -> RecordRule | None:
    """The rule of the list version in force on the local day of ``at`` (one query).

    Within that version: the row with the same item, else the first row of the
    category and stage. None when no version is in force or it has no such row.
    """
    day = timezone.localdate(at)
    in_force = (
        RecordList.objects.filter(effective_from__lte=day)
        .order_by("-effective_from")
        .values("id")[:1]
    )
    candidates = list(
        RecordRule.objects.select_related("record_list")
        .filter(record_list_id__in=in_force, category=category, stage=stage)
        .order_by("sequence", "id")
    )
    for rule in candidates:
        if item and rule.item == item:
            return rule
    return candidates[0] if candidates else None


def activities_resolve_rules(*, record_list: RecordList) -> int:
    """Point every activity on the days this version governs (from its effective date to
    the next version's) at the version's matching rule, and re-check the ones that moved.

    Runs when a version is imported (a back-dated version takes over past activities) or
    a rule's category/stage/item is edited in the admin. Returns how many activities
    changed rule.
    """
    zone = timezone.get_default_timezone()
    start = datetime.datetime.combine(record_list.effective_from, datetime.time.min, tzinfo=zone)
    following = (
        RecordList.objects.filter(effective_from__gt=record_list.effective_from)
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    governed = Activity.objects.filter(started_at__gte=start)
    if following is not None:
        governed = governed.filter(
            started_at__lt=datetime.datetime.combine(following, datetime.time.min, tzinfo=zone)
        )
    rules = list(record_list.rules.order_by("sequence", "id"))
    changed: list[uuid.UUID] = []
    for category, stage, item in governed.values_list("category", "stage", "item").distinct():
        same_stage = [r for r in rules if r.category == category and r.stage == stage]
        exact = [r for r in same_stage if item and r.item == item]
        rule = (exact or same_stage)[0] if same_stage else None
        group = governed.filter(category=category, stage=stage, item=item)
        moved = list(
            group.exclude(rule=rule).values_list("pk", flat=True)
            if rule is not None
            else group.filter(rule__isnull=False).values_list("pk", flat=True)
        )
        if moved:
            Activity.objects.filter(pk__in=moved).update(rule=rule)
            changed.extend(moved)
    for activity_id in changed:
        _run_activity_hooks(activity_id)
    return len(changed)


# Fields of a rule that change a verdict: editing one in the admin re-checks the
# activities judged by that rule.
RULE_JUDGING_FIELDS = frozenset(
    {
        "start_text",
        "stop_text",
        "full_process",
        "required",
        "min_officers",
        "late_start_grace",
        "early_stop_grace",
        "max_split_gap",
    }
)


def record_rule_edited(
    *, rule: RecordRule, changed: Sequence[str], actor: Actor, recheck_limit: int
) -> tuple[int, int | None]:
    """After a rule was edited (admin): re-derive its moments from edited texts, move
    activities whose rule changed (category/stage/item), audit the edit, and re-check
    the activities judged by the rule when a judging field changed — at most
    ``recheck_limit`` of them inline; above that the caller points to
    ``coverage_recheck --rule``. Returns (activities that changed rule, activities
    re-checked or None when left to the command)."""
    changed_set = set(changed)
    updates: dict[str, str] = {}
    if "start_text" in changed_set and "start_moment" not in changed_set:
        updates["start_moment"] = moment_for_phrase(rule.start_text).code
    if "stop_text" in changed_set and "stop_moment" not in changed_set:
        updates["stop_moment"] = moment_for_phrase(rule.stop_text).code
    with transaction.atomic():
        if updates:
            RecordRule.objects.filter(pk=rule.pk).update(**updates)
            for name, value in updates.items():
                setattr(rule, name, value)
        moved = activities_resolve_rules(record_list=rule.record_list)
        audit_record(
            actor=actor,
            action="record_rule.edited",
            object_type="record_rule",
            object_id=rule.pk,
            data={"changed": sorted(changed_set), **updates, "activities_moved": moved},
        )
    if not changed_set & RULE_JUDGING_FIELDS:
        return moved, 0
    judged = Activity.objects.filter(rule=rule)
    if judged.count() > recheck_limit:
        return moved, None
    rechecked = 0
    for activity_id in judged.values_list("pk", flat=True):
        with transaction.atomic():
            _run_activity_hooks(activity_id)
        rechecked += 1
    return moved, rechecked


# ------------------------------------------------------------------- activities


@dataclass(frozen=True)
class MomentIn:
    occurred_at: datetime.datetime
    source: str
    code: str = ""
    label: str = ""
    reason: str = ""


@dataclass(frozen=True)
class OfficerFlag:
    officer_id: int
    name: str
    problem: str


def _certificate_problem(officer: Officer, day: datetime.date) -> str:
    if officer.certificate_valid_on(day):
        return ""
    if not officer.certificate_number:
        return _("无执法证件编号")
    if officer.certificate_valid_until is None:
        return _("执法证无有效期")
    return _("执法证已过期（有效期至 %(day)s）") % {"day": officer.certificate_valid_until}


def _check_moment(moment: MomentIn, *, what: str) -> None:
    if timezone.is_naive(moment.occurred_at):
        raise InvalidInput(_("时间必须带时区"), code="naive_datetime", details={"moment": what})
    if moment.source not in MomentSource.values:
        raise InvalidInput(
            _("未知的时刻来源"),
            code="unknown_moment_source",
            details={"moment": what, "source": moment.source, "allowed": MomentSource.values},
        )
    if moment.source == MomentSource.MANUAL and not moment.reason.strip():
        raise InvalidInput(
            _("手工录入的时刻必须说明原因"),
            code="manual_moment_needs_reason",
            details={"moment": what},
        )


def _resolve_officers(
    *, officer_ids: Sequence[int], certificate_numbers: Sequence[str], unit: Unit
) -> list[Officer]:
    """Officers of `unit`'s bureau (joint activities across its offices are normal); an
    officer of another bureau is answered exactly like one that does not exist, so ids
    cannot be probed across bureaus."""
    wanted_ids = list(dict.fromkeys(int(pk) for pk in officer_ids))
    wanted_certs = list(dict.fromkeys(c.strip() for c in certificate_numbers if c.strip()))
    found = list(
        Officer.objects.filter(
            Q(pk__in=wanted_ids) | Q(certificate_number__in=wanted_certs),
            unit__path__startswith=bureau_path(unit),
        )
    )
    known_ids = {o.pk for o in found}
    known_certs = {o.certificate_number for o in found}
    unknown = [str(pk) for pk in wanted_ids if pk not in known_ids] + [
        c for c in wanted_certs if c not in known_certs
    ]
    if unknown:
        raise InvalidInput(
            _("未知的执法人员"), code="unknown_officers", details={"officers": unknown}
        )
    if not found:
        raise InvalidInput(_("执法活动至少需要一名执法人员"), code="no_officers")
    return found


@dataclass
class ActivityCreated:
    activity: Activity
    created: bool
    flagged: list[OfficerFlag]


def activity_create(
    *,
    actor: Actor,
    category: str,
    stage: str,
    unit: Unit,
    officers: Sequence[Officer],
    start: MomentIn,
    stop: MomentIn | None = None,
    item: str = "",
    place: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    moments: Sequence[MomentIn] = (),
    external_ref: str | None = None,
    user: User | None = None,
    device: Device | None = None,
) -> ActivityCreated:
    """Record one activity with its officers and moments; closed at once when ``stop`` is given.

    Officers without a valid certificate on the activity's day are accepted and flagged
    (持证上岗). ``external_ref`` makes the call idempotent: the same reference again
    returns the activity already recorded.
    """
    category, stage, item = category.strip(), stage.strip(), item.strip()
    if not category or not stage:
        raise InvalidInput(_("执法类别和执法环节不能为空"), code="category_stage_required")
    if not officers:
        raise InvalidInput(_("执法活动至少需要一名执法人员"), code="no_officers")
    _check_moment(start, what="start")
    if stop is not None:
        _check_moment(stop, what="stop")
        if stop.occurred_at < start.occurred_at:
            raise InvalidInput(
                _("结束时刻早于开始时刻"),
                code="stop_before_start",
                details={
                    "started_at": start.occurred_at.isoformat(),
                    "stopped_at": stop.occurred_at.isoformat(),
                },
            )
    for index, moment in enumerate(moments):
        _check_moment(moment, what=f"moments[{index}]")
    if (latitude is None) != (longitude is None) or (
        latitude is not None
        and longitude is not None
        and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
    ):
        raise InvalidInput(_("经纬度不正确"), code="invalid_coordinates")
    external_ref = (external_ref or "").strip() or None
    if external_ref is not None:
        existing = Activity.objects.filter(external_ref=external_ref).first()
        if existing is not None:
            return ActivityCreated(activity=existing, created=False, flagged=_flags(existing))

    rule = record_rule_for(category=category, stage=stage, item=item, at=start.occurred_at)
    start_code = rule.start_moment if rule else START_MOMENT_FALLBACK
    stop_code = rule.stop_moment if rule else STOP_MOMENT_FALLBACK
    day = timezone.localdate(start.occurred_at)
    flagged: list[OfficerFlag] = []
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                external_ref=external_ref,
                category=category,
                stage=stage,
                item=item,
                rule=rule,
                unit=unit,
                place=place.strip(),
                latitude=latitude,
                longitude=longitude,
                started_at=start.occurred_at,
                stopped_at=stop.occurred_at if stop else None,
                state=ActivityState.CLOSED if stop else ActivityState.OPEN,
                closed_at=timezone.now() if stop else None,
                created_by=user,
                created_by_device=device,
            )
            participants = []
            for officer in dict.fromkeys(officers):
                problem = _certificate_problem(officer, day)
                participants.append(
                    ActivityOfficer(
                        activity=activity,
                        officer=officer,
                        certificate_valid=not problem,
                        certificate_problem=problem,
                    )
                )
                if problem:
                    flagged.append(
                        OfficerFlag(officer_id=officer.pk, name=officer.name, problem=problem)
                    )
            ActivityOfficer.objects.bulk_create(participants)
            rows = [_moment_row(activity, start, default_code=start_code, rule=rule, stop=False)]
            if stop is not None:
                rows.append(
                    _moment_row(activity, stop, default_code=stop_code, rule=rule, stop=True)
                )
            rows.extend(_moment_row(activity, m, default_code="", rule=None) for m in moments)
            ActivityMoment.objects.bulk_create(rows)
            audit_record(
                actor=actor,
                action="activity.created",
                object_type="activity",
                object_id=activity.pk,
                data={
                    "category": category,
                    "stage": stage,
                    "unit_id": unit.pk,
                    "officers": [o.pk for o in officers],
                    "started_at": start.occurred_at.isoformat(),
                    "start_source": start.source,
                    "stopped_at": stop.occurred_at.isoformat() if stop else None,
                    "uncertified_officers": [f.officer_id for f in flagged],
                    "external_ref": external_ref,
                },
            )
            _run_activity_hooks(activity.pk)
    except IntegrityError as exc:
        if external_ref is not None:
            existing = Activity.objects.filter(external_ref=external_ref).first()
            if existing is not None:
                return ActivityCreated(activity=existing, created=False, flagged=_flags(existing))
        raise Conflict(_("执法活动无法保存"), code="activity_conflict") from exc
    return ActivityCreated(activity=activity, created=True, flagged=flagged)


def _flags(activity: Activity) -> list[OfficerFlag]:
    return [
        OfficerFlag(officer_id=p.officer_id, name=p.officer.name, problem=p.certificate_problem)
        for p in activity.participants.select_related("officer").filter(certificate_valid=False)
    ]


def _moment_row(
    activity: Activity,
    moment: MomentIn,
    *,
    default_code: str,
    rule: RecordRule | None,
    stop: bool = False,
) -> ActivityMoment:
    code = moment.code.strip()
    label = moment.label.strip()
    if not code and label:
        code = moment_for_phrase(label).code
    if not code:
        code = default_code or "moment"
    if not label and rule is not None:
        label = rule.stop_text if stop else rule.start_text
    return ActivityMoment(
        activity=activity,
        code=code[:60],
        label=label[:200],
        occurred_at=moment.occurred_at,
        source=moment.source,
        reason=moment.reason.strip()[:500],
    )


def activity_close(*, actor: Actor, activity_id: uuid.UUID, stop: MomentIn) -> Activity:
    """Record the stop moment; the coverage check runs in the same transaction.

    Closing twice with the same time is a no-op; with another time it is refused (409).
    """
    _check_moment(stop, what="stop")
    with transaction.atomic():
        activity = Activity.objects.select_for_update().filter(pk=activity_id).first()
        if activity is None:
            raise NotFound(_("没有该执法活动"), code="activity_not_found")
        if activity.state == ActivityState.CLOSED:
            if activity.stopped_at == stop.occurred_at:
                return activity
            raise Conflict(
                _("执法活动已结束"),
                code="activity_already_closed",
                details={
                    "stopped_at": activity.stopped_at.isoformat() if activity.stopped_at else None
                },
            )
        if stop.occurred_at < activity.started_at:
            raise InvalidInput(
                _("结束时刻早于开始时刻"),
                code="stop_before_start",
                details={
                    "started_at": activity.started_at.isoformat(),
                    "stopped_at": stop.occurred_at.isoformat(),
                },
            )
        rule = activity.rule
        activity.stopped_at = stop.occurred_at
        activity.state = ActivityState.CLOSED
        activity.closed_at = timezone.now()
        activity.save(update_fields=["stopped_at", "state", "closed_at"])
        _moment_row(
            activity,
            stop,
            default_code=rule.stop_moment if rule else STOP_MOMENT_FALLBACK,
            rule=rule,
            stop=True,
        ).save()
        audit_record(
            actor=actor,
            action="activity.closed",
            object_type="activity",
            object_id=activity.pk,
            data={
                "stopped_at": stop.occurred_at.isoformat(),
                "source": stop.source,
                "reason": stop.reason,
            },
        )
        _run_activity_hooks(activity.pk)
    return activity


def activity_add_moment(
    *, actor: Actor, activity_id: uuid.UUID, moment: MomentIn
) -> ActivityMoment:
    """Record another named moment reached during the activity (does not move the window)."""
    _check_moment(moment, what="moment")
    with transaction.atomic():
        activity = Activity.objects.select_for_update().filter(pk=activity_id).first()
        if activity is None:
            raise NotFound(_("没有该执法活动"), code="activity_not_found")
        row = _moment_row(activity, moment, default_code="", rule=None)
        row.save()
        audit_record(
            actor=actor,
            action="activity.moment_added",
            object_type="activity",
            object_id=activity.pk,
            data={
                "code": row.code,
                "occurred_at": moment.occurred_at.isoformat(),
                "source": moment.source,
                "reason": moment.reason,
            },
        )
    return row


# ---------------------------------------------------------------- who may write


def activity_unit_for_user(*, user: User, unit_id: int | None) -> Unit:
    """The unit a signed-in user records an activity for; must be in the user's scope."""
    if unit_id is None:
        officer = getattr(user, "officer", None)
        unit = officer.unit if officer is not None else user.unit
        if unit is None:
            raise InvalidInput(_("请指定单位"), code="unit_required")
        return unit
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound(_("没有该单位"), code="unit_not_found")
    if user.role != Role.SYSTEM_ADMIN:
        home = user.unit
        officer = getattr(user, "officer", None)
        allowed_paths = [u.path for u in (home, officer.unit if officer else None) if u is not None]
        if not any(unit.path.startswith(path) for path in allowed_paths):
            raise NotFound(_("没有该单位"), code="unit_not_found")
    return unit


# ------------------------------------------------------------------- import


ACTIVITY_COLUMNS_REQUIRED = ("执法类别", "执法环节", "单位", "执法人员", "开始时间")
ACTIVITY_COLUMNS_OPTIONAL = (
    "编号",
    "记录事项",
    "地点",
    "纬度",
    "经度",
    "结束时间",
    "时间来源",
    "原因",
)
_OFFICER_SPLIT = re.compile(r"[、,，;；\s]+")


ACTIVITY_SYNONYMS = {
    "编号": ("活动编号", "案件编号", "序号"),
    "执法类别": ("行政执法类别", "执法行为类别"),
    "执法环节": ("环节",),
    "单位": ("执法单位", "所在单位", "单位名称"),
    "执法人员": ("执法人员证件编号", "执法证号", "执法人员证号"),
    "地点": ("执法地点", "地址"),
    "开始时间": ("开始记录时间", "执法开始时间"),
    "结束时间": ("结束记录时间", "执法结束时间"),
}
_TIME_SOURCES = {"平板": "tablet", "执法终端": "terminal", "定位": "gps", "手工录入": "manual"}


@dataclass
class ActivityImportReport:
    created: int = 0
    existing: int = 0
    flagged: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "existing": self.existing,
            "flagged": self.flagged,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def parse_local_datetime(text: str) -> datetime.datetime:
    """``2026-03-02 09:00[:00]`` (Asia/Shanghai unless an offset is given) or ISO 8601."""
    text = text.strip().replace("/", "-").replace("T", " ")
    if not text:
        raise ValueError("empty")
    parsed = datetime.datetime.fromisoformat(text)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
    return parsed


def activities_import(
    *,
    source: Path | IO[bytes] | bytes,
    actor: Actor,
    user: User | None = None,
    file_name: str | None = None,
) -> ActivityImportReport:
    """Import activities from CSV/XLSX/XLS (columns 编号, 执法类别, 执法环节, 记录事项, 单位,
    执法人员 = certificate numbers separated by 、, 地点, 纬度, 经度, 开始时间, 结束时间,
    时间来源, 原因). Times without a source count as entered by hand (原因 defaults to the
    file name). All or nothing: any bad row (reported by sheet, row and column) imports no
    row (400 ``rows_invalid``); rows with a 编号 already imported count as existing."""
    try:
        table = read_table(
            source,
            required=ACTIVITY_COLUMNS_REQUIRED,
            optional=ACTIVITY_COLUMNS_OPTIONAL,
            synonyms=ACTIVITY_SYNONYMS,
            file_name=file_name,
        )
    except TableFormatError as exc:
        raise invalid_table(exc) from exc
    report = ActivityImportReport(warnings=list(table.warnings))
    units = {u.name: u for u in Unit.objects.all()}
    with transaction.atomic():
        for row in table.rows:
            _activity_import_row(table, row, report, units, actor, user, file_name)
        if report.errors:
            refuse_import(report)  # rolls back the rows already written
    return report


def _activity_import_row(
    table: Any,
    row: Any,
    report: ActivityImportReport,
    units: dict[str, Unit],
    actor: Actor,
    user: User | None,
    file_name: str | None,
) -> None:
    values = row.values

    def fail(code: str, column: str, message: str, **details: Any) -> None:
        report.errors.append(row_error(table, row, column, message, code=code, **details))

    unit = units.get(values.get("单位", "").strip())
    if unit is None:
        fail("unknown_unit", "单位", f"未知的单位：{values.get('单位', '')}")
        return
    if user is not None and user.role != Role.SYSTEM_ADMIN:
        home = user.unit
        if home is None or not unit.path.startswith(home.path):
            fail("unit_out_of_scope", "单位", f"无权为单位「{unit.name}」导入")
            return
    column = "开始时间"
    try:
        started = parse_local_datetime(values.get("开始时间", ""))
        column = "结束时间"
        stopped_text = values.get("结束时间", "").strip()
        stopped = parse_local_datetime(stopped_text) if stopped_text else None
    except ValueError:
        fail("invalid_time", column, "时间无法识别（格式：2026-03-02 09:00:00）")
        return
    latitude = longitude = None
    try:
        if values.get("纬度", "").strip() or values.get("经度", "").strip():
            latitude = float(values.get("纬度", ""))
            longitude = float(values.get("经度", ""))
    except ValueError:
        fail("invalid_coordinates", "纬度", "经纬度无法识别")
        return
    source_kind = values.get("时间来源", "").strip() or MomentSource.MANUAL
    source_kind = _TIME_SOURCES.get(source_kind, source_kind)
    reason = values.get("原因", "").strip() or f"导入：{file_name or '文件'}"
    try:
        officers = _resolve_officers(
            officer_ids=[],
            certificate_numbers=_OFFICER_SPLIT.split(values.get("执法人员", "")),
            unit=unit,
        )
    except (InvalidInput, Conflict) as exc:
        fail(exc.code, "执法人员", exc.message, **exc.details)
        return
    try:
        result = activity_create(
            actor=actor,
            user=user,
            category=values.get("执法类别", ""),
            stage=values.get("执法环节", ""),
            item=values.get("记录事项", ""),
            unit=unit,
            officers=officers,
            place=values.get("地点", ""),
            latitude=latitude,
            longitude=longitude,
            start=MomentIn(occurred_at=started, source=source_kind, reason=reason),
            stop=MomentIn(occurred_at=stopped, source=source_kind, reason=reason)
            if stopped
            else None,
            external_ref=values.get("编号", "").strip() or None,
        )
    except (InvalidInput, Conflict) as exc:
        fail(exc.code, _ACTIVITY_ERROR_COLUMN.get(exc.code, ""), exc.message, **exc.details)
        return
    if result.created:
        report.created += 1
    else:
        report.existing += 1
    for flag in result.flagged:
        report.flagged.append(
            {
                "line": row.line,
                "officer_id": flag.officer_id,
                "name": flag.name,
                "problem": flag.problem,
            }
        )


_ACTIVITY_ERROR_COLUMN = {
    "category_stage_required": "执法类别",
    "stop_before_start": "结束时间",
    "invalid_coordinates": "纬度",
    "unknown_moment_source": "时间来源",
    "manual_moment_needs_reason": "原因",
}


def resolve_officers(
    *, officer_ids: Sequence[int], certificate_numbers: Sequence[str], unit: Unit
) -> list[Officer]:
    """Officers of `unit`'s bureau by id or certificate number; unknown ones and those of
    another bureau -> 400 ``unknown_officers``."""
    return _resolve_officers(
        officer_ids=officer_ids, certificate_numbers=certificate_numbers, unit=unit
    )
