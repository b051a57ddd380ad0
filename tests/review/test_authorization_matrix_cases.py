"""The authorization matrix of the cases app (执法案卷与法制审核), cell by cell for the 7 roles,
a device token and anonymous, on a case of the caller's own bureau and of another bureau.

Rules the expectations follow (backend/cases): cases are read by field officers,
supervisors, legal officers and the system administrator of the unit and the units above
it; another unit's case answers 404 like an unknown one; writes on a case are its certified
handling officers' (others: 403); reviews are the legal officers' (and the leaders' for
extensions and disagreements); pages redirect the signed-out to the sign-in page.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.cases.models import CaseDocument, DocumentKind, ReviewerQualification
from backend.cases.services import CaseInput, case_document_add, case_open, review_submit
from tests.factories import make_officer
from tests.review.conftest import World
from tests.review.test_authorization_matrix import (
    API,
    PAGE,
    Cell,
    Ctx,
    matrix_world,
    roles,
    run_matrix,
)

pytestmark = pytest.mark.django_db

__all__ = ["matrix_world"]

FO, CO, SUP, LEGAL, STORE, AUD, SYS = (
    Role.FIELD_OFFICER,
    Role.CORRECTION_OFFICER,
    Role.SUPERVISOR,
    Role.LEGAL_OFFICER,
    Role.STORAGE_ADMIN,
    Role.AUDITOR,
    Role.SYSTEM_ADMIN,
)
READERS = (FO, SUP, LEGAL, SYS)
QUEUE = (SUP, LEGAL, SYS)


def _case(ctx: Ctx) -> Any:
    users = ctx.world.users if ctx.side == "own" else ctx.world.other_users
    return case_open(
        actor=users[FO],
        data=CaseInput(
            category="行政处罚", matter="矩阵", party_name="矩阵公司", party_kind="legal"
        ),
    )


def case_id(ctx: Ctx) -> str:
    return str(_case(ctx).pk)


def _document(ctx: Ctx, case: Any, kind: str) -> CaseDocument:
    users = ctx.world.users if ctx.side == "own" else ctx.world.other_users
    return case_document_add(
        actor=users[FO],
        case_id=case.pk,
        kind=kind,
        title="矩阵",
        file_name="m.pdf",
        data=f"%PDF-1.4 matrix {kind}".encode(),
    )


def document_id(ctx: Ctx) -> str:
    return str(_document(ctx, _case(ctx), DocumentKind.OTHER).pk)


def review_id(ctx: Ctx) -> str:
    users = ctx.world.users if ctx.side == "own" else ctx.world.other_users
    case = _case(ctx)
    for kind in (
        DocumentKind.INVESTIGATION_REPORT,
        DocumentKind.DECISION_PROPOSAL,
        DocumentKind.DRAFT_DECISION,
        DocumentKind.EVIDENCE_BASIS,
    ):
        _document(ctx, case, kind)
    return str(review_submit(actor=users[FO], case_id=case.pk, leader_agreed_by="矩阵").pk)


def readers(status: int = 200, *, refused: int = 404, own: tuple[str, ...] = READERS) -> Any:
    """Own bureau: `own` roles get `status`, the others `refused`; another bureau: the
    system administrator gets `status`, everyone else 404."""
    return roles(
        {r: status for r in own}, {SYS: status}, default=refused, other_default=404, **PAGE
    )


def page_roles(allowed: tuple[str, ...], status: int = 200) -> Any:
    return roles({r: status for r in allowed}, default=403, **PAGE)


DECISION = {
    "kind": "penalty",
    "document_number": "矩阵决〔2026〕1号",
    "summary": "矩阵",
    "legal_basis": "矩阵",
}

CASES_MATRIX: dict[str, Cell] = {
    "GET /cases/": Cell("GET", lambda c: "/cases/", page_roles(READERS), sided=False),
    "GET /cases/new/": Cell("GET", lambda c: "/cases/new/", page_roles((FO,)), sided=False),
    "POST /cases/new/": Cell(
        "POST",
        lambda c: "/cases/new/",
        page_roles((FO,), 302),
        body=lambda c: {
            "category": "行政处罚",
            "matter": "矩阵",
            "party_name": "矩阵",
            "party_kind": "natural",
        },
        form=True,
        sided=False,
    ),
    # The review catalogue: GET the import form, POST an empty form (400), the XLSX export.
    "GET /cases/catalogue/": Cell(
        "GET", lambda c: "/cases/catalogue/", page_roles((SUP, LEGAL, SYS)), sided=False
    ),
    "POST /cases/catalogue/": Cell(
        "POST",
        lambda c: "/cases/catalogue/",
        page_roles((SUP, LEGAL, SYS), 400),
        form=True,
        sided=False,
    ),
    "GET /cases/catalogue.xlsx": Cell(
        "GET", lambda c: "/cases/catalogue.xlsx", page_roles((SUP, LEGAL, SYS)), sided=False
    ),
    "GET /cases/<uuid:case_id>/": Cell("GET", lambda c: f"/cases/{case_id(c)}/", readers()),
    "GET /cases/<uuid:case_id>/file.pdf": Cell(
        "GET", lambda c: f"/cases/{case_id(c)}/file.pdf", readers()
    ),
    # Deciding before the review agreed: the handling officer gets 409; other readers are
    # no handling officers (403); roles that do not see cases, and another bureau, 404.
    "POST /cases/<uuid:case_id>/<slug:action>/": Cell(
        "POST",
        lambda c: f"/cases/{case_id(c)}/decide/",
        roles(
            {FO: 409, SUP: 403, LEGAL: 403, SYS: 403},
            {SYS: 403},
            default=404,
            other_default=404,
            **PAGE,
        ),
        body=lambda c: DECISION,
        form=True,
    ),
    "GET /cases/documents/<uuid:document_id>/": Cell(
        "GET", lambda c: f"/cases/documents/{document_id(c)}/", readers()
    ),
    "GET /cases/reviews/": Cell("GET", lambda c: "/cases/reviews/", page_roles(QUEUE), sided=False),
    "GET /cases/reviews/<int:review_id>/": Cell(
        "GET", lambda c: f"/cases/reviews/{review_id(c)}/", readers(own=QUEUE)
    ),
    # An extension: the leaders' (a supervisor of another bureau does not find the review).
    "POST /cases/reviews/<int:review_id>/<slug:action>/": Cell(
        "POST",
        lambda c: f"/cases/reviews/{review_id(c)}/extend/",
        roles(
            {SUP: 302, SYS: 302},
            {SUP: 404, SYS: 302},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {"reason": "矩阵"},
        form=True,
    ),
    "GET /cases/register/": Cell(
        "GET", lambda c: "/cases/register/", page_roles(READERS), sided=False
    ),
    "GET /cases/register.xlsx": Cell(
        "GET", lambda c: "/cases/register.xlsx", page_roles(READERS), sided=False
    ),
    "GET /cases/supervision/": Cell(
        "GET", lambda c: "/cases/supervision/", page_roles((SUP, SYS)), sided=False
    ),
    "GET /api/cases/": Cell(
        "GET",
        lambda c: "/api/cases/",
        roles({r: 200 for r in READERS}, default=403, **API),
        sided=False,
    ),
    "GET /api/cases/decisions": Cell(
        "GET",
        lambda c: "/api/cases/decisions",
        roles({r: 200 for r in READERS}, default=403, **API),
        sided=False,
    ),
    "GET /api/cases/{case_id}": Cell(
        "GET",
        lambda c: f"/api/cases/{case_id(c)}",
        roles(
            {r: 200 for r in READERS},
            {SYS: 200, FO: 404, SUP: 404, LEGAL: 404},
            default=403,
            other_default=403,
            **API,
        ),
    ),
    "POST /api/cases/{case_id}/decision": Cell(
        "POST",
        lambda c: f"/api/cases/{case_id(c)}/decision",
        roles(
            {FO: 409},
            {FO: 404, SUP: 404, LEGAL: 404},
            default=403,
            other_default=403,
            **API,
        ),
        body=lambda c: DECISION,
    ),
    "POST /api/cases/{case_id}/decision/revoke": Cell(
        "POST",
        lambda c: f"/api/cases/{case_id(c)}/decision/revoke",
        roles(
            {FO: 409},
            {FO: 404, SUP: 404, LEGAL: 404},
            default=403,
            other_default=403,
            **API,
        ),
        body=lambda c: {"ground": "revoked", "reason": "复议决定撤销"},
    ),
}


@pytest.fixture
def cases_world(matrix_world: World) -> World:
    """The legal officer is a certified, trained reviewer of the own bureau."""
    legal = matrix_world.users[LEGAL]
    officer = make_officer(matrix_world.bureau, name="矩阵法制")
    officer.user = legal
    officer.save(update_fields=["user"])
    ReviewerQualification.objects.create(user=legal, trained_on=timezone.localdate())
    return matrix_world


def test_cases_authorization_matrix(cases_world: World) -> None:
    run_matrix(cases_world, CASES_MATRIX)
