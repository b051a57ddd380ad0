"""The steps of a correction, from 宣告 to 解除, and the approvals for leaving the area
(外出), receiving visitors (会客) and moving house (迁居).

What each step needs is enforced here: nothing but 宣告 before 宣告 (with the 矫正小组
named and the signed 责任书 numbered); 解除 only at the end of the term, with a
certificate number, no approval pending and no position alert open; nothing after 解除.
An approval is decided by someone other than its requester.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, PermissionDenied
from backend.corrections.models import (
    CorrectionStep,
    PermissionKind,
    PermissionRequest,
    PermissionStatus,
    PositionAlert,
    StepKind,
    Subject,
)

STEP_ROLES = (Role.CORRECTION_OFFICER, Role.SUPERVISOR)
STEP_ACTIONS: dict[str, str] = {
    StepKind.ANNOUNCEMENT: "correction_step.announcement",
    StepKind.WARNING: "correction_step.warning",
    StepKind.REVOCATION_PROPOSAL: "correction_step.revocation_proposal",
    StepKind.RELEASE: "correction_step.release",
}


def subject_stage(subject: Subject) -> tuple[CorrectionStep | None, CorrectionStep | None]:
    """(宣告, 解除) of the subject, each None when not yet recorded."""
    steps = {
        s.kind: s
        for s in CorrectionStep.objects.filter(
            subject=subject, kind__in=[StepKind.ANNOUNCEMENT, StepKind.RELEASE]
        )
    }
    return steps.get(StepKind.ANNOUNCEMENT), steps.get(StepKind.RELEASE)


def _under_correction(subject: Subject) -> CorrectionStep:
    announced, released = subject_stage(subject)
    if announced is None:
        raise Conflict(_("尚未宣告，不能办理此事项"), code="not_announced")
    if released is not None:
        raise Conflict(_("已解除矫正，不能办理此事项"), code="already_released")
    return announced


def step_record(
    *,
    subject: Subject,
    kind: str,
    on_date: datetime.date,
    actor: User,
    present: str = "",
    letter_number: str = "",
    reason: str = "",
    certificate_number: str = "",
    outcome: str = "",
) -> CorrectionStep:
    if actor.role not in STEP_ROLES:
        raise PermissionDenied(_("只有矫正工作人员可以办理"), code="forbidden")
    if kind not in StepKind.values:
        raise InvalidInput(_("未知的环节"), code="unknown_step", details={"kind": kind})
    if on_date > timezone.localdate():
        raise InvalidInput(_("日期不能晚于今天"), code="date_in_future")
    present, letter_number, reason = present.strip(), letter_number.strip(), reason.strip()
    certificate_number = certificate_number.strip()
    with transaction.atomic():
        Subject.objects.select_for_update().get(pk=subject.pk)
        if kind == StepKind.ANNOUNCEMENT:
            if subject_stage(subject)[0] is not None:
                raise Conflict(_("已经宣告过"), code="already_announced")
            if not present:
                raise InvalidInput(_("请填写宣告时到场人员"), code="present_required")
            if not letter_number:
                raise InvalidInput(_("请填写签订的矫正责任书编号"), code="letter_required")
            if not subject.team.exists():
                raise Conflict(_("宣告前须确定矫正小组"), code="team_required")
        else:
            announced = _under_correction(subject)
            if on_date < announced.on_date:
                raise InvalidInput(_("日期不能早于宣告日期"), code="before_announcement")
            if kind in (StepKind.WARNING, StepKind.REVOCATION_PROPOSAL) and not reason:
                raise InvalidInput(_("请填写事由"), code="reason_required")
            if kind == StepKind.RELEASE:
                if on_date < subject.term_end:
                    raise Conflict(
                        _("矫正期满（%(end)s）方可解除矫正") % {"end": subject.term_end},
                        code="term_not_ended",
                    )
                if not certificate_number:
                    raise InvalidInput(_("请填写解除矫正证明书编号"), code="certificate_required")
                if PermissionRequest.objects.filter(
                    subject=subject, status=PermissionStatus.PENDING
                ).exists():
                    raise Conflict(_("尚有待审批的事项"), code="approvals_pending")
                if PositionAlert.objects.filter(subject=subject, closed_at__isnull=True).exists():
                    raise Conflict(_("尚有未处置的定位提醒"), code="alerts_open")
        step = CorrectionStep.objects.create(
            subject=subject,
            kind=kind,
            on_date=on_date,
            present=present[:5000],
            letter_number=letter_number[:100],
            reason=reason[:5000],
            certificate_number=certificate_number[:100],
            outcome=outcome.strip()[:300],
            recorded_by=actor,
        )
        audit_record(
            actor=Actor.user(actor),
            action=STEP_ACTIONS[kind],
            object_type="correction_subject",
            object_id=subject.pk,
            data={"step_id": step.pk, "on_date": on_date.isoformat()},
        )
    return step


def permission_request(
    *,
    subject: Subject,
    kind: str,
    reason: str,
    destination: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    actor: User,
) -> PermissionRequest:
    if actor.role not in STEP_ROLES:
        raise PermissionDenied(_("只有矫正工作人员可以办理"), code="forbidden")
    if kind not in PermissionKind.values:
        raise InvalidInput(_("未知的审批事项"), code="unknown_permission", details={"kind": kind})
    if ends_at <= starts_at:
        raise InvalidInput(_("结束时间须晚于开始时间"), code="ends_before_start")
    if not reason.strip() or not destination.strip():
        raise InvalidInput(_("请填写事由和目的地"), code="reason_required")
    with transaction.atomic():
        _under_correction(subject)
        request = PermissionRequest.objects.create(
            subject=subject,
            office_id=subject.office_id,
            kind=kind,
            reason=reason.strip()[:5000],
            destination=destination.strip()[:300],
            starts_at=starts_at,
            ends_at=ends_at,
            requested_by=actor,
        )
        audit_record(
            actor=Actor.user(actor),
            action="correction_permission.requested",
            object_type="correction_subject",
            object_id=subject.pk,
            data={"request_id": request.pk, "kind": kind},
        )
    return request


def permission_decide(
    *, request: PermissionRequest, approve: bool, note: str, actor: User
) -> PermissionRequest:
    if actor.role not in STEP_ROLES:
        raise PermissionDenied(_("只有矫正工作人员和监督人员可以审批"), code="forbidden")
    with transaction.atomic():
        locked = PermissionRequest.objects.select_for_update().get(pk=request.pk)
        if locked.requested_by_id == actor.pk:
            raise PermissionDenied(_("申请人不能审批自己提交的事项"), code="own_request")
        if locked.status != PermissionStatus.PENDING:
            raise Conflict(_("该事项已审批"), code="already_decided")
        locked.status = PermissionStatus.APPROVED if approve else PermissionStatus.REJECTED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()[:5000]
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(
            actor=Actor.user(actor),
            action="correction_permission.approved"
            if approve
            else "correction_permission.rejected",
            object_type="correction_subject",
            object_id=locked.subject_id,
            data={"request_id": locked.pk, "kind": locked.kind},
        )
    return locked
