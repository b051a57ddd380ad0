"""The authorization matrix of the case library (案例库), cell by cell for the 7 roles, a
device token and anonymous, on a case of the caller's own bureau and of another bureau.
`test_every_endpoint_is_in_the_matrix` reads CASELIBRARY_MATRIX too.

Rules the expectations follow (seed 000, 从选编到入库前，每个案例要严格保密;
backend/caselibrary/services/common.py):
- The library of accepted cases: every signed-in role (200).
- A case not yet accepted exists only for its author unit (field, correction, legal officers
  and supervisors of that unit) and the reviewers of the levels it reached: everyone else
  — the storage administrator, the auditor, the system administrator, another bureau —
  gets 404, as for an unknown case (no existence leak).
- Starting a case: the author roles (403 for the others); the source must be visible to the
  caller (a correction subject: correction officers and supervisors; else 404).
- A verdict: the reviewers (supervisors, legal officers) of the level the case waits at;
  author-unit staff who are not reviewers 403.
- Pages signed out: to the sign-in page (302).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.utils import timezone

from backend.accounts.models import Role, UnitKind, User
from backend.caselibrary.services import library_case_start, library_case_submit
from tests.factories import make_officer, make_unit
from tests.review.conftest import World
from tests.review.test_authorization_matrix import (
    PAGE,
    Cell,
    Ctx,
    roles,
    run_matrix,
    same,
)

pytestmark = pytest.mark.django_db

FO, CO, SUP, LEGAL, STORE, AUD, SYS = (
    Role.FIELD_OFFICER,
    Role.CORRECTION_OFFICER,
    Role.SUPERVISOR,
    Role.LEGAL_OFFICER,
    Role.STORAGE_ADMIN,
    Role.AUDITOR,
    Role.SYSTEM_ADMIN,
)
AUTHORS = (FO, CO, SUP, LEGAL)


def _subject(ctx: Ctx) -> str:
    from backend.corrections.services import subject_create

    world = ctx.world
    if ctx.side == "own":
        office = world.office
    else:
        office = make_unit(
            f"乙所-{uuid.uuid4().hex[:4]}", kind=UnitKind.OFFICE, parent=world.other_bureau
        )
    today = timezone.localdate()
    subject = subject_create(
        actor=world.users[SYS],
        name="蓝海生",
        sentence_kind="probation",
        term_start=today - datetime.timedelta(days=30),
        term_end=today + datetime.timedelta(days=300),
        office=office,
        responsible_officer=make_officer(office, name="覃矫正"),
        id_number="450103198805061234",
        phone="13977001234",
    )
    return str(subject.pk)


def _named(world: World) -> None:
    """Everyone signs with a real name (署名制), so that the cells test the roles."""
    User.objects.filter(unit__in=[world.bureau, world.other_bureau]).update(first_name="实名")
    for user in (*world.users.values(), *world.other_users.values()):
        user.first_name = "实名"


def _draft(ctx: Ctx, *, submitted: bool = False) -> str:
    _named(ctx.world)
    users = ctx.world.users if ctx.side == "own" else ctx.world.other_users
    case = library_case_start(
        actor=users[CO], category_code="correction-warning", subject_id=_subject(ctx)
    )
    if submitted:
        library_case_submit(actor=users[CO], case_id=case.pk)
    return str(case.pk)


def draft(ctx: Ctx) -> str:
    return _draft(ctx)


def submitted(ctx: Ctx) -> str:
    return _draft(ctx, submitted=True)


def accepted(ctx: Ctx) -> str:
    from backend.caselibrary.services import library_case_review

    case_id = _draft(ctx, submitted=True)
    users = ctx.world.users if ctx.side == "own" else ctx.world.other_users
    library_case_review(actor=users[SUP], case_id=case_id, verdict="approve")
    return case_id


# A draft: its author unit's staff only; every other role and another bureau 404.
CONFIDENTIAL = roles(dict.fromkeys(AUTHORS, 200), default=404, other_default=404, **PAGE)


def edited(ctx: Ctx) -> dict[str, Any]:
    return {
        "title": "矩阵",
        "facts": "基本案情",
        "handling": "处理过程",
        "analysis": "评析",
        "category": "correction-warning",
    }


CASELIBRARY_MATRIX: dict[str, Cell] = {
    "GET /library/": Cell("GET", lambda c: "/library/", same(200, **PAGE), sided=False),
    "GET /library/drafts/": Cell(
        "GET",
        lambda c: "/library/drafts/",
        roles(dict.fromkeys(AUTHORS, 200), default=403, **PAGE),
        sided=False,
    ),
    "GET /library/new/": Cell(
        "GET",
        lambda c: f"/library/new/?subject={_subject(c)}",
        roles(dict.fromkeys(AUTHORS, 200), default=403, **PAGE),
        sided=False,
    ),
    "POST /library/new/": Cell(
        "POST",
        lambda c: "/library/new/",
        roles(
            {CO: 302, SUP: 302, FO: 404, LEGAL: 404},
            dict.fromkeys(AUTHORS, 404),
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {"subject": _subject(c), "category": "correction-warning"},
        form=True,
    ),
    "GET /library/quota/": Cell(
        "GET",
        lambda c: "/library/quota/",
        roles({SUP: 200, LEGAL: 200, SYS: 200}, default=403, **PAGE),
        sided=False,
    ),
    "GET /library/package/": Cell(
        "GET",
        lambda c: "/library/package/",
        roles({SUP: 200, LEGAL: 200, SYS: 200}, default=403, **PAGE),
        sided=False,
    ),
    # An accepted case of the caller's bureau (200: the ZIP); of another bureau: 400
    # (not among the caller's units' cases).
    "POST /library/package/": Cell(
        "POST",
        lambda c: "/library/package/",
        roles(
            {SUP: 200, LEGAL: 200, SYS: 200},
            {SUP: 400, LEGAL: 400, SYS: 200},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {"cases": [accepted(c)]},
        form=True,
    ),
    "GET /library/import/": Cell(
        "GET",
        lambda c: "/library/import/",
        roles({SUP: 200, LEGAL: 200, SYS: 200}, default=403, **PAGE),
        sided=False,
    ),
    # An empty form: the roles that may import get the precise 400 (no file).
    "POST /library/import/": Cell(
        "POST",
        lambda c: "/library/import/",
        roles({SUP: 400, LEGAL: 400, SYS: 400}, default=403, **PAGE),
        form=True,
        sided=False,
    ),
    "GET /library/<uuid:case_id>/": Cell("GET", lambda c: f"/library/{draft(c)}/", CONFIDENTIAL),
    "GET /library/<uuid:case_id>/edit/": Cell(
        "GET", lambda c: f"/library/{draft(c)}/edit/", CONFIDENTIAL
    ),
    "POST /library/<uuid:case_id>/edit/": Cell(
        "POST",
        lambda c: f"/library/{draft(c)}/edit/",
        roles(dict.fromkeys(AUTHORS, 302), default=404, other_default=404, **PAGE),
        body=edited,
        form=True,
    ),
    "GET /library/<uuid:case_id>/masking/": Cell(
        "GET", lambda c: f"/library/{draft(c)}/masking/", CONFIDENTIAL
    ),
    # A verdict on a submitted case: the bureau's reviewers (one level: accepted → 302).
    "POST /library/<uuid:case_id>/<slug:action>/": Cell(
        "POST",
        lambda c: f"/library/{submitted(c)}/approve/",
        roles(
            {SUP: 302, LEGAL: 302, FO: 403, CO: 403},
            default=404,
            other_default=404,
            **PAGE,
        ),
        form=True,
    ),
}


def test_caselibrary_authorization_matrix(world: World) -> None:
    run_matrix(world, CASELIBRARY_MATRIX)
