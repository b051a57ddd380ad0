"""The authorization matrix, continued: the publication app (行政执法公示), cell by cell for
the 7 roles, a device token and anonymous, on an item of the caller's own bureau and of
another bureau. `test_every_endpoint_is_in_the_matrix` (test_authorization_matrix.py)
reads PUBLICATION_MATRIX too, so a new page or operation without a cell fails.

Rules the expectations follow (seed 003, 公示办法 第十二–十四条; backend/publication):
- The public site (/public/, GET /api/publication/items) is open to everyone: 200.
- Publishing, withdrawing, the queue and the yearly report: supervisors, legal officers and
  the system administrator (403 for every other role, checked before the object); an item
  of another bureau answers 404 (the system administrator reaches every unit).
- Not publishing (第八条) is the leader's approval: supervisors and the administrator only.
- Staff pages signed out: to the sign-in page (302); the API signed out: 401.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.services import Actor
from tests.review.conftest import World
from tests.review.test_authorization_matrix import (
    API,
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
PUBLIC = same(200, anon=200, device=200)


def _item(ctx: Ctx, *, published: bool = False) -> str:
    from backend.publication.services.items import public_item_publish, publishable_item_offer
    from tests.publication.conftest import penalty_offer

    unit = ctx.world.bureau if ctx.side == "own" else ctx.world.other_bureau
    item = publishable_item_offer(offer=penalty_offer(unit), actor=Actor.system())
    if published:
        publisher = ctx.world.bureau_head if ctx.side == "own" else ctx.world.other_users[SUP]
        public_item_publish(item_id=item.pk, actor=publisher)
    return str(item.pk)


def pending(ctx: Ctx) -> str:
    return _item(ctx)


def published(ctx: Ctx) -> str:
    return _item(ctx, published=True)


def reported(ctx: Ctx) -> str:
    from backend.publication.services.reports import error_report_submit

    item = uuid.UUID(published(ctx))
    report = error_report_submit(item_id=item, text="矩阵纠错", contact="", address="192.0.2.1")
    return str(report.pk)


def year() -> int:
    return timezone.localdate().year


def managers(
    status: int, *, kind: dict[str, int], allowed: tuple[str, ...] = (SUP, LEGAL, SYS)
) -> Any:
    """Own side: the allowed roles get `status`; another bureau's item: 404 for them, the
    system administrator reaches it; every other role 403 on either side."""
    own = {role: status for role in allowed}
    other = {role: 404 for role in allowed if role != SYS}
    if SYS in allowed:
        other[SYS] = status
    return roles(own, other, default=403, other_default=403, **kind)


PUBLICATION_MATRIX: dict[str, Cell] = {
    # The public site.
    "GET /public/": Cell("GET", lambda c: "/public/", PUBLIC, sided=False),
    "GET /public/items/<uuid:item_id>/": Cell(
        "GET", lambda c: f"/public/items/{published(c)}/", PUBLIC
    ),
    "GET /public/officers/": Cell("GET", lambda c: "/public/officers/", PUBLIC, sided=False),
    "GET /public/matters/": Cell("GET", lambda c: "/public/matters/", PUBLIC, sided=False),
    "GET /public/inspection-items/": Cell(
        "GET", lambda c: "/public/inspection-items/", PUBLIC, sided=False
    ),
    "GET /public/notices/": Cell("GET", lambda c: "/public/notices/", PUBLIC, sided=False),
    "GET /publication/notices/": Cell(
        "GET",
        lambda c: "/publication/notices/",
        same(403, **PAGE, supervisor=200, legal_officer=200, system_admin=200),
        sided=False,
    ),
    "POST /publication/notices/": Cell(
        "POST",
        lambda c: "/publication/notices/",
        same(403, **PAGE, supervisor=302, legal_officer=302, system_admin=302),
        body=lambda c: {"remedies": "矩阵：复议", "complaints": "矩阵：电话"},
        form=True,
        sided=False,
    ),
    "GET /public/record-list/": Cell("GET", lambda c: "/public/record-list/", PUBLIC, sided=False),
    "GET /public/items/<uuid:item_id>/report/": Cell(
        "GET", lambda c: f"/public/items/{published(c)}/report/", PUBLIC
    ),
    # 纠错 needs no sign-in: anyone's submission is taken (and then shown on the ticket).
    "POST /public/items/<uuid:item_id>/report/": Cell(
        "POST",
        lambda c: f"/public/items/{published(c)}/report/",
        same(302, anon=302, device=302),
        body=lambda c: {"text": "矩阵：处罚结果有误", "contact": ""},
        form=True,
    ),
    "GET /public/reports/<uuid:report_id>/": Cell(
        "GET", lambda c: f"/public/reports/{reported(c)}/", PUBLIC
    ),
    "GET /public/language/<str:code>/": Cell(
        "GET",
        lambda c: "/public/language/en/?next=/public/",
        same(302, anon=302, device=302),
        sided=False,
    ),
    "GET /api/publication/items": Cell(
        "GET", lambda c: "/api/publication/items", PUBLIC, sided=False
    ),
    # Staff pages.
    "GET /publication/": Cell(
        "GET",
        lambda c: "/publication/",
        same(403, **PAGE, supervisor=200, legal_officer=200, system_admin=200),
        sided=False,
    ),
    "POST /publication/items/<uuid:item_id>/publish/": Cell(
        "POST",
        lambda c: f"/publication/items/{pending(c)}/publish/",
        managers(302, kind=PAGE),
        form=True,
    ),
    "POST /publication/items/<uuid:item_id>/exclude/": Cell(
        "POST",
        lambda c: f"/publication/items/{pending(c)}/exclude/",
        managers(302, kind=PAGE, allowed=(SUP, SYS)),
        body=lambda c: {"ground": "secret", "reason": "矩阵"},
        form=True,
    ),
    "POST /publication/items/<uuid:item_id>/withdraw/": Cell(
        "POST",
        lambda c: f"/publication/items/{published(c)}/withdraw/",
        managers(302, kind=PAGE),
        body=lambda c: {"reason": "矩阵：决定已撤销"},
        form=True,
    ),
    "GET /publication/report/<int:year>/": Cell(
        "GET",
        lambda c: f"/publication/report/{year()}/",
        same(403, **PAGE, supervisor=200, legal_officer=200, system_admin=200),
        sided=False,
    ),
    # Filing (第四条): the unit's legal officer (or the administrator); then frozen.
    "POST /publication/report/<int:year>/file/": Cell(
        "POST",
        lambda c: f"/publication/report/{year()}/file/",
        same(403, **PAGE, legal_officer=302, system_admin=302),
        body=lambda c: dict.fromkeys(
            (
                "training_sessions",
                "training_attendance",
                "campaigns",
                "normative_documents",
                "complaints",
                "reconsiderations",
                "lawsuits",
            ),
            1,
        ),
        form=True,
        sided=False,
    ),
    "GET /publication/report/<int:year>.xlsx": Cell(
        "GET",
        lambda c: f"/publication/report/{year()}.xlsx",
        same(403, **PAGE, supervisor=200, legal_officer=200, system_admin=200),
        sided=False,
    ),
    "GET /publication/timeliness/": Cell(
        "GET",
        lambda c: "/publication/timeliness/",
        same(403, **PAGE, supervisor=200, legal_officer=200, system_admin=200),
        sided=False,
    ),
    "GET /publication/reports/": Cell(
        "GET",
        lambda c: "/publication/reports/",
        same(403, **PAGE, supervisor=200, legal_officer=200, system_admin=200),
        sided=False,
    ),
    "POST /publication/reports/<uuid:report_id>/handle/": Cell(
        "POST",
        lambda c: f"/publication/reports/{reported(c)}/handle/",
        managers(302, kind=PAGE),
        body=lambda c: {"outcome": "no_error", "note": "矩阵：经核查无误"},
        form=True,
    ),
    # The device ledger (设备台账), set from the silent-devices list: supervisors of the
    # device's unit and the administrator; another bureau's device is 404.
    "POST /devices/<uuid:device_id>/ledger/": Cell(
        "POST",
        lambda c: (
            f"/devices/{(c.world.device if c.side == 'own' else c.world.other_device).pk}/ledger/"
        ),
        managers(302, kind=PAGE, allowed=(SUP, SYS)),
        body=lambda c: {"ledger": "repair", "note": "矩阵：送修"},
        form=True,
    ),
    # Staff API.
    "GET /api/publication/queue": Cell(
        "GET",
        lambda c: "/api/publication/queue",
        same(403, **API, supervisor=200, legal_officer=200, system_admin=200),
        sided=False,
    ),
    "POST /api/publication/items/{item_id}/publish": Cell(
        "POST",
        lambda c: f"/api/publication/items/{pending(c)}/publish",
        managers(200, kind=API),
    ),
    "POST /api/publication/items/{item_id}/withdraw": Cell(
        "POST",
        lambda c: f"/api/publication/items/{published(c)}/withdraw",
        managers(200, kind=API),
        body=lambda c: {"reason": "矩阵：决定已撤销"},
    ),
}


def test_publication_authorization_matrix(world: World) -> None:
    run_matrix(world, PUBLICATION_MATRIX)
