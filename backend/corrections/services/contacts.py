"""Contacts (check-ins, visits, talks, phone reports): writes from tablets, cross-checks
with footage, links to coverage activities."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer
from backend.after_commit import AfterCommitCollector
from backend.audit.services import Actor, audit_record
from backend.config.errors import InvalidInput, PermissionDenied
from backend.corrections.crosscheck import FootageFix, crosscheck_checkin
from backend.corrections.models import (
    Contact,
    ContactKind,
    CrossCheckStatus,
    Subject,
)
from backend.devices.models import Device
from backend.footage.models import Recording
from sync.records.kinds import RecordCopy, StoredTime
from sync.records.services import records_commit, records_lock

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
