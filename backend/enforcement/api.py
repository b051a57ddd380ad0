"""Record list versions and activities. Activities accept signed-in users and devices."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Prefetch
from django.http import HttpRequest
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile
from ninja.security import django_auth

from backend.accounts.models import Officer, Role, User
from backend.accounts.selectors import user_has_role
from backend.audit.services import Actor
from backend.config.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from backend.devices.models import Device
from backend.devices.services import device_officer
from backend.enforcement import services
from backend.enforcement.models import Activity, ActivityOfficer, RecordList
from backend.enforcement.schemas import (
    ActivityCloseIn,
    ActivityIn,
    ActivityOut,
    ImportReportOut,
    MomentIn,
    MomentOut,
    ParticipantOut,
    RecordListOut,
    RecordRuleOut,
)
from backend.enforcement.selectors import (
    RECORD_LIST_MANAGERS,
    UNIT_WIDE_ROLES,
    activities_of_officer,
    activities_visible_to,
    parse_activity_id,
)
from sync.auth import DEVICE_OR_SESSION

router = Router(tags=["enforcement"], auth=django_auth)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _caller(request: HttpRequest) -> tuple[User | None, Device | None, Actor]:
    auth = getattr(request, "auth", None)
    if isinstance(auth, Device):
        return None, auth, Actor.device(auth)
    user = request.user
    if isinstance(user, User) and user.is_authenticated:
        return user, None, Actor.user(user)
    raise NotAuthenticated("missing credentials")


def _moment(schema: MomentIn) -> services.MomentIn:
    return services.MomentIn(
        occurred_at=schema.occurred_at,
        source=schema.source,
        code=schema.code,
        label=schema.label,
        reason=schema.reason,
    )


def _activity_out(activity: Activity) -> ActivityOut:
    participants = [
        ParticipantOut(
            officer_id=p.officer_id,
            name=p.officer.name,
            certificate_valid=p.certificate_valid,
            certificate_problem=p.certificate_problem,
        )
        for p in activity.participants.all()
    ]
    coverage = getattr(activity, "coverage", None)
    return ActivityOut(
        id=str(activity.pk),
        external_ref=activity.external_ref,
        category=activity.category,
        stage=activity.stage,
        item=activity.item,
        unit_id=activity.unit_id,
        place=activity.place,
        latitude=activity.latitude,
        longitude=activity.longitude,
        started_at=activity.started_at,
        stopped_at=activity.stopped_at,
        state=activity.state,
        officers=participants,
        uncertified_officers=[p for p in participants if not p.certificate_valid],
        moments=[
            MomentOut(
                code=m.code,
                label=m.label,
                occurred_at=m.occurred_at,
                source=m.source,
                reason=m.reason,
            )
            for m in activity.moments.all()
        ],
        verdict=coverage.verdict if coverage else None,
        summary_zh=coverage.summary_zh if coverage else None,
    )


def _with_detail(queryset: Any) -> Any:
    return queryset.select_related("coverage").prefetch_related(
        Prefetch("participants", queryset=ActivityOfficer.objects.select_related("officer")),
        "moments",
    )


def _reload(activity_id: Any) -> Activity:
    return _with_detail(Activity.objects.filter(pk=activity_id)).get()


def _read_upload(file: UploadedFile) -> bytes:
    if file.size is not None and file.size > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            "file too large", code="file_too_large", details={"max_bytes": MAX_UPLOAD_BYTES}
        )
    return file.read()


# ------------------------------------------------------------------ record list


@router.post("record-lists", response={201: ImportReportOut}, operation_id="record_lists_import")
def import_record_list(
    request: HttpRequest,
    file: File[UploadedFile],
    effective_from: Form[datetime.date],
    name: Form[str] = "",
) -> Status:
    """Import a record list (音像记录事项清单) version from CSV (UTF-8, UTF-8 BOM, GBK) or
    XLSX in the official columns, in force from `effective_from`. The answer lists per-row
    errors (skipped rows) and warnings (unknown categories, custom moments). A file that
    cannot be used at all answers 400 with the report in `details`; a version with the
    same effective date 409."""
    user = _user(request)
    if not user_has_role(user, *RECORD_LIST_MANAGERS):
        raise PermissionDenied("only legal officers and system administrators manage the list")
    report = services.record_list_import(
        source=_read_upload(file),
        effective_from=effective_from,
        actor=Actor.user(user),
        user=user,
        file_name=file.name,
        name=name,
    )
    return Status(201, ImportReportOut(report=report.as_dict()))


@router.get("record-lists", response=list[RecordListOut], operation_id="record_lists_list")
def list_record_lists(request: HttpRequest) -> list[RecordListOut]:
    """Every version of the record list, newest effective date first."""
    _user(request)
    return [
        RecordListOut(
            id=r.pk,
            name=r.name,
            effective_from=r.effective_from,
            source_file_name=r.source_file_name,
            imported_at=r.imported_at,
            rules=r.rule_count,
        )
        for r in RecordList.objects.annotate(rule_count=Count("rules")).order_by("-effective_from")
    ]


@router.get(
    "record-lists/{list_id}/rules", response=list[RecordRuleOut], operation_id="record_lists_rules"
)
def list_rules(request: HttpRequest, list_id: int) -> list[RecordRuleOut]:
    """The rows of one list version."""
    _user(request)
    record_list = RecordList.objects.filter(pk=list_id).first()
    if record_list is None:
        raise NotFound("no such record list", code="record_list_not_found")
    return [
        RecordRuleOut(
            id=r.pk,
            sequence=r.sequence,
            category=r.category,
            stage=r.stage,
            item=r.item,
            place=r.place,
            department=r.department,
            start_text=r.start_text,
            stop_text=r.stop_text,
            start_moment=r.start_moment,
            stop_moment=r.stop_moment,
            remarks=r.remarks,
            full_process=r.full_process,
            required=r.required,
            min_officers=r.min_officers,
            late_start_grace_seconds=r.late_start_grace.total_seconds(),
            early_stop_grace_seconds=r.early_stop_grace.total_seconds(),
            max_split_gap_seconds=r.max_split_gap.total_seconds(),
        )
        for r in record_list.rules.all()
    ]


# ------------------------------------------------------------------- activities


@router.post(
    "activities",
    response={201: ActivityOut, 200: ActivityOut},
    auth=DEVICE_OR_SESSION,
    operation_id="activities_create",
)
def create_activity(request: HttpRequest, payload: ActivityIn) -> Status:
    """Record an activity (执法活动): category, stage, participating officers, start moment
    and, if already reached, the stop moment. Devices (Bearer token) record it for the
    officer they are assigned to, who is always a participant. Officers without a valid
    certificate are accepted and listed in `uncertified_officers` (持证上岗). A stop
    before the start answers 400 `stop_before_start`; unknown officers 400
    `unknown_officers`. With `external_ref` the call is idempotent (200 on repeat)."""
    user, device, actor = _caller(request)
    first: Officer | None = None  # the device's holder or the signed-in field officer
    if device is not None:
        first = device_officer(device=device, at=payload.start.occurred_at)
        unit = first.unit
    else:
        assert user is not None
        if user.role == Role.FIELD_OFFICER:
            first = getattr(user, "officer", None)
            if first is None:
                raise PermissionDenied(
                    "this account is not linked to an officer", code="no_officer_for_user"
                )
            unit = services.activity_unit_for_user(user=user, unit_id=payload.unit_id)
        elif user.role in UNIT_WIDE_ROLES or user.role == Role.SYSTEM_ADMIN:
            unit = services.activity_unit_for_user(user=user, unit_id=payload.unit_id)
        else:
            raise PermissionDenied("this role does not record activities")
    officers = (
        services.resolve_officers(
            officer_ids=payload.officer_ids,
            certificate_numbers=payload.officer_certificates,
            unit=unit,
        )
        if payload.officer_ids or payload.officer_certificates
        else []
    )
    if first is not None:
        officers = [first, *[o for o in officers if o.pk != first.pk]]
    result = services.activity_create(
        actor=actor,
        user=user,
        device=device,
        category=payload.category,
        stage=payload.stage,
        item=payload.item,
        unit=unit,
        officers=officers,
        place=payload.place,
        latitude=payload.latitude,
        longitude=payload.longitude,
        start=_moment(payload.start),
        stop=_moment(payload.stop) if payload.stop else None,
        moments=[_moment(m) for m in payload.moments],
        external_ref=payload.external_ref,
    )
    return Status(201 if result.created else 200, _activity_out(_reload(result.activity.pk)))


@router.get("activities", response=list[ActivityOut], operation_id="activities_list")
def list_activities(
    request: HttpRequest,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    limit: int = Query(200, ge=1, le=1000),
) -> list[ActivityOut]:
    """Activities the caller may see (supervisors: their unit subtree; field officers:
    their own), newest first; `date_to` is inclusive."""
    queryset = activities_visible_to(_user(request))
    if date_from:
        queryset = queryset.filter(started_at__date__gte=date_from)
    if date_to:
        queryset = queryset.filter(started_at__date__lte=date_to)
    return [
        _activity_out(a) for a in _with_detail(queryset.order_by("-started_at"))[: min(limit, 1000)]
    ]


@router.post("activities/import", response=ImportReportOut, operation_id="activities_import")
def import_activities(request: HttpRequest, file: File[UploadedFile]) -> ImportReportOut:
    """Import activities (CSV/XLSX; columns 编号, 执法类别, 执法环节, 记录事项, 单位, 执法人员,
    地点, 纬度, 经度, 开始时间, 结束时间, 时间来源, 原因) with a per-row report."""
    user = _user(request)
    if not user_has_role(user, *UNIT_WIDE_ROLES, Role.SYSTEM_ADMIN):
        raise PermissionDenied("only supervisors import activities")
    report = services.activities_import(
        source=_read_upload(file), actor=Actor.user(user), user=user, file_name=file.name
    )
    return ImportReportOut(report=report.as_dict())


def _visible_activity(request: HttpRequest, activity_id: str) -> tuple[Activity, Actor]:
    user, device, actor = _caller(request)
    key = parse_activity_id(activity_id)
    if key is None:
        raise NotFound("no such activity", code="activity_not_found")
    if device is not None:
        holder = device_officer(device=device)
        queryset = activities_of_officer(holder)
    else:
        assert user is not None
        queryset = activities_visible_to(user)
    activity = queryset.filter(pk=key).first()
    if activity is None:
        raise NotFound("no such activity", code="activity_not_found")
    return activity, actor


@router.get(
    "activities/{activity_id}",
    response=ActivityOut,
    auth=DEVICE_OR_SESSION,
    operation_id="activities_get",
)
def get_activity(request: HttpRequest, activity_id: str) -> ActivityOut:
    """One activity with officers, moments and its current verdict. 404 outside scope."""
    activity, _actor = _visible_activity(request, activity_id)
    return _activity_out(_reload(activity.pk))


@router.post(
    "activities/{activity_id}/close",
    response=ActivityOut,
    auth=DEVICE_OR_SESSION,
    operation_id="activities_close",
)
def close_activity(request: HttpRequest, activity_id: str, payload: ActivityCloseIn) -> ActivityOut:
    """Record the stop moment; the coverage check runs at once. 400 `stop_before_start`,
    409 `activity_already_closed` (same time again: no-op)."""
    activity, actor = _visible_activity(request, activity_id)
    services.activity_close(actor=actor, activity_id=activity.pk, stop=_moment(payload.stop))
    return _activity_out(_reload(activity.pk))


@router.post(
    "activities/{activity_id}/moments",
    response={201: MomentOut},
    auth=DEVICE_OR_SESSION,
    operation_id="activities_add_moment",
)
def add_moment(request: HttpRequest, activity_id: str, payload: MomentIn) -> Status:
    """Report another named moment (e.g. `hearing_start`), with its source."""
    activity, actor = _visible_activity(request, activity_id)
    row = services.activity_add_moment(
        actor=actor, activity_id=activity.pk, moment=_moment(payload)
    )
    return Status(
        201,
        MomentOut(
            code=row.code,
            label=row.label,
            occurred_at=row.occurred_at,
            source=row.source,
            reason=row.reason,
        ),
    )
