"""The decision (决定) and the hook that lets publication (公示) and retention react."""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.cases.models import (
    Case,
    CaseStage,
    CaseStageEntry,
    Decision,
    DecisionKind,
    LegalReview,
    ReviewState,
    RevocationGround,
)
from backend.cases.services.common import case_locked, handling_officer, refuse_if_archived, today
from backend.cases.services.review import review_allows_decision
from backend.config.errors import Conflict, InvalidInput
from backend.hooks import HookPoint

DECISION_MADE: HookPoint[[int], object] = HookPoint(
    "cases.decision_made",
    "A decision was recorded on a case (called after the recording transaction committed, "
    "with the Decision's id). Publication (公示) and retention react here.",
)

DECISION_REVOKED: HookPoint[[int], object] = HookPoint(
    "cases.decision_revoked",
    "A decision was revoked, found unlawful or ordered re-made (after the commit, with the "
    "Decision's id). Publication withdraws it from the public site at once, with a notice.",
)


def decision_record(
    *,
    actor: User,
    case_id: uuid.UUID | str,
    kind: str,
    document_number: str,
    summary: str,
    legal_basis: str,
    decided_on: datetime.date | None = None,
) -> Decision:
    """Record the decision. A case that needs review cannot be decided until the review says
    同意 or the head decided a disagreement (法制审核未通过的，不得作出决定)."""
    day = decided_on or today()
    if kind not in DecisionKind.values:
        raise InvalidInput(_("决定类型无效。"), code="invalid_decision_kind")
    missing = [
        name
        for name, value in (
            (_("决定书文号"), document_number),
            (_("主要内容"), summary),
            (_("法律依据"), legal_basis),
        )
        if not value.strip()
    ]
    if missing:
        raise InvalidInput(
            _("缺少：%(fields)s") % {"fields": "、".join(missing)}, code="missing_fields"
        )
    with transaction.atomic():
        case: Case = case_locked(case_id, actor)
        refuse_if_archived(case)
        handling_officer(case, actor, day)
        if Decision.objects.filter(case=case).exists():
            raise Conflict(_("本案已作出决定。"), code="already_decided")
        if case.needs_review and not review_allows_decision(case):
            raise Conflict(
                _("本案须经法制审核，审核意见为“同意”（或负责人处理分歧）后才能作出决定。"),
                code="review_required",
            )
        if case.stage not in (CaseStage.INVESTIGATING, CaseStage.REVIEW):
            raise Conflict(_("案件当前阶段不能作出决定。"), code="stage_out_of_order")
        decision = Decision.objects.create(
            case=case,
            kind=kind,
            document_number=document_number.strip(),
            summary=summary.strip(),
            legal_basis=legal_basis.strip(),
            decided_on=day,
            recorded_by=actor,
        )
        LegalReview.objects.filter(case=case, state=ReviewState.OPINION).update(
            state=ReviewState.CLOSED
        )
        case.stage = CaseStage.DECIDED
        case.save(update_fields=["stage"])
        CaseStageEntry.objects.create(case=case, stage=CaseStage.DECIDED, entered_on=day, by=actor)
        audit_record(
            actor=Actor.user(actor),
            action="case.decided",
            object_type="case",
            object_id=case.pk,
            data={"decision_id": decision.pk, "kind": kind, "number": decision.document_number},
        )
        decision_id = decision.pk
        transaction.on_commit(lambda: DECISION_MADE.fire(decision_id))
    return decision


def decision_revoke(*, actor: User, case_id: uuid.UUID | str, ground: str, reason: str) -> Decision:
    """Record that the case's decision no longer stands (撤销, 确认违法 or 重新作出), by one of
    the case's certified handling officers. The decision stays on record (and the case file
    unchanged, archived or not: the revocation is a later fact about it); the public site
    withdraws it at once through ``cases.decision_revoked``."""
    if ground not in RevocationGround.values:
        raise InvalidInput(_("撤销情形无效。"), code="invalid_revocation_ground")
    if not reason.strip():
        raise InvalidInput(_("请写明撤销的依据和说明。"), code="reason_required")
    day = today()
    with transaction.atomic():
        case: Case = case_locked(case_id, actor)
        handling_officer(case, actor, day)
        decision = Decision.objects.select_for_update().filter(case=case).first()
        if decision is None:
            raise Conflict(_("本案尚未作出决定。"), code="not_decided")
        if decision.revoked:
            raise Conflict(_("本案的决定已撤销。"), code="already_revoked")
        decision.revoked_on = day
        decision.revoked_ground = ground
        decision.revoked_reason = reason.strip()
        decision.revoked_by = actor
        decision.save(
            update_fields=["revoked_on", "revoked_ground", "revoked_reason", "revoked_by"]
        )
        audit_record(
            actor=Actor.user(actor),
            action="case.decision_revoked",
            object_type="case",
            object_id=case.pk,
            data={"decision_id": decision.pk, "ground": ground, "reason": decision.revoked_reason},
        )
        decision_id = decision.pk
        transaction.on_commit(lambda: DECISION_REVOKED.fire(decision_id))
    return decision
