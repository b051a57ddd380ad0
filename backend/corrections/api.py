"""Community correction for signed-in users: subjects, overdue alerts, figures.

Subjects outside the caller's scope answer 404 (ids cannot be probed across offices).
Check-ins, visits and talks are written by tablets (sync/records); they are read here.
"""

from __future__ import annotations

import re

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status
from ninja.security import django_auth

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.accounts.selectors import user_has_role
from backend.config.errors import InvalidInput, NotFound, PermissionDenied
from backend.corrections.models import Contact, Subject
from backend.corrections.schemas import (
    AlertOut,
    ContactOut,
    FiguresOut,
    PositionBatchIn,
    PositionBatchOut,
    ScheduleOut,
    SubjectChangeIn,
    SubjectIn,
    SubjectOut,
    SubjectSummaryOut,
    SubjectTransferIn,
    SubjectTransferOut,
)
from backend.corrections.selectors import (
    LOCATED_DEFINITION,
    alerts_visible_to,
    contacts_of_subject,
    office_month_figures,
    offices_visible_to,
    subject_get_visible,
    subjects_visible_to,
)
from backend.corrections.services import (
    PositionIn,
    ScheduleInput,
    positions_ingest,
    subject_create,
    subject_transfer,
    subject_update,
)
from sync.auth import DeviceBearer, request_device

router = Router(tags=["community correction"], auth=django_auth)

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _summary(subject: Subject) -> SubjectSummaryOut:
    return SubjectSummaryOut(
        id=subject.pk,
        name=subject.name,
        sentence_kind=subject.sentence_kind,
        term_start=subject.term_start,
        term_end=subject.term_end,
        office_id=subject.office_id,
        office_name=subject.office.name,
        responsible_officer_id=subject.responsible_officer_id,
        responsible_officer_name=subject.responsible_officer.name,
    )


def _contact(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.pk,
        kind=contact.kind,
        officer_id=contact.officer_id,
        started_at=contact.started_at,
        ended_at=contact.ended_at,
        place=contact.place,
        latitude=contact.latitude,
        longitude=contact.longitude,
        notes=contact.notes,
        identity_method=contact.identity_method,
        photo_recording_id=contact.photo_id,
        recording_ids=[r.pk for r in contact.recordings.all()],
        crosscheck_status=contact.crosscheck_status,
        crosscheck_findings=contact.crosscheck_findings,
        activity_id=contact.activity_id,
    )


@router.get("subjects", response=list[SubjectSummaryOut], operation_id="correction_subjects_list")
def list_subjects(request: HttpRequest, office_id: int | None = None) -> list[SubjectSummaryOut]:
    """Subjects of the caller's office (or, for supervisors, the offices below them)."""
    qs = subjects_visible_to(_user(request)).order_by("office_id", "name")
    if office_id is not None:
        qs = qs.filter(office_id=office_id)
    return [_summary(s) for s in qs[:2000]]


@router.post("subjects", response={201: SubjectOut}, operation_id="correction_subjects_create")
def create_subject(request: HttpRequest, payload: SubjectIn) -> Status:
    """Register a subject with their reporting schedule. Correction officers register in
    their own office; supervisors in the offices below them."""
    user = _user(request)
    if not user_has_role(user, Role.CORRECTION_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN):
        raise PermissionDenied("only correction officers and supervisors register subjects")
    office = offices_visible_to(user).filter(pk=payload.office_id).first()
    if office is None:
        raise NotFound("no such office", code="office_not_found")
    officers = {
        o.pk: o
        for o in Officer.objects.filter(
            pk__in=[payload.responsible_officer_id, *payload.team_officer_ids]
        )
    }
    missing = [
        i for i in [payload.responsible_officer_id, *payload.team_officer_ids] if i not in officers
    ]
    if missing:
        raise InvalidInput(
            "unknown officers", code="unknown_officers", details={"officers": missing}
        )
    subject = subject_create(
        actor=user,
        name=payload.name,
        sentence_kind=payload.sentence_kind,
        term_start=payload.term_start,
        term_end=payload.term_end,
        office=office,
        responsible_officer=officers[payload.responsible_officer_id],
        team=[officers[i] for i in payload.team_officer_ids],
        schedules=[ScheduleInput(**s.dict()) for s in payload.schedules],
        id_number=payload.id_number,
        phone=payload.phone,
        address=payload.address,
    )
    return Status(201, _detail(subject_get_visible(user=user, subject_id=str(subject.pk))))


def _detail(subject: Subject | None) -> SubjectOut:
    if subject is None:
        raise NotFound("no such subject", code="subject_not_found")
    return SubjectOut(
        **_summary(subject).dict(),
        id_number=subject.id_number,
        phone=subject.phone,
        address=subject.address,
        team_officer_ids=sorted(o.pk for o in subject.team.all()),
        schedules=[
            ScheduleOut(
                kind=s.kind,
                frequency=s.frequency,
                times=s.times,
                grace_working_days=s.grace_working_days,
            )
            for s in subject.schedules.all()
        ],
        recent_contacts=[_contact(c) for c in contacts_of_subject(subject)],
    )


@router.get("subjects/{subject_id}", response=SubjectOut, operation_id="correction_subjects_get")
def get_subject(request: HttpRequest, subject_id: str) -> SubjectOut:
    """One subject with personal data, schedule and recent contacts (404 outside scope)."""
    return _detail(subject_get_visible(user=_user(request), subject_id=subject_id))


@router.patch(
    "subjects/{subject_id}", response=SubjectOut, operation_id="correction_subjects_update"
)
def update_subject(request: HttpRequest, subject_id: str, payload: SubjectChangeIn) -> SubjectOut:
    """Change a subject's responsible officer, team, reporting schedule, end of term or
    contact data (fields omitted stay). Correction officers of the office and supervisors
    above it; 404 outside scope. The office's tablets get the new copy on their next pull."""
    user = _user(request)
    if not user_has_role(user, Role.CORRECTION_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN):
        raise PermissionDenied("only correction officers and supervisors change subjects")
    subject = subject_get_visible(user=user, subject_id=subject_id)
    if subject is None:
        raise NotFound("no such subject", code="subject_not_found")
    wanted = [
        i
        for i in [payload.responsible_officer_id, *(payload.team_officer_ids or [])]
        if i is not None
    ]
    officers = {o.pk: o for o in Officer.objects.filter(pk__in=wanted)}
    missing = [i for i in wanted if i not in officers]
    if missing:
        raise InvalidInput(
            "unknown officers", code="unknown_officers", details={"officers": missing}
        )
    subject_update(
        actor=user,
        subject=subject,
        responsible_officer=officers[payload.responsible_officer_id]
        if payload.responsible_officer_id is not None
        else None,
        team=[officers[i] for i in payload.team_officer_ids]
        if payload.team_officer_ids is not None
        else None,
        schedules=[ScheduleInput(**s.dict()) for s in payload.schedules]
        if payload.schedules is not None
        else None,
        term_end=payload.term_end,
        phone=payload.phone,
        address=payload.address,
    )
    return _detail(subject_get_visible(user=user, subject_id=subject_id))


@router.post(
    "subjects/{subject_id}/transfer",
    response=SubjectTransferOut,
    operation_id="correction_subjects_transfer",
)
def transfer_subject(
    request: HttpRequest, subject_id: str, payload: SubjectTransferIn
) -> SubjectTransferOut:
    """Transfer a subject to another justice office (变更执行地, the subject moved). Only a
    user supervising both offices (a unit above both; the system administrator): 404 for a
    subject outside the caller's scope, 403 (`transfer_not_allowed`) when the caller sees it
    but does not also supervise the receiving office (an office's own staff never may).
    400: `reason_required`, `office_required`, `same_office`, `officer_not_in_office`,
    `unknown_office`, `unknown_officers`, `effective_in_future`, `effective_too_early`;
    409 `subject_already_moved` (someone transferred it meanwhile).

    The old office's tablets pull a tombstone for the subject and each of its contacts with
    their next pull; the new office's tablets pull the subject and its contact history."""
    user = _user(request)
    if not user_has_role(user, Role.CORRECTION_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN):
        raise PermissionDenied("only supervisors transfer subjects", code="transfer_not_allowed")
    subject = subject_get_visible(user=user, subject_id=subject_id)
    if subject is None:
        raise NotFound("no such subject", code="subject_not_found")
    to_office = Unit.objects.filter(pk=payload.to_office_id).first()
    if to_office is None:
        raise InvalidInput(
            "unknown office", code="unknown_office", details={"office_id": payload.to_office_id}
        )
    officer = Officer.objects.filter(pk=payload.responsible_officer_id).first()
    if officer is None:
        raise InvalidInput(
            "unknown officers",
            code="unknown_officers",
            details={"officers": [payload.responsible_officer_id]},
        )
    transfer = subject_transfer(
        actor=user,
        subject=subject,
        to_office=to_office,
        reason=payload.reason,
        effective_on=payload.effective_on,
        responsible_officer=officer,
    )
    return SubjectTransferOut(
        transfer_id=transfer.pk,
        subject_id=transfer.subject_id,
        from_office_id=transfer.from_office_id,
        to_office_id=transfer.to_office_id,
        responsible_officer_id=transfer.to_officer_id,
        effective_on=transfer.effective_on,
    )


@router.get("alerts", response=list[AlertOut], operation_id="correction_alerts_list")
def list_alerts(request: HttpRequest, open_only: bool = True, mine: bool = False) -> list[AlertOut]:
    """Overdue check-ins, visits, talks and phone reports (逾期提醒) in the caller's scope;
    `mine` keeps those of subjects the caller is responsible for. New alerts are also
    pushed as `correction.overdue` events on the websocket `/ws/corrections/` (correction
    officers of the office and its supervisors; with the subject's name) and on the
    supervisors' `/ws/events/` (without it)."""
    user = _user(request)
    qs = alerts_visible_to(user, open_only=open_only)
    if mine:
        officer = getattr(user, "officer", None)
        qs = qs.filter(officer=officer) if officer is not None else qs.none()
    alerts = list(qs[:2000])
    # An alert stays with the office that held the subject on its due date; after a
    # transfer that office no longer sees the subject's name (personal data).
    named = set(
        subjects_visible_to(user)
        .filter(pk__in={a.subject_id for a in alerts})
        .values_list("pk", flat=True)
    )
    return [
        AlertOut(
            id=a.pk,
            subject_id=a.subject_id,
            subject_name=a.subject.name if a.subject_id in named else "",
            office_id=a.office_id,
            officer_id=a.officer_id,
            kind=a.kind,
            period_start=a.period_start,
            period_end=a.period_end,
            due_date=a.due_date,
            due_date_provisional=a.due_date_provisional,
            required=a.required,
            done=a.done,
            raised_at=a.raised_at,
            resolved_at=a.resolved_at,
        )
        for a in alerts
    ]


def _month(month: str) -> tuple[int, int]:
    match = MONTH.match(month)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput("month must be YYYY-MM", code="invalid_month", details={"month": month})
    return int(match.group(1)), int(match.group(2))


def _figures(office: Unit, year: int, month: int) -> FiguresOut:
    result = office_month_figures(office=office, year=year, month=month)
    return FiguresOut(
        **vars(result), office_name=office.name, located_definition=str(LOCATED_DEFINITION)
    )


@router.get("figures", response=FiguresOut, operation_id="correction_figures")
def figures(request: HttpRequest, office_id: int, month: str) -> FiguresOut:
    """Monthly figures of one office (`month` = YYYY-MM): 定位率 (subjects with a valid
    position that day ÷ subjects under correction that day, per day and for the month in
    subject-days; target ≥ 70 %), missed check-ins, home visits done vs due."""
    year, number = _month(month)
    office: Unit | None = offices_visible_to(_user(request)).filter(pk=office_id).first()
    if office is None:
        raise NotFound("no such office", code="office_not_found")
    return _figures(office, year, number)


@router.get("figures/offices", response=list[FiguresOut], operation_id="correction_figures_offices")
def figures_per_office(request: HttpRequest, month: str) -> list[FiguresOut]:
    """The same monthly figures for every justice office in the caller's scope (a
    supervisor's overview: one row per office)."""
    year, number = _month(month)
    offices = offices_visible_to(_user(request)).filter(kind=UnitKind.OFFICE).order_by("path")[:500]
    return [_figures(office, year, number) for office in offices]


# --- positioning devices: mounted at /api/sync/v1/positions/ (device bearer only) -----------

positions_router = Router(tags=["positioning"], auth=DeviceBearer())


@positions_router.post("batch", response=PositionBatchOut, operation_id="sync_positions_batch")
def batch(request: HttpRequest, payload: PositionBatchIn) -> PositionBatchOut:
    """Send positions recorded on the device (up to 500 a batch, any order), each with its
    own `id`. Each is stored once: a batch sent again, late, or out of order changes
    nothing (`duplicates` counts what the server already had), so after a lost response
    simply resend. Times are in the device clock; the server corrects them with
    `device_time`. A position outside the subject's allowed area with no approved 外出
    covering its time, and a strap-off or tamper event, raise an alert to the office.
    Only devices enrolled as `positioning` may send (`403 not_a_positioning_device`)."""
    device = request_device(request)
    result = positions_ingest(
        device=device,
        device_time=payload.device_time,
        positions=[
            PositionIn(
                client_id=p.id,
                recorded_at=p.recorded_at,
                latitude=p.latitude,
                longitude=p.longitude,
                accuracy_m=p.accuracy_m,
                source=p.source,
                battery=p.battery,
                event=p.event,
            )
            for p in payload.positions
        ],
    )
    return PositionBatchOut(
        server_time=timezone.now(),
        stored=result.stored,
        duplicates=result.duplicates,
        unbound=result.unbound,
        alerts_raised=len(result.alerts),
    )
