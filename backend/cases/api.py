"""Cases (执法案卷) and their decisions: reads for the signed-in roles of a unit, and the
decision, refused with 409 `review_required` until the legal review agreed."""

from __future__ import annotations

import datetime
import uuid

from django.http import HttpRequest
from ninja import Router, Status
from ninja.security import django_auth

from backend.accounts.models import User
from backend.cases import selectors
from backend.cases.models import Case, Decision
from backend.cases.schemas import (
    ActivityVerdictOut,
    CaseOut,
    CasePageOut,
    CaseSummaryOut,
    DecisionIn,
    DecisionOut,
    DocumentOut,
    ReviewOut,
    RevocationIn,
)
from backend.cases.services import decision_record, decision_revoke
from backend.config.errors import InvalidInput, NotFound, PermissionDenied

router = Router(tags=["cases"], auth=django_auth)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if not selectors.may_see_cases(user):
        raise PermissionDenied(
            "cases are for field officers, supervisors, legal officers and system administrators"
        )
    return user


def _summary(case: Case) -> CaseSummaryOut:
    return CaseSummaryOut(
        id=case.pk,
        number=case.number,
        category=case.category,
        matter=case.matter,
        party_name=case.party_name,
        party_minor=case.party_minor,
        stage=case.stage,
        filed_on=case.filed_on,
        created_at=case.created_at,
    )


def _decision(decision: Decision) -> DecisionOut:
    case = decision.case
    return DecisionOut(
        id=decision.pk,
        case_id=case.pk,
        case_number=case.number,
        unit=case.unit.name,
        party_name=case.party_name,
        party_kind=case.party_kind,
        party_minor=case.party_minor,
        kind=decision.kind,
        document_number=decision.document_number,
        summary=decision.summary,
        legal_basis=decision.legal_basis,
        decided_on=decision.decided_on,
        revoked_on=decision.revoked_on,
        revoked_ground=decision.revoked_ground,
    )


@router.get("", response=CasePageOut, operation_id="cases_list")
def list_cases(request: HttpRequest, before: str | None = None, mine: bool = False) -> CasePageOut:
    """The caller's unit's cases, newest first, 50 a page: pass `older` back as `before`."""
    user = _user(request)
    cursor = None
    if before:
        try:
            stamp, key = before.rsplit("_", 1)
            cursor = (datetime.datetime.fromisoformat(stamp), uuid.UUID(key))
        except ValueError:
            raise InvalidInput("invalid cursor", code="invalid_cursor") from None
    rows = selectors.cases_page(user, before=cursor, mine=mine)
    more = len(rows) > selectors.PAGE_SIZE
    rows = rows[: selectors.PAGE_SIZE]
    older = f"{rows[-1].created_at.isoformat()}_{rows[-1].pk}" if more and rows else None
    return CasePageOut(cases=[_summary(c) for c in rows], older=older)


@router.get("decisions", response=list[DecisionOut], operation_id="cases_decisions")
def list_decisions(request: HttpRequest, since: datetime.date | None = None) -> list[DecisionOut]:
    """Decisions made in the caller's unit and below (since a date), oldest first."""
    user = _user(request)
    path = None if user.role == "system_admin" else (user.unit.path if user.unit else "/-/")
    return [_decision(d) for d in selectors.decisions_made(since=since, unit_path=path)[:500]]


@router.get("{case_id}", response=CaseOut, operation_id="cases_get")
def get_case(request: HttpRequest, case_id: uuid.UUID) -> CaseOut:
    """One case file: documents with their SHA-256, reviews with their clock, activities
    with their coverage verdicts, and which handling officers lacked a certificate."""
    user = _user(request)
    case = selectors.case_detail(user, case_id)
    if case is None:
        raise NotFound("no such case")
    coverage = selectors.case_coverage(case)
    return CaseOut(
        **_summary(case).dict(),
        needs_review=case.needs_review,
        officers=[o.name for o in case.officers.all()],
        archive_number=case.archive_number,
        archived_at=case.archived_at,
        documents=[
            DocumentOut(
                id=d.pk,
                kind=d.kind,
                title=d.title,
                sha256=d.sha256,
                size_bytes=d.size_bytes,
                uploaded_at=d.uploaded_at,
                replaces_id=d.replaces_id,
            )
            for d in case.documents.all()
        ],
        reviews=[
            ReviewOut(
                id=r.pk,
                state=r.state,
                received_on=r.received_on,
                due_on=r.due_on,
                due_provisional=r.due_provisional,
                paused_working_days=r.paused_working_days,
                extended=r.extended_by_id is not None,
                late_submission=r.late_submission,
                opinion=r.opinion,
                opinion_reasons=r.opinion_reasons,
            )
            for r in case.reviews.all()
        ],
        activities=[
            ActivityVerdictOut(
                activity_id=row["activity"].pk,  # type: ignore[attr-defined]
                verdict=str(row["verdict"]),
                verdict_label_zh=str(row["label"]),
                recording_ids=[r.pk for r in row["recordings"]],  # type: ignore[attr-defined]
            )
            for row in coverage.rows
        ],
        all_recorded=coverage.all_recorded,
        uncertified_officers=coverage.uncertified,
    )


@router.post(
    "{case_id}/decision", response={201: DecisionOut}, operation_id="cases_decision_record"
)
def record_decision(request: HttpRequest, case_id: uuid.UUID, body: DecisionIn) -> Status:
    """Record the decision (决定) of a case, by one of its certified handling officers. A case
    that needs legal review answers 409 `review_required` until the review said 同意."""
    user = _user(request)
    decision = decision_record(
        actor=user,
        case_id=case_id,
        kind=body.kind,
        document_number=body.document_number,
        summary=body.summary,
        legal_basis=body.legal_basis,
    )
    return Status(201, _decision(Decision.objects.select_related("case__unit").get(pk=decision.pk)))


@router.post(
    "{case_id}/decision/revoke", response=DecisionOut, operation_id="cases_decision_revoke"
)
def revoke_decision(request: HttpRequest, case_id: uuid.UUID, body: RevocationIn) -> DecisionOut:
    """Record that the case's decision was revoked, found unlawful or must be re-made (a
    handling officer); the public site withdraws it at once. 409 `not_decided` /
    `already_revoked`."""
    user = _user(request)
    decision = decision_revoke(actor=user, case_id=case_id, ground=body.ground, reason=body.reason)
    return _decision(Decision.objects.select_related("case__unit").get(pk=decision.pk))
