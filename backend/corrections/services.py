"""Writes of the corrections app: subjects, contacts from devices, overdue alerts.

Contacts normally arrive from tablets through sync/records (see device_records.py), which
calls :func:`contact_write` inside the push transaction. Server-side writes publish their
new server copy to tablets with `sync.records.services.records_commit`, always *after*
their audit event (lock order: audit chain head → sync version counter).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.accounts.selectors import units_in_subtree, user_has_role
from backend.after_commit import AfterCommitCollector
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, PermissionDenied
from backend.corrections.crosscheck import FootageFix, crosscheck_checkin
from backend.corrections.events import publish_overdue
from backend.corrections.models import (
    Contact,
    ContactKind,
    CrossCheckStatus,
    Frequency,
    OverdueAlert,
    ReportingSchedule,
    SentenceKind,
    Subject,
    SubjectTransfer,
)
from backend.corrections.schedules import PeriodDue, ScheduleSpec, periods_due
from backend.devices.models import Device
from backend.footage.models import Recording
from backend.workcalendar.selectors import working_calendar
from sync.records.kinds import RecordCopy, StoredTime
from sync.records.services import records_commit, records_lock, records_rescope

SUBJECT_KIND = "subject"


@dataclass(frozen=True)
class ScheduleInput:
    kind: str
    frequency: str
    times: int = 1
    grace_working_days: int = 0


def subject_copy(subject: Subject) -> RecordCopy:
    """The server copy of a subject that its office's tablets pull (personal data: the
    office's devices only)."""
    return RecordCopy(
        kind=SUBJECT_KIND,
        record_id=subject.pk,
        unit_id=subject.office_id,
        data={
            "name": subject.name,
            "id_number": subject.id_number,
            "phone": subject.phone,
            "address": subject.address,
            "sentence_kind": subject.sentence_kind,
            "term_start": subject.term_start.isoformat(),
            "term_end": subject.term_end.isoformat(),
            "responsible_officer_id": subject.responsible_officer_id,
            "team_officer_ids": sorted(o.pk for o in subject.team.all()),
            "schedules": [
                {
                    "kind": s.kind,
                    "frequency": s.frequency,
                    "times": s.times,
                    "grace_working_days": s.grace_working_days,
                }
                for s in sorted(subject.schedules.all(), key=lambda s: s.kind)
            ],
        },
    )


def _check_schedules(schedules: list[ScheduleInput]) -> None:
    kinds = [s.kind for s in schedules]
    if len(set(kinds)) != len(kinds):
        raise InvalidInput(_("同一类工作只能有一个报告计划"), code="duplicate_schedule")
    for s in schedules:
        if s.kind not in ContactKind.values or s.frequency not in Frequency.values:
            raise InvalidInput(_("报告计划无效"), code="invalid_schedule", details={"kind": s.kind})
        if not 1 <= s.times <= 31 or not 0 <= s.grace_working_days <= 30:
            raise InvalidInput(
                _("报告计划次数或宽限期无效"), code="invalid_schedule", details={"kind": s.kind}
            )


def subject_create(
    *,
    actor: User,
    name: str,
    sentence_kind: str,
    term_start: datetime.date,
    term_end: datetime.date,
    office: Unit,
    responsible_officer: Officer,
    team: list[Officer] | None = None,
    schedules: list[ScheduleInput] | None = None,
    id_number: str = "",
    phone: str = "",
    address: str = "",
) -> Subject:
    if sentence_kind not in SentenceKind.values:
        raise InvalidInput(
            _("矫正类别无效"),
            code="invalid_sentence_kind",
            details={"allowed": list(SentenceKind.values)},
        )
    if term_end < term_start:
        raise InvalidInput(_("矫正期止早于矫正期起"), code="invalid_term")
    if office.kind != UnitKind.OFFICE:
        raise InvalidInput(_("矫正对象须归属司法所"), code="office_required")
    members = [responsible_officer, *(team or [])]
    if any(member.unit_id != office.pk for member in members):
        raise InvalidInput(_("责任人和矫正小组成员须属于该司法所"), code="officer_not_in_office")
    schedules = schedules or []
    _check_schedules(schedules)
    with transaction.atomic():
        subject = Subject.objects.create(
            name=name,
            sentence_kind=sentence_kind,
            term_start=term_start,
            term_end=term_end,
            office=office,
            responsible_officer=responsible_officer,
            id_number=id_number,
            phone=phone,
            address=address,
        )
        if team:
            subject.team.set(team)
        ReportingSchedule.objects.bulk_create(
            [
                ReportingSchedule(
                    subject=subject,
                    kind=s.kind,
                    frequency=s.frequency,
                    times=s.times,
                    grace_working_days=s.grace_working_days,
                )
                for s in schedules
            ]
        )
        audit_record(
            actor=Actor.user(actor),
            action="correction_subject.created",
            object_type="correction_subject",
            object_id=subject.pk,
            data={
                "office_id": office.pk,
                "sentence_kind": sentence_kind,
                "schedules": [vars(s) for s in schedules],
            },
        )
        records_commit([subject_copy(subject)])
    return subject


def subject_update(
    *,
    actor: User,
    subject: Subject,
    responsible_officer: Officer | None = None,
    team: list[Officer] | None = None,
    schedules: list[ScheduleInput] | None = None,
    term_end: datetime.date | None = None,
    phone: str | None = None,
    address: str | None = None,
) -> Subject:
    """Change a subject within their office: responsible officer, team, reporting schedule,
    end of term, contact data (None: unchanged). The office cannot change here — see
    :func:`subject_transfer`, which also takes the subject off the old office's tablets. The new
    server copy reaches the office's tablets with the next pull (subjects are read-only on
    tablets, so this never races a tablet's edit)."""
    members = [m for m in [responsible_officer, *(team or [])] if m is not None]
    if any(member.unit_id != subject.office_id for member in members):
        raise InvalidInput(_("责任人和矫正小组成员须属于该司法所"), code="officer_not_in_office")
    if schedules is not None:
        _check_schedules(schedules)
    if term_end is not None and term_end < subject.term_start:
        raise InvalidInput(_("矫正期止早于矫正期起"), code="invalid_term")
    with transaction.atomic():
        records_lock([subject.pk])
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        changed: dict[str, Any] = {}
        for name, value in (
            ("responsible_officer_id", responsible_officer.pk if responsible_officer else None),
            ("term_end", term_end),
            ("phone", phone),
            ("address", address),
        ):
            if value is not None and getattr(subject, name) != value:
                changed[name] = str(value) if name == "term_end" else value
                setattr(subject, name, value)
        subject.save()
        if team is not None:
            subject.team.set(team)
            changed["team_officer_ids"] = sorted(o.pk for o in team)
        if schedules is not None:
            ReportingSchedule.objects.filter(subject=subject).delete()
            ReportingSchedule.objects.bulk_create(
                [
                    ReportingSchedule(
                        subject=subject,
                        kind=s.kind,
                        frequency=s.frequency,
                        times=s.times,
                        grace_working_days=s.grace_working_days,
                    )
                    for s in schedules
                ]
            )
            changed["schedules"] = [vars(s) for s in schedules]
        # Personal data is not copied into the audit log: which fields changed is enough.
        audit_record(
            actor=Actor.user(actor),
            action="correction_subject.updated",
            object_type="correction_subject",
            object_id=subject.pk,
            data={
                "fields": sorted(changed),
                **{k: v for k, v in changed.items() if k not in {"phone", "address"}},
            },
        )
        records_commit([subject_copy(subject)])
    return subject


# --- transfer to another justice office (变更执行地) ---------------------------------------

# The roles that register and change subjects (corrections/api.py), within their unit's
# subtree: a transfer needs both offices in it, i.e. a supervising unit above both.
SUBJECT_WRITE_ROLES = (Role.CORRECTION_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN)


def user_supervises_offices(user: User, offices: list[Unit]) -> bool:
    """Whether the user may change subjects of every one of these offices: a correction
    role whose unit's subtree holds them all (the system administrator: every unit) — the
    scope the subject APIs use (`unit_scope_q`, `offices_visible_to`)."""
    if not user_has_role(user, *SUBJECT_WRITE_ROLES):
        return False
    if user.role == Role.SYSTEM_ADMIN:
        return True
    if user.unit is None:
        return False
    wanted = {office.pk for office in offices}
    return units_in_subtree(user.unit).filter(pk__in=wanted).count() == len(wanted)


def subject_transfer(
    *,
    actor: User,
    subject: Subject,
    to_office: Unit,
    reason: str,
    effective_on: datetime.date,
    responsible_officer: Officer,
) -> SubjectTransfer:
    """Move a subject to another justice office (the subject moved residence). Allowed to
    a user who may change subjects of both offices (a supervising unit above both; an office
    officer never). The new office's officer becomes responsible; the correction team keeps
    only members of the new office (none of the old one's).

    The contact history moves with the subject: the new office supervises them and needs
    it (who logged each contact is kept). Tablets: the new office's get the subject and its
    contacts as fresh server copies; the old office's get a tombstone for each (a removal,
    sync.records `records_rescope`), and their later edits of them are refused
    (`record_out_of_scope` / `subject_out_of_scope`). Open overdue alerts due on or after
    `effective_on` move to the new office; figures count the subject under the new office
    from `effective_on` (not in the future: the transfer is recorded once it took effect)."""
    from_office = subject.office
    if not user_supervises_offices(actor, [from_office, to_office]):
        raise PermissionDenied(
            _("只有同时管辖原司法所和接收司法所的人员可以变更执行地"),
            code="transfer_not_allowed",
        )
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("须填写变更原因"), code="reason_required")
    if to_office.kind != UnitKind.OFFICE:
        raise InvalidInput(_("矫正对象须归属司法所"), code="office_required")
    if to_office.pk == from_office.pk:
        raise InvalidInput(_("接收司法所与原司法所相同"), code="same_office")
    if responsible_officer.unit_id != to_office.pk:
        raise InvalidInput(_("责任人须属于接收司法所"), code="officer_not_in_office")
    if effective_on > timezone.localdate():
        raise InvalidInput(_("生效日期不能晚于今天"), code="effective_in_future")
    latest = subject.transfers.order_by("-effective_on").values_list("effective_on", flat=True)
    earliest = max([subject.term_start, *latest[:1]])
    if effective_on < earliest:
        raise InvalidInput(
            _("生效日期早于矫正期起或上次变更"),
            code="effective_too_early",
            details={"earliest": earliest.isoformat()},
        )
    with transaction.atomic():
        # Sync rows first, then the subject (the order of a push). The subject is locked FOR
        # UPDATE: a push logging a contact for it holds it FOR KEY SHARE (subjects_by_id) —
        # either that push commits first and its contact is moved below, or it waits and
        # then sees the new office (subject_out_of_scope).
        known = list(Contact.objects.filter(subject=subject).values_list("pk", flat=True))
        records_lock([subject.pk, *known])
        subject = Subject.objects.select_for_update().get(pk=subject.pk)
        if subject.office_id != from_office.pk:
            raise Conflict(_("矫正对象已变更执行地"), code="subject_already_moved")
        late = list(
            Contact.objects.filter(subject=subject)
            .exclude(pk__in=known)
            .values_list("pk", flat=True)
        )
        if late:
            records_lock(late)
        from_officer_id = subject.responsible_officer_id
        subject.office = to_office
        subject.responsible_officer = responsible_officer
        subject.save(update_fields=["office", "responsible_officer", "updated_at"])
        subject.team.set([m for m in subject.team.all() if m.unit_id == to_office.pk])
        moved = Contact.objects.filter(subject=subject).update(
            office=to_office, updated_at=timezone.now()
        )
        alerts = OverdueAlert.objects.filter(
            subject=subject, resolved_at__isnull=True, due_date__gte=effective_on
        ).update(office=to_office, officer=responsible_officer)
        transfer = SubjectTransfer.objects.create(
            subject=subject,
            from_office=from_office,
            to_office=to_office,
            from_officer_id=from_officer_id,
            to_officer=responsible_officer,
            effective_on=effective_on,
            reason=reason,
            transferred_by=actor,
        )
        audit_record(
            actor=Actor.user(actor),
            action="corrections.subject_transferred",
            object_type="correction_subject",
            object_id=subject.pk,
            data={
                "transfer_id": transfer.pk,
                "from_office_id": from_office.pk,
                "to_office_id": to_office.pk,
                "responsible_officer_id": responsible_officer.pk,
                "effective_on": effective_on.isoformat(),
                "reason": reason,
                "contacts_moved": moved,
                "alerts_moved": alerts,
            },
        )
        subject = Subject.objects.prefetch_related("team", "schedules").get(pk=subject.pk)
        contacts = list(
            Contact.objects.filter(subject=subject).prefetch_related("recordings").order_by("pk")
        )
        records_rescope(
            [subject_copy(subject), *(contact_copy(c) for c in contacts)],
            removal_data={c.pk: {"subject_id": str(subject.pk)} for c in contacts},
        )
    return transfer


def subject_holders(
    subjects: list[Subject],
) -> dict[uuid.UUID, list[tuple[datetime.date | None, int, int]]]:
    """Per transferred subject, who held them from when: [(from day or None, office id,
    responsible officer id)], oldest first (one query). Subjects never transferred are
    absent: their office is `subject.office` throughout."""
    holders: dict[uuid.UUID, list[tuple[datetime.date | None, int, int]]] = {}
    transfers = SubjectTransfer.objects.filter(subject__in=[s.pk for s in subjects]).order_by(
        "subject_id", "effective_on", "pk"
    )
    for t in transfers:
        timeline = holders.setdefault(t.subject_id, [(None, t.from_office_id, t.from_officer_id)])
        timeline.append((t.effective_on, t.to_office_id, t.to_officer_id))
    return holders


def holder_on(
    subject: Subject,
    day: datetime.date,
    holders: dict[uuid.UUID, list[tuple[datetime.date | None, int, int]]],
) -> tuple[int, int]:
    """(office id, responsible officer id) of the subject on `day`: the new office from a
    transfer's effective day on. The current holder is the subject's own fields."""
    timeline = holders.get(subject.pk)
    if not timeline:
        return subject.office_id, subject.responsible_officer_id
    held = 0
    for index, (since, _office_id, _officer_id) in enumerate(timeline):
        if since is None or since <= day:
            held = index
    if held == len(timeline) - 1:
        return subject.office_id, subject.responsible_officer_id
    return timeline[held][1], timeline[held][2]


# --- contacts (check-ins, visits, talks, phone reports) ----------------------------------


@dataclass(frozen=True)
class ContactInput:
    subject_id: uuid.UUID
    started_at: datetime.datetime  # on the server clock
    ended_at: datetime.datetime
    device_started_at: datetime.datetime | None
    device_ended_at: datetime.datetime | None
    place: str
    latitude: float | None
    longitude: float | None
    notes: str
    identity_method: str
    photo_recording_id: uuid.UUID | None
    recording_ids: tuple[uuid.UUID, ...]


def _linked_recording_ids(contact: Contact) -> list[str]:
    known: list[str] | None = getattr(contact, "linked_recording_ids", None)
    return known if known is not None else [str(r.pk) for r in contact.recordings.all()]


def contact_copy(contact: Contact) -> RecordCopy:
    if contact.deleted_at is not None:
        return RecordCopy(
            kind=contact.kind,
            record_id=contact.pk,
            unit_id=contact.office_id,
            data={"subject_id": str(contact.subject_id)},
            deleted=True,
        )

    def iso(value: datetime.datetime | None) -> str | None:
        return value.astimezone(datetime.UTC).isoformat() if value else None

    return RecordCopy(
        kind=contact.kind,
        record_id=contact.pk,
        unit_id=contact.office_id,
        data={
            "subject_id": str(contact.subject_id),
            "officer_id": contact.officer_id,
            "started_at": iso(contact.started_at),
            "ended_at": iso(contact.ended_at),
            "device_started_at": iso(contact.device_started_at),
            "device_ended_at": iso(contact.device_ended_at),
            "place": contact.place,
            "latitude": contact.latitude,
            "longitude": contact.longitude,
            "notes": contact.notes,
            "identity_method": contact.identity_method or None,
            "photo_recording_id": str(contact.photo_id) if contact.photo_id else None,
            "recording_ids": sorted(_linked_recording_ids(contact)),
            "crosscheck": {
                "status": contact.crosscheck_status,
                "findings": contact.crosscheck_findings,
            },
        },
    )


def _recordings_for(officer: Officer, ids: list[uuid.UUID]) -> dict[uuid.UUID, Recording]:
    """Recordings the officer's unit holds (recorded by its officers or its devices)."""
    if not ids:
        return {}
    found = {
        r.pk: r
        for r in Recording.objects.filter(pk__in=ids).select_related("officer", "device")
        if (r.officer is not None and r.officer.unit_id == officer.unit_id)
        or r.device.unit_id == officer.unit_id
    }
    missing = sorted(str(i) for i in ids if i not in found)
    if missing:
        raise InvalidInput(
            _("关联的音像记录不存在或不属于本单位"),
            code="unknown_recording",
            details={"recording_ids": missing},
        )
    return found


def footage_fix(recording: Recording) -> FootageFix:
    """A recording's span and GPS fix: the one the device announced, else the one found in
    the file by processing (a photo's EXIF)."""
    latitude, longitude = recording.latitude, recording.longitude
    if latitude is None or longitude is None:
        metadata = getattr(recording, "media_metadata", None)
        if metadata is not None:
            latitude, longitude = metadata.gps_latitude, metadata.gps_longitude
    return FootageFix(
        str(recording.pk), recording.started_at, recording.ended_at, latitude, longitude
    )


def _with_metadata(recordings: list[Recording]) -> list[Recording]:
    """The same recordings with their processing metadata loaded (one query, none for no
    recordings: most check-ins arrive from a tablet before their footage is linked)."""
    if not recordings:
        return recordings
    from backend.footage.models import RecordingMetadata

    found = {m.recording_id: m for m in RecordingMetadata.objects.filter(recording__in=recordings)}
    for recording in recordings:
        if recording.pk in found:
            recording.media_metadata = found[recording.pk]
    return recordings


def checkin_crosscheck(
    *,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    latitude: float | None,
    longitude: float | None,
    identity_method: str,
    footage: list[Recording],
    photo: Recording | None,
) -> tuple[str, list[Any]]:
    """The verdict on a check-in: its footage and its photo (both prove time and place)."""
    evidence = _with_metadata([*footage, *([photo] if photo is not None else [])])
    result = crosscheck_checkin(
        started_at=started_at,
        ended_at=ended_at,
        latitude=latitude,
        longitude=longitude,
        identity_method=identity_method,
        footage=[footage_fix(r) for r in evidence],
    )
    return result.status, result.findings


def _verdict(contact: Contact) -> tuple[str, list[Any]]:
    return checkin_crosscheck(
        started_at=contact.started_at,
        ended_at=contact.ended_at,
        latitude=contact.latitude,
        longitude=contact.longitude,
        identity_method=contact.identity_method,
        footage=list(contact.recordings.all()),
        photo=contact.photo,
    )


def checkins_recheck(*, since: datetime.datetime) -> int:
    """Re-run the cross-check of check-ins since `since` (footage processed after the
    check-in was pushed may have brought a photo's GPS). Changed verdicts are stored and
    sent to the office's tablets; returns how many changed. Idempotent.

    Verdicts are computed without locks; only the check-ins whose verdict changed are then
    locked (sync row first, as a push does), computed again and written."""
    wanted = (
        Contact.objects.filter(
            kind=ContactKind.CHECK_IN, deleted_at__isnull=True, started_at__gte=since
        )
        .select_related("photo")
        .prefetch_related("recordings")
        .order_by("pk")
    )
    stale = [c.pk for c in wanted if _verdict(c) != (c.crosscheck_status, c.crosscheck_findings)]
    if not stale:
        return 0
    changed: list[Contact] = []
    with transaction.atomic():
        records_lock(stale)
        for contact in wanted.filter(pk__in=stale).select_for_update(of=("self",)):
            status, findings = _verdict(contact)
            if (status, findings) != (contact.crosscheck_status, contact.crosscheck_findings):
                contact.crosscheck_status, contact.crosscheck_findings = status, findings
                contact.save(
                    update_fields=["crosscheck_status", "crosscheck_findings", "updated_at"]
                )
                changed.append(contact)
        if changed:
            audit_record(
                actor=Actor.system(),
                action="correction_checkin.rechecked",
                object_type="correction_contact",
                object_id="",
                data={"contacts": {str(c.pk): c.crosscheck_status for c in changed}},
            )
            records_commit([contact_copy(c) for c in changed])
    return len(changed)


# Record list rows 9 (报到), 8 (走访) and 10 (谈话) of shared/data/record_list.csv.
ACTIVITY_STAGE = {
    ContactKind.CHECK_IN: ("社区矫正", "报到", "报到"),
    ContactKind.HOME_VISIT: ("社区矫正", "走访", "走访"),
    ContactKind.TALK: ("社区矫正", "谈话", "谈话教育"),
}


def contact_activity_link(contact_id: uuid.UUID) -> uuid.UUID | None:
    """Create the coverage activity (执法活动) of a check-in, visit or talk, so the coverage
    check judges its footage against the record list. Idempotent (external_ref); runs after
    the contact's transaction committed (see :func:`activity_link_later`). Phone reports
    are not on the record list and get none."""
    from backend.enforcement.services import MomentIn, activity_create

    contact = (
        Contact.objects.select_related("office", "officer", "device").filter(pk=contact_id).first()
    )
    if contact is None or contact.deleted_at is not None or contact.kind not in ACTIVITY_STAGE:
        return None
    category, stage, item = ACTIVITY_STAGE[ContactKind(contact.kind)]
    created = activity_create(
        actor=Actor.device(contact.device) if contact.device else Actor.system(),
        category=category,
        stage=stage,
        item=item,
        unit=contact.office,
        officers=[contact.officer],
        start=MomentIn(occurred_at=contact.started_at, source="tablet"),
        stop=MomentIn(occurred_at=contact.ended_at, source="tablet"),
        place=contact.place,
        latitude=contact.latitude,
        longitude=contact.longitude,
        external_ref=f"corrections.contact:{contact.pk}",
        device=contact.device,
    )
    Contact.objects.filter(pk=contact.pk, activity__isnull=True).update(activity=created.activity)
    return created.activity.pk


def contacts_link_redrive(*, since: datetime.datetime) -> int:
    """Create the missing coverage activities of check-ins, visits and talks logged since
    `since` (the after-commit job was lost, or its worker queue was not running). Safe to
    repeat: activity creation is idempotent by external reference."""
    linked = 0
    pending = Contact.objects.filter(
        kind__in=list(ACTIVITY_STAGE),
        activity__isnull=True,
        deleted_at__isnull=True,
        created_at__gte=since,
    ).values_list("pk", flat=True)
    for contact_id in pending:
        if contact_activity_link(contact_id) is not None:
            linked += 1
    return linked


def _enqueue_activity_links(contact_ids: list[str]) -> None:
    from backend.corrections.tasks import link_contact_activities

    link_contact_activities.enqueue(contact_ids)


# One after-commit job per transaction for all contacts written in it.
_activity_links = AfterCommitCollector(_enqueue_activity_links)


def activity_link_later(contact_id: uuid.UUID) -> None:
    """Link the contact to its activity after commit, as a task: activity creation appends
    to the global audit chain, which a tablet's push must not hold for its whole batch."""
    _activity_links.add(str(contact_id))


def subjects_by_id(ids: list[uuid.UUID]) -> dict[uuid.UUID, Subject]:
    """The subjects of a push's batch. Inside a transaction on PostgreSQL they are locked
    FOR KEY SHARE (what inserting a contact takes anyway, only earlier): pushes do not block
    each other, but a transfer (FOR UPDATE) either waits for this push or is seen by it —
    a contact is never logged for a subject's old office after it moved."""
    if connection.vendor == "postgresql" and transaction.get_connection().in_atomic_block:
        table = Subject._meta.db_table
        locked = Subject.objects.raw(
            f"SELECT * FROM {table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",  # noqa: S608
            [sorted(ids)],
        )
        return {s.pk: s for s in locked}
    return {s.pk: s for s in Subject.objects.filter(pk__in=ids)}


def contact_times(record_id: uuid.UUID) -> tuple[StoredTime, StoredTime] | None:
    """The stored start and end of a contact (server clock and device reading), or None."""
    row = (
        Contact.objects.filter(pk=record_id)
        .values_list("started_at", "device_started_at", "ended_at", "device_ended_at")
        .first()
    )
    if row is None:
        return None
    return StoredTime(row[0], row[1]), StoredTime(row[2], row[3])


def contact_write(
    *,
    kind: str,
    record_id: uuid.UUID,
    officer: Officer,
    device: Device | None,
    values: ContactInput,
    existing: bool,
    subjects: dict[uuid.UUID, Subject] | None = None,
    pending: list[Contact] | None = None,
) -> Contact:
    """Create or replace a contact logged by `officer`. The subject must belong to the
    officer's own office; otherwise the write is refused. `subjects` is an optional
    pre-loaded map (a push loads its batch's subjects in one query).

    An edit by a colleague keeps who logged the contact and on which device (the officer
    who did the visit does not change because someone corrected its notes); the editor is
    in the push's audit event."""
    if kind not in ContactKind.values:
        raise InvalidInput(_("未知的工作记录类型"), code="unknown_kind", details={"kind": kind})
    if subjects is not None and values.subject_id in subjects:
        subject: Subject | None = subjects[values.subject_id]
    else:
        subject = Subject.objects.filter(pk=values.subject_id).first()
    if subject is None or subject.office_id != officer.unit_id:
        raise PermissionDenied(
            _("矫正对象不属于本司法所"),
            code="subject_out_of_scope",
            details={"subject_id": str(values.subject_id)},
        )
    if values.ended_at < values.started_at:
        raise InvalidInput(_("结束时间早于开始时间"), code="ends_before_start")
    if kind == ContactKind.CHECK_IN and not values.identity_method:
        raise InvalidInput(_("报到须记录身份核验方式"), code="identity_method_required")
    linked = list(values.recording_ids)
    if values.photo_recording_id:
        linked.append(values.photo_recording_id)
    recordings = _recordings_for(officer, linked)
    footage = [recordings[i] for i in values.recording_ids]
    crosscheck_status: str = CrossCheckStatus.PENDING
    crosscheck_findings: list[Any] = []
    if kind == ContactKind.CHECK_IN:
        crosscheck_status, crosscheck_findings = checkin_crosscheck(
            started_at=values.started_at,
            ended_at=values.ended_at,
            latitude=values.latitude,
            longitude=values.longitude,
            identity_method=values.identity_method,
            footage=footage,
            photo=recordings[values.photo_recording_id] if values.photo_recording_id else None,
        )
    fields: dict[str, Any] = {
        "kind": kind,
        "subject": subject,
        "office_id": subject.office_id,
        "officer": officer,
        "device": device,
        "started_at": values.started_at,
        "ended_at": values.ended_at,
        "device_started_at": values.device_started_at,
        "device_ended_at": values.device_ended_at,
        "place": values.place,
        "latitude": values.latitude,
        "longitude": values.longitude,
        "notes": values.notes,
        "identity_method": values.identity_method,
        "photo_id": values.photo_recording_id,
        "crosscheck_status": crosscheck_status,
        "crosscheck_findings": crosscheck_findings,
        "deleted_at": None,
    }
    if existing:
        contact = Contact.objects.select_for_update().filter(pk=record_id).first()
        if contact is None or contact.office_id != officer.unit_id:
            raise PermissionDenied(_("无权修改该记录"), code="record_out_of_scope")
        for name, value in fields.items():
            if name not in {"officer", "device"}:
                setattr(contact, name, value)
        contact.save()
        contact.recordings.set(footage)
    elif pending is not None:
        # Inserted with the rest of the batch by contacts_insert_pending (one statement).
        contact = Contact(id=record_id, **fields)
        contact.pending_footage = footage  # type: ignore[attr-defined]
        pending.append(contact)
    else:
        contact = Contact.objects.create(id=record_id, **fields)
        if footage:
            contact.recordings.add(*footage)
    contact.linked_recording_ids = [str(r.pk) for r in footage]  # type: ignore[attr-defined]
    if contact.kind in ACTIVITY_STAGE and contact.activity_id is None:
        activity_link_later(contact.pk)
    return contact


def contacts_insert_pending(pending: list[Contact]) -> None:
    """Insert the contacts that contact_write collected (with `pending`) and their footage
    links, in two statements. An id already taken raises IntegrityError (the caller redoes
    the batch one by one)."""
    if not pending:
        return
    Contact.objects.bulk_create(pending)
    through = Contact.recordings.through
    links = [
        through(contact_id=contact.pk, recording_id=recording.pk)
        for contact in pending
        for recording in getattr(contact, "pending_footage", [])
    ]
    if links:
        through.objects.bulk_create(links)
    pending.clear()


def contact_delete(*, record_id: uuid.UUID, officer: Officer) -> Contact:
    contact = Contact.objects.select_for_update().filter(pk=record_id).first()
    if contact is None or contact.office_id != officer.unit_id:
        raise PermissionDenied(_("无权删除该记录"), code="record_out_of_scope")
    contact.deleted_at = timezone.now()
    contact.save(update_fields=["deleted_at", "updated_at"])
    return contact


# --- overdue alerts ----------------------------------------------------------------------

OVERDUE_LOOKBACK_DAYS = 120


def _contact_counts(
    subject_ids: list[uuid.UUID], since: datetime.date, until: datetime.date
) -> dict[tuple[uuid.UUID, str], list[tuple[datetime.date, int]]]:
    """Per subject and kind, contacts per local day in [since, until] (one query)."""
    rows = (
        Contact.objects.filter(
            subject_id__in=subject_ids,
            deleted_at__isnull=True,
            started_at__date__gte=since,
            started_at__date__lte=until,
        )
        .annotate(day=TruncDate("started_at"))
        .values("subject_id", "kind", "day")
        .annotate(n=Count("id"))
    )
    counts: dict[tuple[uuid.UUID, str], list[tuple[datetime.date, int]]] = {}
    for row in rows:
        counts.setdefault((row["subject_id"], row["kind"]), []).append((row["day"], row["n"]))
    return counts


def _done_in(days: list[tuple[datetime.date, int]], due: PeriodDue) -> int:
    return sum(n for day, n in days if due.period_start <= day <= due.period_end)


@dataclass(frozen=True)
class SubjectObligation:
    subject: Subject
    due: PeriodDue
    done: int


def obligations_due(
    subjects: list[Subject], *, due_from: datetime.date, due_to: datetime.date
) -> list[SubjectObligation]:
    """Every scheduled obligation whose due date lies in [due_from, due_to], with how many
    contacts were logged in its period. Subjects must have `schedules` prefetched."""
    earliest = due_from - datetime.timedelta(days=OVERDUE_LOOKBACK_DAYS)
    counts = _contact_counts([s.pk for s in subjects], earliest, due_to)
    working_days = working_calendar()
    result = []
    for subject in subjects:
        for schedule in subject.schedules.all():
            spec = ScheduleSpec(
                schedule.kind, schedule.frequency, schedule.times, schedule.grace_working_days
            )
            for due in periods_due(
                spec,
                term_start=subject.term_start,
                term_end=subject.term_end,
                due_from=due_from,
                due_to=due_to,
                working_days=working_days,
            ):
                days = counts.get((subject.pk, schedule.kind), [])
                result.append(SubjectObligation(subject, due, _done_in(days, due)))
    return result


def overdue_scan(*, today: datetime.date | None = None) -> list[OverdueAlert]:
    """Raise an alert for every obligation past its due date with too few contacts; resolve
    alerts whose contacts were logged late. Safe to run repeatedly (one alert per period).
    New alerts are pushed to the office's websocket group (and its supervisors')."""
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=OVERDUE_LOOKBACK_DAYS)
    subjects = list(
        Subject.objects.filter(term_end__gte=since, term_start__lte=today)
        .select_related("office", "responsible_officer")
        .prefetch_related("schedules")
    )
    yesterday = today - datetime.timedelta(days=1)
    # A transferred subject's obligation belongs to the office holding them on its due date.
    holders = subject_holders(subjects)
    raised: list[OverdueAlert] = []
    with transaction.atomic():
        for ob in obligations_due(subjects, due_from=since, due_to=yesterday):
            if ob.done >= ob.due.required:
                OverdueAlert.objects.filter(
                    subject=ob.subject,
                    kind=ob.due.kind,
                    period_start=ob.due.period_start,
                    resolved_at__isnull=True,
                ).update(resolved_at=timezone.now(), done=ob.done)
                continue
            office_id, officer_id = holder_on(ob.subject, ob.due.due_date, holders)
            alert, created = OverdueAlert.objects.get_or_create(
                subject=ob.subject,
                kind=ob.due.kind,
                period_start=ob.due.period_start,
                defaults={
                    "office_id": office_id,
                    "officer_id": officer_id,
                    "period_end": ob.due.period_end,
                    "due_date": ob.due.due_date,
                    "due_date_provisional": ob.due.provisional,
                    "required": ob.due.required,
                    "done": ob.done,
                },
            )
            if created:
                raised.append(alert)
        if raised:
            audit_record(
                actor=Actor.system(),
                action="correction_overdue.raised",
                object_type="overdue_alert",
                object_id="",
                data={"alert_ids": [a.pk for a in raised], "today": today.isoformat()},
            )
            events = [(a.subject.office.path, overdue_event(a), a.subject.name) for a in raised]
            transaction.on_commit(lambda: publish_overdue(events))
    return raised


def overdue_event(alert: OverdueAlert) -> dict[str, Any]:
    officer_user_id = getattr(alert.officer, "user_id", None)
    return {
        "type": "correction.overdue",
        "at": timezone.now().isoformat(),
        "alert_id": alert.pk,
        "subject_id": str(alert.subject_id),
        "office_id": alert.office_id,
        "officer_id": alert.officer_id,
        "officer_user_id": officer_user_id,
        "kind": alert.kind,
        "period_start": alert.period_start.isoformat(),
        "period_end": alert.period_end.isoformat(),
        "due_date": alert.due_date.isoformat(),
        "due_date_provisional": alert.due_date_provisional,
        "required": alert.required,
        "done": alert.done,
    }


# --- contacts logged in the browser --------------------------------------------------------


def contact_log(*, actor: User, kind: str, subject: Subject, values: ContactInput) -> Contact:
    """A check-in, visit or talk logged by a correction officer in the browser (a tablet
    was not at hand). Same rules as a tablet's push (contact_write: the subject must be of
    the officer's own office); audited, sent to the office's tablets, and an open overdue
    alert of the period it fills is resolved at once."""
    officer = Officer.objects.filter(user=actor).first()
    if officer is None or actor.role != Role.CORRECTION_OFFICER:
        raise PermissionDenied(
            _("只有本司法所的矫正工作人员可以登记工作记录"), code="not_a_correction_officer"
        )
    if kind not in (ContactKind.CHECK_IN, ContactKind.HOME_VISIT, ContactKind.TALK):
        raise InvalidInput(_("未知的工作记录类型"), code="unknown_kind", details={"kind": kind})
    if values.subject_id != subject.pk:
        raise InvalidInput(_("矫正对象不符"), code="subject_mismatch")
    if values.started_at > timezone.now() + datetime.timedelta(minutes=5):
        raise InvalidInput(_("开始时间不能晚于现在"), code="starts_in_future")
    with transaction.atomic():
        contact = contact_write(
            kind=kind,
            record_id=uuid.uuid4(),
            officer=officer,
            device=None,
            values=values,
            existing=False,
        )
        day = timezone.localdate(contact.started_at)
        for alert in OverdueAlert.objects.select_for_update().filter(
            subject=subject,
            kind=kind,
            resolved_at__isnull=True,
            period_start__lte=day,
            period_end__gte=day,
        ):
            done = Contact.objects.filter(
                subject=subject,
                kind=kind,
                deleted_at__isnull=True,
                started_at__date__gte=alert.period_start,
                started_at__date__lte=alert.period_end,
            ).count()
            alert.done = done
            fields = ["done"]
            if done >= alert.required:
                alert.resolved_at = timezone.now()
                fields.append("resolved_at")
            alert.save(update_fields=fields)
        audit_record(
            actor=Actor.user(actor),
            action="correction_contact.logged",
            object_type="correction_contact",
            object_id=contact.pk,
            data={
                "subject_id": str(subject.pk),
                "kind": kind,
                "crosscheck_status": contact.crosscheck_status,
                "source": "web",
            },
        )
        records_commit([contact_copy(contact)])
    return contact
