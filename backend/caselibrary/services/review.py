"""The review chain (逐级审核): the author signs and submits; each level (its bureau, the
city, the province, as the unit tree is configured) approves, returns with comments or
rejects under the reviewer's real name; the last approval accepts the case into the
library, freezing its de-identified text. Every step audited; history never deleted."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.caselibrary.models import (
    EDITABLE_STATES,
    LibraryCase,
    LibraryState,
    ReviewAction,
    ReviewEntry,
    ReviewLevel,
)
from backend.caselibrary.search import index_text
from backend.caselibrary.services.common import (
    REVIEWER_ROLES,
    case_locked,
    require_author,
    review_chain,
    signed_name,
)
from backend.caselibrary.services.deidentify import detector_findings, masked_sections
from backend.config.errors import Conflict, InvalidInput, PermissionDenied

VERDICTS = (ReviewAction.APPROVE, ReviewAction.RETURN, ReviewAction.REJECT)


def library_case_submit(*, actor: User, case_id: uuid.UUID | str) -> LibraryCase:
    """Sign and send to the first level; refused while the detector finds an identifier."""
    with transaction.atomic():
        case = case_locked(case_id, actor)
        require_author(case, actor)
        if case.state not in EDITABLE_STATES:
            raise Conflict(_("案例已报送。"), code="not_editable")
        name = signed_name(actor)
        findings = detector_findings(case)
        if findings:
            raise Conflict(
                _("仍有%(n)s处未隐去的身份信息，请先脱敏再报送。") % {"n": len(findings)},
                code="identifiers_found",
                details={"kinds": sorted({f.kind for f in findings}), "count": len(findings)},
            )
        chain = review_chain(case.author_unit)
        if not chain:
            raise Conflict(_("编写单位之上没有可评审的司法局。"), code="no_review_chain")
        ReviewLevel.objects.get_or_create(case=case, level=0, defaults={"unit": chain[0]})
        case.state = LibraryState.IN_REVIEW
        case.level = 0
        case.author_name = name
        case.submitted_at = timezone.now()
        case.save(update_fields=["state", "level", "author_name", "submitted_at", "updated_at"])
        ReviewEntry.objects.create(
            case=case,
            action=ReviewAction.SUBMIT,
            level=0,
            unit=case.author_unit,
            by=actor,
            by_name=name,
        )
        audit_record(
            actor=Actor.user(actor),
            action="library_case.submitted",
            object_type="library_case",
            object_id=case.pk,
            data={"level_unit": chain[0].pk, "signed_by": name},
        )
    return case


def library_case_review(
    *, actor: User, case_id: uuid.UUID | str, verdict: str, comments: str = ""
) -> LibraryCase:
    comments = comments.strip()
    if verdict not in VERDICTS:
        raise InvalidInput(_("未知的审核结论。"), code="invalid_verdict")
    if verdict != ReviewAction.APPROVE and not comments:
        raise InvalidInput(_("退回或不予入库须写明意见。"), code="comments_required")
    if len(comments) > 5000:
        raise InvalidInput(_("意见最多5000字。"), code="comments_too_long")
    with transaction.atomic():
        case = case_locked(case_id, actor)
        if case.state != LibraryState.IN_REVIEW:
            raise Conflict(_("案例不在评审中。"), code="not_in_review")
        chain = review_chain(case.author_unit)
        if case.level >= len(chain):
            raise Conflict(_("评审层级已变化，请联系管理员。"), code="chain_changed")
        unit = chain[case.level]
        if actor.role not in REVIEWER_ROLES or actor.unit_id != unit.pk:
            raise PermissionDenied(
                _("该案例正待%(unit)s评审。") % {"unit": unit.name}, code="not_your_level"
            )
        if actor.pk == case.author_id:
            raise PermissionDenied(_("编写人不能评审自己的案例。"), code="author_cannot_review")
        name = signed_name(actor)
        ReviewEntry.objects.create(
            case=case,
            action=verdict,
            level=case.level,
            unit=unit,
            by=actor,
            by_name=name,
            comments=comments,
        )
        action = "library_case.approved"
        if verdict == ReviewAction.RETURN:
            case.state, case.level = LibraryState.RETURNED, 0
            action = "library_case.returned"
        elif verdict == ReviewAction.REJECT:
            case.state = LibraryState.REJECTED
            action = "library_case.rejected"
        elif case.level + 1 < len(chain):
            case.level += 1
            ReviewLevel.objects.get_or_create(
                case=case, level=case.level, defaults={"unit": chain[case.level]}
            )
        else:
            _accept(case)
            action = "library_case.accepted"
        case.save()
        audit_record(
            actor=Actor.user(actor),
            action=action,
            object_type="library_case",
            object_id=case.pk,
            data={"level": case.level, "unit": unit.pk, "reviewer": name, "note": comments[:500]},
        )
    return case


def _accept(case: LibraryCase) -> None:
    """Freeze what the library shows: the de-identified text, and its index."""
    public = masked_sections(case, list(case.redactions.all()))
    case.public_title = public["title"][:200]
    case.public_facts = public["facts"]
    case.public_handling = public["handling"]
    case.public_analysis = public["analysis"]
    case.search_terms = index_text("\n".join(public.values()))
    case.state = LibraryState.ACCEPTED
    case.accepted_at = timezone.now()
