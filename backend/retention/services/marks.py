"""Evidence marks on recordings (added and withdrawn, audited)."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.config.errors import InvalidInput, NotFound
from backend.footage.selectors import recordings_visible_to
from backend.retention.models import (
    EvidenceMark,
    MarkKind,
)
from backend.retention.services.dates import retention_refresh
from backend.retention.services.locks import retention_sync_locks
from backend.retention.services.roles import HOLD_ROLES, _require


# -- evidence marks ----------------------------------------------------------------------
def evidence_mark_add(
    *,
    actor: User,
    recording_id: uuid.UUID,
    kind: str,
    activity_ref: str = "",
    case_ref: str = "",
    note: str = "",
) -> EvidenceMark:
    """Mark a recording as used as evidence, showing obstruction, of a major incident, or
    linked to an activity/case; its retention is recomputed and its lock extended."""
    _require(actor.role in HOLD_ROLES, _("无权标记证据"), "not_allowed_to_mark")
    if kind not in MarkKind.values:
        raise InvalidInput(_("标记类型无效"), code="mark_kind_invalid")
    with transaction.atomic():
        if not recordings_visible_to(actor).filter(pk=recording_id).exists():
            raise NotFound(_("没有该音像记录"), code="recording_not_found")
        mark = EvidenceMark.objects.create(
            recording_id=recording_id,
            kind=kind,
            activity_ref=activity_ref.strip(),
            case_ref=case_ref.strip(),
            note=note,
            marked_by=actor,
        )
        retention_refresh(recording_ids=[recording_id])
        audit_record(
            actor=Actor.user(actor),
            action="retention.mark_added",
            object_type="recording",
            object_id=recording_id,
            data={
                "kind": kind,
                "activity_ref": activity_ref,
                "case_ref": case_ref,
                "mark_id": mark.pk,
            },
        )
    retention_sync_locks(recording_ids=[recording_id])
    return mark


def evidence_mark_withdraw(*, actor: User, mark_id: int) -> EvidenceMark:
    """Withdraw a mark. The retention date may be recomputed earlier in the database only
    down to the lock already applied: the effective date never shortens below it."""
    _require(actor.role in HOLD_ROLES, _("无权撤销标记"), "not_allowed_to_mark")
    with transaction.atomic():
        mark = (
            EvidenceMark.objects.select_for_update()
            .filter(pk=mark_id, recording__in=recordings_visible_to(actor))
            .first()
        )
        if mark is None or mark.withdrawn_at is not None:
            raise NotFound(_("没有该标记"), code="mark_not_found")
        mark.withdrawn_by = actor
        mark.withdrawn_at = timezone.now()
        mark.save(update_fields=["withdrawn_by", "withdrawn_at"])
        rows = retention_refresh(recording_ids=[mark.recording_id])
        for row in rows:
            # The object is already locked to the later date: keep the database honest.
            if row.lock_until_applied and row.retention_until < row.lock_until_applied:
                row.lock_floor_until = row.lock_until_applied
                row.retention_until = row.lock_until_applied
                row.save(update_fields=["lock_floor_until", "retention_until"])
        audit_record(
            actor=Actor.user(actor),
            action="retention.mark_withdrawn",
            object_type="recording",
            object_id=mark.recording_id,
            data={"mark_id": mark.pk, "kind": mark.kind},
        )
    return mark
