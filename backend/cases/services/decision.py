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
