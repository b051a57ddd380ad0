"""第十三条: the handling office disagrees with an opinion; the head decides, and only then
may the decision be recorded. The API answers every refusal in the one error shape."""

from __future__ import annotations

import pytest
from django.test import Client

from backend.accounts.models import Role
from backend.cases.models import Decision, ReviewState
from backend.cases.services import (
    REVIEW_POINTS,
    review_head_decide,
    review_object,
    review_opinion,
    review_submit,
)
from backend.config.errors import Conflict, PermissionDenied
from tests.cases.conftest import World, add_materials, open_case

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

POINTS = {key: "已审查" for key in REVIEW_POINTS}
DECISION = {
    "kind": "penalty",
    "document_number": "平司罚决〔2026〕3号",
    "summary": "罚款",
    "legal_basis": "某法",
}


def test_a_disagreement_goes_to_the_head_before_any_decision(case_world: World) -> None:
    world = case_world
    officer = world.users[Role.FIELD_OFFICER]
    case = open_case(world)
    add_materials(world, case)
    review = review_submit(actor=officer, case_id=case.pk, leader_agreed_by="李局长")
    review_opinion(
        actor=world.users[Role.LEGAL_OFFICER],
        review_id=review.pk,
        opinion="change",
        reasons="裁量基准适用不当",
        points=POINTS,
    )
    api = Client()
    api.force_login(officer)
    early = api.post(f"/api/cases/{case.pk}/decision", DECISION, content_type="application/json")
    assert early.status_code == 409
    assert early.json()["code"] == "review_required"
    assert set(early.json()) == {"code", "message", "details"}
    review_object(actor=officer, review_id=review.pk, objection="裁量适当，有先例")
    with pytest.raises(PermissionDenied):
        review_head_decide(actor=officer, review_id=review.pk, proceed=True, note="按承办意见")
    still = api.post(f"/api/cases/{case.pk}/decision", DECISION, content_type="application/json")
    assert still.status_code == 409
    decided = review_head_decide(
        actor=world.bureau_head, review_id=review.pk, proceed=True, note="经局长办公会研究"
    )
    assert decided.state == ReviewState.OPINION
    with pytest.raises(Conflict):
        review_head_decide(actor=world.bureau_head, review_id=review.pk, proceed=False, note="再")
    made = api.post(f"/api/cases/{case.pk}/decision", DECISION, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["case_number"] == case.number
    assert Decision.objects.filter(case=case).count() == 1
    listed = api.get("/api/cases/decisions").json()
    assert [d["document_number"] for d in listed] == ["平司罚决〔2026〕3号"]
    detail = api.get(f"/api/cases/{case.pk}").json()
    assert detail["stage"] == "decided" and len(detail["documents"]) == 5  # + opinion letter
    bad = api.post(
        f"/api/cases/{case.pk}/decision", {"kind": "penalty"}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    other = Client()
    other.force_login(world.other_users[Role.FIELD_OFFICER])
    assert other.get(f"/api/cases/{case.pk}").status_code == 404
