"""The case file and the legal review through their services: every refusal of the issue
(missing materials, a reviewer who handled the case or is uncertified, a decision before
review, an extension asked twice, changed bytes, an archived file), nothing half-written."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from backend.accounts.models import Officer, Role
from backend.audit.models import AuditEvent
from backend.cases.models import (
    Case,
    CaseDocument,
    CaseStage,
    Decision,
    DocumentKind,
    LegalReview,
    ReviewState,
)
from backend.cases.selectors import decision_get, decisions_made
from backend.cases.services import (
    DECISION_MADE,
    REVIEW_POINTS,
    case_archive,
    case_document_add,
    case_number,
    case_stage_advance,
    decision_record,
    document_read,
    review_extend,
    review_opinion,
    review_pause,
    review_submit,
    review_take,
)
from backend.config.errors import Conflict, InvalidInput, PermissionDenied
from backend.footage.storage import object_store
from tests.cases.conftest import World, add_materials, open_case, pdf

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

POINTS = {key: "已审查，无问题" for key in REVIEW_POINTS}


def _decide(world: World, case: Case) -> Decision:
    return decision_record(
        actor=world.users[Role.FIELD_OFFICER],
        case_id=case.pk,
        kind="penalty",
        document_number="平司罚决〔2026〕1号",
        summary="罚款五千元",
        legal_basis="《法律服务所管理办法》",
    )


def test_numbers_are_unique_per_bureau_and_year_in_the_configured_format(
    case_world: World,
) -> None:
    first, second = open_case(case_world), open_case(case_world)
    year = timezone.localdate().year
    assert (first.sequence, second.sequence) == (1, 2)
    assert second.number == f"{settings.FV_CASE_NUMBER_PREFIX}〔{year}〕2号"
    assert case_number(prefix="平司罚", year=2026, sequence=12) == "平司罚〔2026〕12号"
    assert set(first.officers.values_list("name", flat=True)) == {"王执法", "赵协查"}
    assert first.stage == CaseStage.FILED


def test_uncertified_officers_cannot_handle_or_be_named(case_world: World) -> None:
    world = case_world
    Officer.objects.filter(pk=world.extra["partner"].pk).update(
        certificate_valid_until=timezone.localdate() - datetime.timedelta(days=1)
    )
    with pytest.raises(InvalidInput) as named:
        open_case(world)
    assert named.value.code == "officers_uncertified" and "赵协查" in named.value.message
    Officer.objects.filter(pk=world.officer.pk).update(certificate_number=None)
    with pytest.raises(PermissionDenied) as acting:
        open_case(world)
    assert acting.value.code == "certificate_invalid"
    assert not Case.objects.exists()


def test_a_submission_missing_materials_is_refused_by_name(case_world: World) -> None:
    world = case_world
    case = open_case(world)
    add_materials(world, case, (DocumentKind.INVESTIGATION_REPORT, DocumentKind.DRAFT_DECISION))
    with pytest.raises(InvalidInput) as refused:
        review_submit(
            actor=world.users[Role.FIELD_OFFICER], case_id=case.pk, leader_agreed_by="李局长"
        )
    assert refused.value.status == 400 and refused.value.code == "materials_missing"
    assert "决定建议及情况说明" in refused.value.message
    assert "证据和法律依据" in refused.value.message
    assert "调查终结报告" not in refused.value.message
    assert not LegalReview.objects.exists()
    with pytest.raises(InvalidInput) as no_leader:
        review_submit(actor=world.users[Role.FIELD_OFFICER], case_id=case.pk, leader_agreed_by=" ")
    assert no_leader.value.code == "leader_agreement_required"


def test_no_decision_before_review_agrees(case_world: World) -> None:
    world = case_world
    case = open_case(world)
    add_materials(world, case)
    with pytest.raises(Conflict) as early:
        _decide(world, case)
    assert early.value.code == "review_required"
    review = review_submit(
        actor=world.users[Role.FIELD_OFFICER], case_id=case.pk, leader_agreed_by="李局长"
    )
    with pytest.raises(Conflict):
        _decide(world, case)
    legal = world.users[Role.LEGAL_OFFICER]
    review_opinion(
        actor=legal, review_id=review.pk, opinion="change", reasons="裁量不当", points=POINTS
    )
    with pytest.raises(Conflict) as changed:
        _decide(world, case)
    assert changed.value.code == "review_required"
    assert not Decision.objects.exists()


def test_reviewers_who_handled_the_case_or_lack_certificate_or_training_are_refused(
    case_world: World,
) -> None:
    world = case_world
    case = open_case(world)
    add_materials(world, case)
    review = review_submit(
        actor=world.users[Role.FIELD_OFFICER], case_id=case.pk, leader_agreed_by="李局长"
    )
    legal = world.users[Role.LEGAL_OFFICER]
    reviewer = Officer.objects.get(user=legal)
    case.officers.add(reviewer)
    with pytest.raises(PermissionDenied) as handled:
        review_take(actor=legal, review_id=review.pk)
    assert handled.value.code == "reviewer_handled_case"
    case.officers.remove(reviewer)
    legal.reviewer_qualification.suspended = True
    legal.reviewer_qualification.save()
    with pytest.raises(PermissionDenied) as untrained:
        review_take(actor=legal, review_id=review.pk)
    assert untrained.value.code == "reviewer_not_qualified"
    legal.reviewer_qualification.suspended = False
    legal.reviewer_qualification.save()
    Officer.objects.filter(pk=reviewer.pk).update(
        certificate_valid_until=timezone.localdate() - datetime.timedelta(days=1)
    )
    with pytest.raises(PermissionDenied) as expired:
        review_opinion(
            actor=legal, review_id=review.pk, opinion="agree", reasons="同意", points=POINTS
        )
    assert expired.value.code == "certificate_invalid"
    with pytest.raises(PermissionDenied):
        review_take(actor=world.users[Role.SUPERVISOR], review_id=review.pk)
    assert LegalReview.objects.get(pk=review.pk).reviewer_id is None


def test_an_extension_is_granted_once_by_a_leader(case_world: World) -> None:
    world = case_world
    case = open_case(world)
    add_materials(world, case)
    review = review_submit(
        actor=world.users[Role.FIELD_OFFICER], case_id=case.pk, leader_agreed_by="李局长"
    )
    with pytest.raises(PermissionDenied):
        review_extend(actor=world.users[Role.LEGAL_OFFICER], review_id=review.pk, reason="复杂")
    before = review.due_on
    extended = review_extend(actor=world.bureau_head, review_id=review.pk, reason="案情复杂")
    assert extended.due_on is not None and before is not None and extended.due_on > before
    with pytest.raises(Conflict) as twice:
        review_extend(actor=world.bureau_head, review_id=review.pk, reason="再延")
    assert twice.value.code == "already_extended"
    assert LegalReview.objects.get(pk=review.pk).due_on == extended.due_on


def test_document_bytes_changed_after_upload_are_detected_and_versions_are_new_documents(
    case_world: World,
) -> None:
    world = case_world
    case = open_case(world)
    add_materials(world, case, (DocumentKind.INVESTIGATION_REPORT,))
    first = CaseDocument.objects.get(case=case)
    assert document_read(first) == pdf(f"{case.pk} {DocumentKind.INVESTIGATION_REPORT}")
    head = object_store().head(settings.FV_ORIGINALS_BUCKET, first.storage_key)
    assert head is not None and head["ObjectLockMode"] == "COMPLIANCE"
    second = case_document_add(
        actor=world.users[Role.FIELD_OFFICER],
        case_id=case.pk,
        kind=DocumentKind.INVESTIGATION_REPORT,
        title="调查终结报告（修改稿）",
        file_name="report-v2.pdf",
        data=pdf("v2"),
        replaces_id=str(first.pk),
    )
    assert second.replaces_id == first.pk and second.sha256 != first.sha256
    assert CaseDocument.objects.get(pk=first.pk).sha256 == first.sha256  # never altered
    # Bytes that differ from what was received are never served as the document.
    CaseDocument.objects.filter(pk=first.pk).update(storage_key=second.storage_key)
    tampered = CaseDocument.objects.get(pk=first.pk)
    tampered.storage_version_id = second.storage_version_id
    with pytest.raises(Conflict) as mismatch:
        document_read(tampered)
    assert mismatch.value.code == "document_hash_mismatch"
    with pytest.raises(InvalidInput) as exe:
        case_document_add(
            actor=world.users[Role.FIELD_OFFICER],
            case_id=case.pk,
            kind=DocumentKind.OTHER,
            title="程序",
            file_name="x.exe",
            data=b"MZ",
        )
    assert exe.value.code == "unsupported_document_type"


def test_from_filing_to_archive_with_a_request_for_more_material(
    case_world: World, django_capture_on_commit_callbacks
) -> None:
    world = case_world
    officer, legal = world.users[Role.FIELD_OFFICER], world.users[Role.LEGAL_OFFICER]
    fired: list[int] = []
    wired = DECISION_MADE.receivers
    DECISION_MADE.connect((*wired, fired.append))
    try:
        case = open_case(world)
        add_materials(world, case)
        review = review_submit(actor=officer, case_id=case.pk, leader_agreed_by="李局长")
        assert review.due_on is not None
        review_pause(
            actor=legal, review_id=review.pk, reason="supplement", note="请补充现场检查笔录"
        )
        with pytest.raises(Conflict):
            review_opinion(
                actor=legal, review_id=review.pk, opinion="agree", reasons="同意", points=POINTS
            )
        case_document_add(
            actor=officer,
            case_id=case.pk,
            kind=DocumentKind.SUPPLEMENT,
            title="现场检查笔录",
            file_name="note.jpg",
            data=b"\xff\xd8\xff supplement",
        )
        review.refresh_from_db()
        assert review.state == ReviewState.SUBMITTED  # the supplement restarted the clock
        with pytest.raises(InvalidInput) as unrecorded:
            review_opinion(
                actor=legal, review_id=review.pk, opinion="agree", reasons="同意", points={}
            )
        assert unrecorded.value.code == "review_points_missing"
        review_opinion(
            actor=legal, review_id=review.pk, opinion="agree", reasons="事实清楚", points=POINTS
        )
        letter = CaseDocument.objects.get(case=case, kind=DocumentKind.OPINION_LETTER)
        assert document_read(letter).startswith(b"%PDF")
        with django_capture_on_commit_callbacks(execute=True):
            decision = _decide(world, case)
        assert fired == [decision.pk]
        assert decision_get(decision.pk) is not None
        assert list(decisions_made(unit_path=world.bureau.path)) == [decision]
        for stage in (CaseStage.DELIVERED, CaseStage.EXECUTED, CaseStage.CLOSED):
            case_stage_advance(actor=officer, case_id=case.pk, to=stage)
        case.refresh_from_db()
        assert case.archive_by == case.closed_on + datetime.timedelta(days=30)  # type: ignore[operator]
        case_archive(actor=officer, case_id=case.pk, archive_number="平司档2026-001")
    finally:
        DECISION_MADE.connect(wired)  # as the registry wired it
    documents = CaseDocument.objects.count()
    with pytest.raises(Conflict) as frozen:
        case_document_add(
            actor=officer,
            case_id=case.pk,
            kind=DocumentKind.OTHER,
            title="事后补充",
            file_name="late.pdf",
            data=pdf("late"),
        )
    assert frozen.value.status == 409 and frozen.value.code == "case_archived"
    assert CaseDocument.objects.count() == documents
    actions = set(
        AuditEvent.objects.filter(object_type="case", object_id=str(case.pk)).values_list(
            "action", flat=True
        )
    )
    assert {
        "case.opened",
        "case.document_added",
        "case.review_submitted",
        "case.review_paused",
        "case.review_resumed",
        "case.review_opinion",
        "case.decided",
        "case.stage_entered",
        "case.archived",
    } <= actions
