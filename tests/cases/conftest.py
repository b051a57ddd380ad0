"""A bureau with a certified handling officer, a second one, a trained and certified legal
officer, a leader, and the review world's users, recordings and units."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.cases.models import DocumentKind, ReviewerQualification
from backend.cases.services import CaseInput, case_document_add, case_open
from tests.factories import make_officer
from tests.review.conftest import World, world

__all__ = ["World", "world"]

MATERIALS = (
    DocumentKind.INVESTIGATION_REPORT,
    DocumentKind.DECISION_PROPOSAL,
    DocumentKind.DRAFT_DECISION,
    DocumentKind.EVIDENCE_BASIS,
)


def pdf(text: str) -> bytes:
    return f"%PDF-1.4\n% {text}\n".encode()


@pytest.fixture
def case_world(world: World) -> World:
    legal = world.users[Role.LEGAL_OFFICER]
    reviewer = make_officer(world.bureau, name="孙法制")
    reviewer.user = legal
    reviewer.save(update_fields=["user"])
    ReviewerQualification.objects.create(
        user=legal, trained_on=timezone.localdate() - datetime.timedelta(days=400)
    )
    world.extra["partner"] = make_officer(world.office, name="赵协查")
    return world


def open_case(world: World, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "category": "行政处罚",
        "matter": "未经许可从事法律服务",
        "party_name": "某法律咨询公司",
        "party_kind": "legal",
        "officer_ids": (world.extra["partner"].pk,),
    }
    data = CaseInput(**(fields | overrides))
    return case_open(actor=world.users[Role.FIELD_OFFICER], data=data)


def add_materials(world: World, case: Any, kinds: tuple[str, ...] = MATERIALS) -> None:
    for kind in kinds:
        case_document_add(
            actor=world.users[Role.FIELD_OFFICER],
            case_id=case.pk,
            kind=kind,
            title=str(DocumentKind(kind).label),
            file_name=f"{kind}.pdf",
            data=pdf(f"{case.pk} {kind}"),
        )
