"""Transfer to another justice office (变更执行地) and who held a subject when."""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.accounts.selectors import units_in_subtree, user_has_role
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, PermissionDenied
from backend.corrections.models import (
    Contact,
    OverdueAlert,
    Subject,
    SubjectTransfer,
)
from backend.corrections.services.contacts import contact_copy
from backend.corrections.services.subjects import subject_copy
from sync.records.services import records_lock, records_rescope

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
