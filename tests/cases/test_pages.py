"""The cases pages: a case walked through the forms by the officer, the legal officer and
the leader; refusals as 4xx pages with the Chinese message; English; query budgets on the
list, the case page (with many activities) and the review queue."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from backend.accounts.models import Role
from backend.cases.models import Case, DocumentKind, LegalReview, ReviewState
from backend.cases.services import REVIEW_POINTS, case_activity_link
from tests.cases.conftest import World, add_materials, open_case, pdf

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_officer_opens_a_case_and_a_refusal_reads_in_chinese(case_world: World) -> None:
    world = case_world
    officer = _client(world.users[Role.FIELD_OFFICER])
    assert officer.get("/cases/new/").status_code == 200
    response = officer.post(
        "/cases/new/",
        {
            "category": "行政处罚",
            "matter": "违规执业",
            "party_name": "张某",
            "party_kind": "natural",
            "needs_review": "on",
            "officers": [str(world.extra["partner"].pk)],
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    page = officer.get(f"/cases/{case.pk}/").content.decode()
    assert case.number in page and "赵协查" in page
    refused = officer.post(f"/cases/{case.pk}/submit/", {"leader_agreed_by": "李局长"})
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "送审材料不齐" in text and "调查终结报告" in text
    upload = officer.post(
        f"/cases/{case.pk}/document/",
        {
            "kind": DocumentKind.INVESTIGATION_REPORT,
            "title": "调查终结报告",
            "file": SimpleUploadedFile("r.pdf", pdf("r"), content_type="application/pdf"),
        },
    )
    assert upload.status_code == 302
    assert case.documents.count() == 1
    early = officer.post(
        f"/cases/{case.pk}/decide/",
        {"kind": "penalty", "document_number": "1", "summary": "罚款", "legal_basis": "某法"},
    )
    assert early.status_code == 409 and "须经法制审核" in early.content.decode()
    officer.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = officer.get(f"/cases/{case.pk}/").content.decode()
    assert "Add evidence" in english and "Submit for legal review" in english


def test_legal_officer_asks_for_more_then_agrees_and_leader_extends(case_world: World) -> None:
    world = case_world
    officer = _client(world.users[Role.FIELD_OFFICER])
    legal = _client(world.users[Role.LEGAL_OFFICER])
    leader = _client(world.bureau_head)
    case = open_case(world)
    add_materials(world, case)
    assert (
        officer.post(f"/cases/{case.pk}/submit/", {"leader_agreed_by": "李局长"}).status_code == 302
    )
    review = LegalReview.objects.get(case=case)
    queue = legal.get("/cases/reviews/").content.decode()
    assert case.number in queue and review.due_on.isoformat() in queue  # type: ignore[union-attr]
    assert legal.get(f"/cases/reviews/{review.pk}/").status_code == 200
    asked = legal.post(
        f"/cases/reviews/{review.pk}/pause/", {"reason": "supplement", "note": "补充笔录"}
    )
    assert asked.status_code == 302
    assert "要求补充材料" in officer.get(f"/cases/{case.pk}/").content.decode()
    assert leader.post(f"/cases/reviews/{review.pk}/extend/", {"reason": "复杂"}).status_code == 302
    twice = leader.post(f"/cases/reviews/{review.pk}/extend/", {"reason": "再延"})
    assert twice.status_code == 409 and "不能再延长" in twice.content.decode()
    officer.post(
        f"/cases/{case.pk}/document/",
        {
            "kind": DocumentKind.SUPPLEMENT,
            "title": "现场检查笔录",
            "file": SimpleUploadedFile("n.pdf", pdf("n"), content_type="application/pdf"),
        },
    )
    review.refresh_from_db()
    assert review.state == ReviewState.SUBMITTED
    opinion = {f"point_{key}": "符合" for key in REVIEW_POINTS}
    agreed = legal.post(
        f"/cases/reviews/{review.pk}/opinion/", {**opinion, "opinion": "agree", "reasons": "同意"}
    )
    assert agreed.status_code == 302
    decided = officer.post(
        f"/cases/{case.pk}/decide/",
        {
            "kind": "penalty",
            "document_number": "平司罚决〔2026〕1号",
            "summary": "罚款",
            "legal_basis": "某法",
        },
    )
    assert decided.status_code == 302
    pdf_response = officer.get(f"/cases/{case.pk}/file.pdf")
    assert pdf_response.status_code == 200 and pdf_response.content.startswith(b"%PDF")


def test_query_budgets(case_world: World, django_assert_max_num_queries: Any) -> None:
    from django.utils import timezone

    from backend.enforcement.models import Activity

    world = case_world
    officer_user = world.users[Role.FIELD_OFFICER]
    case = open_case(world)
    add_materials(world, case)
    for n in range(20):
        activity = Activity.objects.create(
            category="行政处罚",
            stage="调查取证",
            unit=world.office,
            started_at=timezone.now(),
            state="open",
            place=f"现场{n}",
        )
        case_activity_link(actor=officer_user, case_id=case.pk, activity_id=str(activity.pk))
    for _n in range(3):
        open_case(world)
    officer = _client(officer_user)
    with django_assert_max_num_queries(12):
        assert officer.get("/cases/").status_code == 200
    with django_assert_max_num_queries(22):
        page = officer.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert len(re.findall(r"调查取证</a>", page.content.decode())) == 20
    officer.post(f"/cases/{case.pk}/submit/", {"leader_agreed_by": "李局长"})
    legal = _client(world.users[Role.LEGAL_OFFICER])
    with django_assert_max_num_queries(10):
        assert legal.get("/cases/reviews/").status_code == 200
    review = LegalReview.objects.get(case=case)
    with django_assert_max_num_queries(24):
        assert legal.get(f"/cases/reviews/{review.pk}/").status_code == 200
