"""Subjects: registration, changes, reporting schedules, the copy tablets sync."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Unit, UnitKind, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import InvalidInput
from backend.corrections.models import (
    ContactKind,
    Frequency,
    ReportingSchedule,
    SentenceKind,
    Subject,
)
from sync.records.kinds import RecordCopy
from sync.records.services import records_commit, records_lock

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
