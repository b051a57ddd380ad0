"""Legal holds: placing and releasing them, and who sees them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import transaction
from django.db.models import (
    Q,
    QuerySet,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.footage.selectors import recordings_visible_to
from backend.retention.facts import (
    recordings_for_reference,
)
from backend.retention.models import (
    HoldTarget,
    LegalHold,
)
from backend.retention.services.base import live_retentions
from backend.retention.services.locks import retention_sync_locks
from backend.retention.services.roles import (
    HOLD_ROLES,
    _require,
    user_is_retention_approver,
    user_is_storage_admin,
)


# -- legal holds -------------------------------------------------------------------------
def _hold_covers(hold: LegalHold) -> set[uuid.UUID]:
    if hold.target_kind == HoldTarget.RECORDING:
        return {hold.recording_id} if hold.recording_id else set()
    return recordings_for_reference(hold.target_kind, hold.reference)


def recordings_held(recording_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these recordings an active hold covers, directly or through an activity or
    a case they are linked to."""
    ids = set(recording_ids)
    if not ids:
        return set()
    active = LegalHold.objects.filter(released_at__isnull=True)
    held = set(
        active.filter(target_kind=HoldTarget.RECORDING, recording_id__in=ids).values_list(
            "recording_id", flat=True
        )
    )
    for hold in active.exclude(target_kind=HoldTarget.RECORDING):
        held |= ids & _hold_covers(hold)
    return held


def _refresh_held(recording_ids: Iterable[uuid.UUID]) -> None:
    ids = set(recording_ids)
    held = recordings_held(ids)
    live_retentions().filter(recording_id__in=held).update(held=True)
    live_retentions().filter(recording_id__in=ids - held).update(held=False)


def legal_holds_visible_to(user: User) -> QuerySet[LegalHold]:
    """Holds the user may see or act on. Storage admins and the leader in charge see every
    hold (storage facts); legal officers and supervisors the holds on recordings they may
    see and the activity/case holds placed within their units; others none."""
    holds = LegalHold.objects.all()
    if user_is_storage_admin(user) or user_is_retention_approver(user):
        return holds
    if user.role not in HOLD_ROLES or user.unit is None:
        return holds.none()
    return holds.filter(
        Q(target_kind=HoldTarget.RECORDING, recording__in=recordings_visible_to(user))
        | (
            ~Q(target_kind=HoldTarget.RECORDING)
            & Q(placed_by__unit__path__startswith=user.unit.path)
        )
    )


def legal_hold_place(
    *,
    actor: User,
    target_kind: str,
    reason: str,
    recording_id: uuid.UUID | None = None,
    reference: str = "",
) -> LegalHold:
    """Place a legal hold (保全) on a recording, an activity or a case. Held recordings are
    never destroyed, and their objects get the S3 legal hold."""
    _require(
        actor.role in HOLD_ROLES or user_is_retention_approver(actor),
        _("无权设置保全"),
        "not_allowed_to_hold",
    )
    if target_kind not in HoldTarget.values:
        raise InvalidInput(_("保全对象类型无效"), code="hold_target_invalid")
    if not reason.strip():
        raise InvalidInput(_("必须填写保全原因"), code="hold_reason_required")
    with transaction.atomic():
        if target_kind == HoldTarget.RECORDING:
            # Scoped like every read: a recording outside the caller's units is not found.
            if (
                recording_id is None
                or not recordings_visible_to(actor).filter(pk=recording_id).exists()
            ):
                raise NotFound(_("没有该音像记录"), code="recording_not_found")
            hold = LegalHold.objects.create(
                target_kind=target_kind,
                recording_id=recording_id,
                reason=reason.strip(),
                placed_by=actor,
            )
        else:
            if not reference.strip():
                raise InvalidInput(_("必须填写活动或案件编号"), code="hold_reference_required")
            hold = LegalHold.objects.create(
                target_kind=target_kind,
                reference=reference.strip(),
                reason=reason.strip(),
                placed_by=actor,
            )
        covered = _hold_covers(hold)
        _refresh_held(covered)
        audit_record(
            actor=Actor.user(actor),
            action="retention.hold_placed",
            object_type="legal_hold",
            object_id=hold.pk,
            data={
                "target_kind": target_kind,
                "recording_id": recording_id,
                "reference": hold.reference,
                "reason": hold.reason,
                "recordings": sorted(str(i) for i in covered),
            },
        )
    retention_sync_locks(recording_ids=covered)
    return hold


def legal_hold_release(*, actor: User, hold_id: int, reason: str) -> LegalHold:
    """Release a hold. Needs a second person: whoever placed it cannot release it."""
    _require(
        actor.role in HOLD_ROLES or user_is_retention_approver(actor),
        _("无权解除保全"),
        "not_allowed_to_hold",
    )
    if not reason.strip():
        raise InvalidInput(_("必须填写解除原因"), code="hold_release_reason_required")
    with transaction.atomic():
        hold = (
            legal_holds_visible_to(actor).select_for_update(of=("self",)).filter(pk=hold_id).first()
        )
        if hold is None:
            raise NotFound(_("没有该保全"), code="hold_not_found")
        if hold.released_at is not None:
            raise Conflict(_("该保全已解除"), code="hold_already_released")
        if hold.placed_by_id == actor.pk:
            raise PermissionDenied(
                _("解除保全需要另一人办理：设置人不能解除自己设置的保全"),
                code="hold_release_needs_second_person",
                details={"placed_by": hold.placed_by_id},
            )
        hold.released_by = actor
        hold.released_at = timezone.now()
        hold.release_reason = reason.strip()
        hold.save(update_fields=["released_by", "released_at", "release_reason"])
        covered = _hold_covers(hold)
        _refresh_held(covered)
        audit_record(
            actor=Actor.user(actor),
            action="retention.hold_released",
            object_type="legal_hold",
            object_id=hold.pk,
            data={
                "reason": hold.release_reason,
                "placed_by": hold.placed_by_id,
                "recordings": sorted(str(i) for i in covered),
            },
        )
    retention_sync_locks(recording_ids=covered)
    return hold
