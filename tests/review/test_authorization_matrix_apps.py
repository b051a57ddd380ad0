"""The authorization matrix, continued: the other apps' operations (retention, enforcement
lists and imports, coverage decisions and reports, community correction, random
inspections, tablet record sync), asserted cell by cell for the 7 roles, a device token and
anonymous, on an object of the caller's own unit and of another unit.

Together with MATRIX in test_authorization_matrix.py every operation of the OpenAPI
document must have a cell: `test_every_api_operation_has_a_cell` enumerates the schema, so
a new endpoint without a cell fails.

Rules the expectations follow (DOMAIN.md, the apps' docstrings):
- Storage facts (policies, destruction, fixity, capacity) belong to the storage
  administrator (and the system administrator), for every unit; never to content roles.
- Legal holds and evidence marks: legal officers, supervisors, the system administrator,
  on recordings they may see; another unit's recording, mark or hold answers 404.
- Community correction: correction officers and supervisors of the office and the units
  above it; personal data of another unit's subject answers 404.
- Random inspections: supervisors and legal officers of a unit manage; draws and published
  results are public (双随机、一公开).
- Tablet record sync: device token only; a user session is refused.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from tests.review.conftest import World
from tests.review.test_authorization_matrix import (
    API,
    DEVICE,
    MATRIX,
    PAGE,
    SIDES,
    Cell,
    Ctx,
    _client,
    api_operations,
    matrix_world,
    roles,
    run_matrix,
    same,
)

pytestmark = pytest.mark.django_db

__all__ = ["matrix_world"]  # the fixture, imported for pytest

FO, CO, SUP, LEGAL, STORE, AUD, SYS = (
    Role.FIELD_OFFICER,
    Role.CORRECTION_OFFICER,
    Role.SUPERVISOR,
    Role.LEGAL_OFFICER,
    Role.STORAGE_ADMIN,
    Role.AUDITOR,
    Role.SYSTEM_ADMIN,
)
STORAGE = {STORE: 200, SYS: 200}  # storage facts: every unit, storage roles only
HOLDERS = (SUP, LEGAL, SYS)  # legal holds and evidence marks
MANAGERS = (SUP, LEGAL, SYS)  # random inspections
CORRECTION = (CO, SUP, SYS)  # community correction subjects
SESSION_ONLY = {"anon": 401, "device": 401}
DEVICE_ONLY = same(401, anon=401, device=200)
PUBLIC = same(200, anon=200, device=200)


def storage_only(status: int = 200) -> Any:
    return same(403, **API, storage_admin=status, system_admin=status)


def storage_page(status: int = 200) -> Any:
    """Retention's web pages (backend/retention/urls.py): signed out, to the sign-in page."""
    return same(403, **PAGE, storage_admin=status, system_admin=status)


def by_role(
    allowed: tuple[str, ...] | dict[str, int],
    status: int = 200,
    *,
    refused: int = 403,
    other: dict[str, int] | None = None,
    other_default: int | None = None,
) -> Any:
    own = allowed if isinstance(allowed, dict) else {r: status for r in allowed}
    return roles(own, other, default=refused, other_default=other_default, **API)


# -- objects (created inside each cell's savepoint) ------------------------------------------


def readyz_with_heartbeats() -> str:
    """/readyz with a worker and a scheduler beating (ops/heartbeat.py): ready, 200."""
    from django.conf import settings

    from ops.heartbeat import Heartbeat

    for role in ("worker", "scheduler"):
        Heartbeat(role, settings.FV_STAGING_DIR).beat(force=True)
    return "/readyz"


def rec(ctx: Ctx) -> str:
    return str(ctx.world.recordings[ctx.side].pk)


def _other_user(ctx: Ctx, role: str) -> Any:
    """Someone of the object's unit who is never the caller."""
    return ctx.world.bureau_head if ctx.side == "own" else ctx.world.other_users[role]


def mark(ctx: Ctx) -> str:
    from backend.retention.models import EvidenceMark

    return str(
        EvidenceMark.objects.create(
            recording=ctx.world.recordings[ctx.side],
            kind="evidence",
            marked_by=_other_user(ctx, SUP),
        ).pk
    )


def hold(ctx: Ctx) -> str:
    from backend.retention.models import LegalHold

    return str(
        LegalHold.objects.create(
            target_kind="recording",
            recording=ctx.world.recordings[ctx.side],
            reason="矩阵",
            placed_by=_other_user(ctx, SUP),
        ).pk
    )


def batch(ctx: Ctx) -> Any:
    from backend.retention.models import DestructionBatch, DestructionItem

    made = DestructionBatch.objects.create(prepared_by=ctx.world.other_users[STORE], note="矩阵")
    recording = ctx.world.recordings[ctx.side]
    item = DestructionItem.objects.create(
        batch=made,
        recording=recording,
        size_bytes=recording.size_bytes,
        sha256=recording.sha256,
        categories="",
        retention_until=timezone.now(),
        reason_due="矩阵",
    )
    ctx.objects["item"] = item.pk
    return made.pk


def item(ctx: Ctx) -> str:
    batch(ctx)
    return str(ctx.objects["item"])


def alert(ctx: Ctx) -> str:
    from backend.retention.models import FixityAlert, FixityCheck

    recording = ctx.world.recordings[ctx.side]
    check = FixityCheck.objects.create(
        recording=recording, outcome="mismatch", expected_sha256=recording.sha256
    )
    return str(
        FixityAlert.objects.create(
            recording=recording, check_result=check, outcome="mismatch", message="矩阵"
        ).pk
    )


def activity(ctx: Ctx) -> Any:
    return ctx.world.extra["activity" if ctx.side == "own" else "other_activity"]


def open_activity(ctx: Ctx) -> str:
    """Own side: an open activity of the office with the field officer taking part."""
    from backend.enforcement.models import Activity, ActivityOfficer

    if ctx.side == "other":
        return str(activity(ctx).pk)
    made = Activity.objects.create(
        category="行政检查",
        stage="现场检查",
        unit=ctx.world.office,
        started_at=timezone.now() - datetime.timedelta(minutes=30),
        state="open",
    )
    ActivityOfficer.objects.create(activity=made, officer=ctx.world.officer)
    return str(made.pk)


def explanation(ctx: Ctx) -> str:
    from backend.coverage.models import GapExplanation

    if ctx.side == "own":
        found = GapExplanation.objects.filter(activity=activity(ctx)).first()
        assert found is not None
        return str(found.pk)
    act = activity(ctx)
    return str(
        GapExplanation.objects.create(
            activity=act,
            officer=ctx.world.other_officer,
            reason="battery",
            text="矩阵",
            gap_from=act.started_at,
            gap_to=act.started_at + datetime.timedelta(minutes=5),
        ).pk
    )


def linked_recording(ctx: Ctx) -> str:
    return str(ctx.world.extra["activity_recording" if ctx.side == "own" else "other_link"].pk)


def unit_of(ctx: Ctx) -> Any:
    return ctx.world.office if ctx.side == "own" else ctx.world.other_bureau


def docked_camera(ctx: Ctx) -> str:
    """A camera a dock of the object's unit registered (unassigned), and an officer of that
    unit to hand it to (the body)."""
    from backend.audit.services import Actor as _Actor
    from backend.devices.docks import dock_camera_resolve
    from backend.devices.services import device_enroll
    from tests.factories import make_officer

    unit = unit_of(ctx)
    dock = device_enroll(
        kind="dock", serial=f"WS-{uuid.uuid4().hex[:8]}", unit=unit, actor=_Actor.system()
    ).device
    camera = dock_camera_resolve(
        dock=dock, kind="body_camera", serial=f"CAM-{uuid.uuid4().hex[:8]}"
    ).camera
    ctx.objects["assign_body"] = {
        "officer": make_officer(unit).pk,
        "starts_at": "2026-12-01T08:00",
    }
    return str(camera.pk)


def subject(ctx: Ctx) -> str:
    return str(ctx.world.extra["subject" if ctx.side == "own" else "other_subject"].pk)


def correction_office(ctx: Ctx) -> Any:
    return ctx.world.office if ctx.side == "own" else ctx.world.extra["other_office"]


def subject_body(ctx: Ctx) -> dict[str, Any]:
    officer = ctx.world.officer if ctx.side == "own" else ctx.world.extra["other_office_officer"]
    today = timezone.localdate()
    return {
        "name": "矩阵对象",
        "sentence_kind": "probation",
        "term_start": str(today - datetime.timedelta(days=30)),
        "term_end": str(today + datetime.timedelta(days=300)),
        "office_id": correction_office(ctx).pk,
        "responsible_officer_id": officer.pk,
        "schedules": [{"kind": "check_in", "frequency": "monthly", "times": 1}],
    }


def transfer_body(ctx: Ctx) -> dict[str, Any]:
    """A receiving office beside the subject's, under the same bureau (created in the cell's
    savepoint), and an officer of it."""
    from backend.accounts.models import UnitKind
    from tests.factories import make_officer, make_unit

    bureau = ctx.world.bureau if ctx.side == "own" else ctx.world.other_bureau
    office = make_unit(f"接收司法所-{uuid.uuid4().hex[:6]}", kind=UnitKind.OFFICE, parent=bureau)
    officer = make_officer(office, name="接收矫正员")
    return {
        "to_office_id": office.pk,
        "responsible_officer_id": officer.pk,
        "reason": "矩阵：迁居",
        "effective_on": str(timezone.localdate()),
    }


def month() -> str:
    return timezone.localdate().strftime("%Y-%m")


def inspection_item(ctx: Ctx) -> Any:
    return ctx.world.extra["item" if ctx.side == "own" else "other_item"]


def target(ctx: Ctx) -> Any:
    return ctx.world.extra["target" if ctx.side == "own" else "other_target"]


def concluded_inspection(ctx: Ctx) -> str:
    from backend.inspections.models import Inspection

    found = Inspection.objects.create(
        item=inspection_item(ctx),
        target=target(ctx),
        unit=inspection_item(ctx).unit,
        status="concluded",
        arrived_at=timezone.now() - datetime.timedelta(hours=2),
        departed_at=timezone.now() - datetime.timedelta(hours=1),
        findings="矩阵：未发现问题",
    )
    return str(found.pk)


def draw(ctx: Ctx) -> str:
    return str(ctx.world.extra["draw"].pk)


def bad_file(name: str = "matrix.csv") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"not,a,list\n", content_type="text/csv")


def manual_moment() -> dict[str, Any]:
    return {"occurred_at": timezone.now().isoformat(), "source": "manual", "reason": "矩阵"}


def activity_body(ctx: Ctx) -> dict[str, Any]:
    officer = ctx.world.officer if ctx.side == "own" else ctx.world.other_officer
    return {
        "category": "行政检查",
        "stage": "现场检查",
        "unit_id": unit_of(ctx).pk,
        "officer_ids": [officer.pk],
        "place": "矩阵",
        "start": manual_moment(),
    }


def push_body(ctx: Ctx) -> dict[str, Any]:
    return {"device_time": timezone.now().isoformat(), "mutations": []}


# -- the cells -------------------------------------------------------------------------------

CONTENT_OWN = {r: 200 for r in (FO, CO, SUP, LEGAL, SYS)}

APPS_MATRIX: dict[str, Cell] = {
    # Docks (采集工作站): supervisors for their unit, system administrators for every unit.
    "GET /docks/": Cell(
        "GET",
        lambda c: "/docks/",
        same(403, **PAGE, supervisor=200, system_admin=200),
        sided=False,
    ),
    "POST /docks/cameras/<str:camera_id>/assign/": Cell(
        "POST",
        lambda c: f"/docks/cameras/{docked_camera(c)}/assign/",
        roles(
            {SUP: 302, SYS: 302},
            {SUP: 404, SYS: 302},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: c.objects["assign_body"],
        form=True,
    ),
    # Retention: storage facts for the storage administrator, every unit.
    "GET /api/retention/policies": Cell(
        "GET", lambda c: "/api/retention/policies", storage_only(), sided=False
    ),
    "POST /api/retention/policies/preview": Cell(
        "POST",
        lambda c: "/api/retention/policies/preview",
        storage_only(),
        body=lambda c: {"category": "矩阵", "period_days": 36500},
        sided=False,
    ),
    "PUT /api/retention/policies/{category}": Cell(
        "PUT",
        lambda c: "/api/retention/policies/矩阵",
        storage_only(),
        body=lambda c: {"name": "矩阵", "period_days": 36500},
        sided=False,
    ),
    "GET /api/retention/recordings/{recording_id}": Cell(
        "GET",
        lambda c: f"/api/retention/recordings/{rec(c)}",
        # Whoever may see the recording, and the storage administrator (storage facts).
        by_role({**CONTENT_OWN, STORE: 200}, refused=404, other=STORAGE, other_default=404),
    ),
    "POST /api/retention/marks": Cell(
        "POST",
        lambda c: "/api/retention/marks",
        by_role(HOLDERS, 201, other={SUP: 404, LEGAL: 404, SYS: 201}, other_default=403),
        body=lambda c: {"recording_id": rec(c), "kind": "evidence"},
    ),
    "DELETE /api/retention/marks/{mark_id}": Cell(
        "DELETE",
        lambda c: f"/api/retention/marks/{mark(c)}",
        by_role(HOLDERS, 204, other={SUP: 404, LEGAL: 404, SYS: 204}, other_default=403),
    ),
    "POST /api/retention/holds": Cell(
        "POST",
        lambda c: "/api/retention/holds",
        by_role(HOLDERS, 201, other={SUP: 404, LEGAL: 404, SYS: 201}, other_default=403),
        body=lambda c: {"target_kind": "recording", "recording_id": rec(c), "reason": "矩阵"},
    ),
    "POST /api/retention/holds/{hold_id}/release": Cell(
        "POST",
        lambda c: f"/api/retention/holds/{hold(c)}/release",
        by_role(HOLDERS, 200, other={SUP: 404, LEGAL: 404, SYS: 200}, other_default=403),
        body=lambda c: {"reason": "矩阵"},
    ),
    # The holds/marks and fixity pages (forms; POST-redirect-GET).
    "GET /retention/holds/": Cell(
        "GET",
        lambda c: "/retention/holds/",
        same(403, **PAGE, supervisor=200, legal_officer=200, system_admin=200, storage_admin=200),
        sided=False,
    ),
    "POST /retention/holds/place/": Cell(
        "POST",
        lambda c: "/retention/holds/place/",
        roles(
            {r: 302 for r in HOLDERS},
            {SUP: 404, LEGAL: 404, SYS: 302},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {"target_kind": "recording", "recording": rec(c), "reason": "矩阵"},
        form=True,
    ),
    "POST /retention/holds/<int:hold_id>/release/": Cell(
        "POST",
        lambda c: f"/retention/holds/{hold(c)}/release/",
        roles(
            {r: 302 for r in HOLDERS},
            {SUP: 404, LEGAL: 404, SYS: 302},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {"reason": "矩阵"},
        form=True,
    ),
    "POST /retention/marks/": Cell(
        "POST",
        lambda c: "/retention/marks/",
        roles(
            {r: 302 for r in HOLDERS},
            {SUP: 404, LEGAL: 404, SYS: 302},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {"recording": rec(c), "kind": "evidence"},
        form=True,
    ),
    "POST /retention/marks/<int:mark_id>/withdraw/": Cell(
        "POST",
        lambda c: f"/retention/marks/{mark(c)}/withdraw/",
        roles(
            {r: 302 for r in HOLDERS},
            {SUP: 404, LEGAL: 404, SYS: 302},
            default=403,
            other_default=403,
            **PAGE,
        ),
        form=True,
    ),
    "GET /retention/fixity/": Cell(
        "GET", lambda c: "/retention/fixity/", storage_page(), sided=False
    ),
    "POST /retention/fixity/run/": Cell(
        "POST", lambda c: "/retention/fixity/run/", storage_page(302), sided=False, form=True
    ),
    "POST /retention/fixity/alerts/<int:alert_id>/acknowledge/": Cell(
        "POST",
        lambda c: f"/retention/fixity/alerts/{alert(c)}/acknowledge/",
        storage_page(302),
        form=True,
    ),
    "GET /api/retention/destruction/candidates": Cell(
        "GET", lambda c: "/api/retention/destruction/candidates", storage_only(), sided=False
    ),
    "POST /api/retention/destruction/batches": Cell(
        "POST",
        lambda c: "/api/retention/destruction/batches",
        # Nothing is due in this world: the storage administrator gets 400 `nothing_due`.
        storage_only(400),
        body=lambda c: {"note": "矩阵"},
        sided=False,
    ),
    "GET /api/retention/destruction/batches/{batch_id}": Cell(
        "GET", lambda c: f"/api/retention/destruction/batches/{batch(c)}", storage_only()
    ),
    "POST /api/retention/destruction/batches/{batch_id}/approve": Cell(
        "POST",
        lambda c: f"/api/retention/destruction/batches/{batch(c)}/approve",
        # Only the designated leader in charge (分管领导) approves; none of the 7 roles is.
        same(403, **API),
    ),
    "POST /api/retention/destruction/batches/{batch_id}/cancel": Cell(
        "POST",
        lambda c: f"/api/retention/destruction/batches/{batch(c)}/cancel",
        storage_only(),
        body=lambda c: {"reason": "矩阵"},
    ),
    "POST /api/retention/destruction/items/{item_id}/recover": Cell(
        "POST",
        lambda c: f"/api/retention/destruction/items/{item(c)}/recover",
        storage_only(204),
        body=lambda c: {"reason": "矩阵"},
    ),
    "GET /api/retention/register": Cell(
        "GET",
        lambda c: "/api/retention/register",
        same(403, **API, storage_admin=200, system_admin=200, auditor=200),
        sided=False,
    ),
    "GET /api/retention/register.xlsx": Cell(
        "GET",
        lambda c: "/api/retention/register.xlsx",
        same(403, **API, storage_admin=200, system_admin=200, auditor=200),
        sided=False,
    ),
    "GET /retention/register/print/": Cell(
        "GET",
        lambda c: "/retention/register/print/",
        same(403, **PAGE, storage_admin=200, system_admin=200, auditor=200),
        sided=False,
    ),
    "POST /api/retention/fixity/run": Cell(
        "POST",
        lambda c: "/api/retention/fixity/run",
        storage_only(),
        body=lambda c: {"limit": 1},
        sided=False,
    ),
    "GET /api/retention/fixity/alerts": Cell(
        "GET", lambda c: "/api/retention/fixity/alerts", storage_only(), sided=False
    ),
    "POST /api/retention/fixity/alerts/{alert_id}/acknowledge": Cell(
        "POST",
        lambda c: f"/api/retention/fixity/alerts/{alert(c)}/acknowledge",
        storage_only(),
    ),
    "GET /api/retention/capacity": Cell(
        "GET", lambda c: "/api/retention/capacity", storage_only(), sided=False
    ),
    "GET /retention/capacity/": Cell(
        "GET", lambda c: "/retention/capacity/", storage_page(), sided=False
    ),
    "GET /retention/continuity/": Cell(
        "GET", lambda c: "/retention/continuity/", storage_page(), sided=False
    ),
    # Operations (backend/operations): health and readiness are public and reveal nothing;
    # metrics answer loopback clients (the test client is 127.0.0.1) or the bearer token,
    # tests/operations/test_health.py shows the refusal for anyone else.
    "GET /healthz": Cell("GET", lambda c: "/healthz", PUBLIC, sided=False),
    "GET /readyz": Cell("GET", lambda c: readyz_with_heartbeats(), PUBLIC, sided=False),
    "GET /metrics": Cell("GET", lambda c: "/metrics", PUBLIC, sided=False),
    "GET /retention/policies/": Cell(
        "GET", lambda c: "/retention/policies/", storage_page(), sided=False
    ),
    "POST /retention/policies/": Cell(
        "POST",
        lambda c: "/retention/policies/",
        storage_page(302),
        body=lambda c: {"category": "evidence", "name": "矩阵", "period_days": "36500"},
        form=True,
        sided=False,
    ),
    "GET /retention/destruction/": Cell(
        "GET", lambda c: "/retention/destruction/", storage_page(), sided=False
    ),
    "POST /retention/destruction/": Cell(
        "POST",
        lambda c: "/retention/destruction/",
        storage_page(400),
        body=lambda c: {"note": "矩阵"},
        form=True,
        sided=False,
    ),
    "GET /retention/destruction/<int:batch_id>/": Cell(
        "GET", lambda c: f"/retention/destruction/{batch(c)}/", storage_page()
    ),
    "POST /retention/destruction/<int:batch_id>/<str:action>/": Cell(
        "POST",
        lambda c: f"/retention/destruction/{batch(c)}/cancel/",
        storage_page(302),
        body=lambda c: {"reason": "矩阵"},
        form=True,
    ),
    # Enforcement: the record list is bureau-wide (every signed-in user reads it; legal
    # officers and the system administrator import it).
    "POST /api/enforcement/record-lists": Cell(
        "POST",
        lambda c: "/api/enforcement/record-lists",
        # A file that cannot be used: 400 for those allowed, 403 for the others.
        by_role((LEGAL, SYS), 400),
        body=lambda c: {"file": bad_file(), "effective_from": "2031-01-01"},
        form=True,
        sided=False,
    ),
    "GET /api/enforcement/record-lists": Cell(
        "GET", lambda c: "/api/enforcement/record-lists", same(200, **API), sided=False
    ),
    "GET /api/enforcement/record-lists/{list_id}/rules": Cell(
        "GET",
        lambda c: f"/api/enforcement/record-lists/{c.world.extra['record_list'].pk}/rules",
        same(200, **API),
        sided=False,
    ),
    "POST /api/enforcement/activities": Cell(
        "POST",
        lambda c: "/api/enforcement/activities",
        roles(
            {STORE: 403, AUD: 403},
            {SYS: 201, STORE: 403, AUD: 403},
            default=201,
            other_default=404,
            anon=401,
            # A device records for its officer, in the officer's unit (unit_id ignored);
            # naming another bureau's officer is answered like an unknown officer.
            device={"own": 201, "other": 400},
        ),
        body=activity_body,
    ),
    "GET /api/enforcement/activities": Cell(
        "GET", lambda c: "/api/enforcement/activities", same(200, **SESSION_ONLY), sided=False
    ),
    "POST /api/enforcement/activities/import": Cell(
        "POST",
        lambda c: "/api/enforcement/activities/import",
        by_role((CO, SUP, LEGAL, SYS), 400),
        body=lambda c: {"file": bad_file()},
        form=True,
        sided=False,
    ),
    "POST /api/enforcement/activities/{activity_id}/close": Cell(
        "POST",
        lambda c: f"/api/enforcement/activities/{open_activity(c)}/close",
        roles(
            CONTENT_OWN,
            {SYS: 200},
            default=404,
            other_default=404,
            anon=401,
            device={"own": 200, "other": 404},
        ),
        body=lambda c: {"stop": manual_moment()},
    ),
    # Reprocess a damaged recording: supervisors and the system administrator among those who
    # see it; the matrix's recording is not damaged, so those allowed meet 409.
    "POST /recordings/<str:recording_id>/reprocess/": Cell(
        "POST",
        lambda c: f"/recordings/{rec(c)}/reprocess/",
        roles(
            {SUP: 409, SYS: 409, FO: 403, CO: 403, LEGAL: 403},
            {SYS: 409},
            default=404,
            other_default=404,
            **PAGE,
        ),
        form=True,
    ),
    "GET /search/": Cell("GET", lambda c: "/search/?q=XZ", same(200, **PAGE), sided=False),
    "GET /coverage/reports/": Cell(
        "GET",
        lambda c: "/coverage/reports/",
        same(403, **PAGE, supervisor=200, legal_officer=200, system_admin=200),
        sided=False,
    ),
    # Supervisors' tools on the activity page (forms; POST-redirect-GET to the activity).
    "POST /coverage/activities/<str:activity_id>/recheck/": Cell(
        "POST",
        lambda c: f"/coverage/activities/{activity(c).pk}/recheck/",
        roles(
            {SUP: 302, LEGAL: 302, SYS: 302, FO: 403, CO: 403},
            {SYS: 302},
            default=404,
            other_default=404,
            **PAGE,
        ),
        form=True,
    ),
    "POST /coverage/activities/<str:activity_id>/links/": Cell(
        "POST",
        lambda c: f"/coverage/activities/{activity(c).pk}/links/",
        # The recording is linked already (409, said on the form); the other bureau's is
        # not its officer's (400): either way past the authorization.
        roles(
            {SUP: 409, LEGAL: 409, SYS: 409, FO: 403, CO: 403},
            {SYS: 400},
            default=404,
            other_default=404,
            **PAGE,
        ),
        body=lambda c: {"recording": linked_recording(c), "reason": "矩阵"},
        form=True,
    ),
    "POST /coverage/activities/<str:activity_id>/links/<str:recording_id>/remove/": Cell(
        "POST",
        lambda c: f"/coverage/activities/{activity(c).pk}/links/{linked_recording(c)}/remove/",
        roles(
            {SUP: 302, LEGAL: 302, SYS: 302, FO: 403, CO: 403},
            {SYS: 302},
            default=404,
            other_default=404,
            **PAGE,
        ),
        body=lambda c: {"reason": "矩阵"},
        form=True,
    ),
    # Coverage (code owned by another engineer: cells only).
    "POST /api/coverage/activities/{activity_id}/links/{recording_id}/remove": Cell(
        "POST",
        lambda c: f"/api/coverage/activities/{activity(c).pk}/links/{linked_recording(c)}/remove",
        roles(
            {SUP: 200, LEGAL: 200, SYS: 200, FO: 403, CO: 403},
            {SYS: 200},
            default=404,
            other_default=404,
            **API,
        ),
        body=lambda c: {"reason": "矩阵"},
    ),
    "POST /api/coverage/explanations/{explanation_id}/decision": Cell(
        "POST",
        lambda c: f"/api/coverage/explanations/{explanation(c)}/decision",
        roles(
            {SUP: 200, LEGAL: 200, SYS: 200, FO: 403, CO: 403},
            {SYS: 200},
            default=404,
            other_default=404,
            **API,
        ),
        body=lambda c: {"accept": True, "note": "矩阵"},
    ),
    # Another unit's unit_id answers 404 like every id outside scope; the rows of the
    # caller's own reports are asserted in test_list_reads_are_scoped.
    "GET /api/coverage/reports/activities": Cell(
        "GET",
        lambda c: f"/api/coverage/reports/activities?unit_id={unit_of(c).pk}",
        roles({}, {SYS: 200}, default=200, other_default=404, **API),
    ),
    "GET /api/coverage/reports/officers": Cell(
        "GET",
        lambda c: f"/api/coverage/reports/officers?unit_id={unit_of(c).pk}",
        roles({}, {SYS: 200}, default=200, other_default=404, **API),
    ),
    "GET /api/coverage/reports/units": Cell(
        "GET",
        lambda c: f"/api/coverage/reports/units?unit_id={unit_of(c).pk}",
        by_role((CO, SUP, LEGAL, SYS), other={CO: 404, SUP: 404, LEGAL: 404, SYS: 200}),
    ),
    # Community correction: personal data, by office.
    "GET /api/corrections/subjects": Cell(
        "GET", lambda c: "/api/corrections/subjects", same(200, **API), sided=False
    ),
    "POST /api/corrections/subjects": Cell(
        "POST",
        lambda c: "/api/corrections/subjects",
        by_role(CORRECTION, 201, other={CO: 404, SUP: 404, SYS: 201}, other_default=403),
        body=subject_body,
    ),
    "GET /api/corrections/subjects/{subject_id}": Cell(
        "GET",
        lambda c: f"/api/corrections/subjects/{subject(c)}",
        by_role(CORRECTION, refused=404, other={SYS: 200}, other_default=404),
    ),
    "PATCH /api/corrections/subjects/{subject_id}": Cell(
        "PATCH",
        lambda c: f"/api/corrections/subjects/{subject(c)}",
        by_role(CORRECTION, other={CO: 404, SUP: 404, SYS: 200}, other_default=403),
        body=lambda c: {"phone": "13800000000"},
    ),
    "POST /api/corrections/subjects/{subject_id}/transfer": Cell(
        "POST",
        lambda c: f"/api/corrections/subjects/{subject(c)}/transfer",
        # Correction roles of the bureau above both offices; another bureau's subject: 404.
        by_role(CORRECTION, other={CO: 404, SUP: 404, SYS: 200}, other_default=403),
        body=transfer_body,
    ),
    "GET /api/corrections/alerts": Cell(
        "GET", lambda c: "/api/corrections/alerts", same(200, **API), sided=False
    ),
    "GET /api/corrections/figures": Cell(
        "GET",
        lambda c: f"/api/corrections/figures?office_id={correction_office(c).pk}&month={month()}",
        by_role(CORRECTION, refused=404, other={SYS: 200}, other_default=404),
    ),
    "GET /api/corrections/figures/offices": Cell(
        "GET",
        lambda c: f"/api/corrections/figures/offices?month={month()}",
        same(200, **API),
        sided=False,
    ),
    # Random inspections.
    "POST /api/inspections/items/import": Cell(
        "POST",
        lambda c: "/api/inspections/items/import",
        by_role(MANAGERS, 400),
        body=lambda c: {"file": bad_file()},
        form=True,
        sided=False,
    ),
    "POST /api/inspections/targets/import": Cell(
        "POST",
        lambda c: "/api/inspections/targets/import",
        by_role(MANAGERS, 400),
        body=lambda c: {"file": bad_file()},
        form=True,
        sided=False,
    ),
    "GET /api/inspections/items": Cell(
        "GET", lambda c: "/api/inspections/items", by_role(MANAGERS), sided=False
    ),
    "POST /api/inspections/conflicts": Cell(
        "POST",
        lambda c: "/api/inspections/conflicts",
        # Targets of the caller's own unit only (the system administrator included).
        by_role(MANAGERS, 201, other={SUP: 404, LEGAL: 404, SYS: 404}, other_default=403),
        body=lambda c: {
            "officer_id": (c.world.officer if c.side == "own" else c.world.other_officer).pk,
            "target_id": target(c).pk,
            "reason": "矩阵：亲属",
        },
    ),
    "POST /api/inspections/draws": Cell(
        "POST",
        lambda c: "/api/inspections/draws",
        by_role(MANAGERS, 201, other={SUP: 404, LEGAL: 404, SYS: 201}, other_default=403),
        body=lambda c: {"item_id": inspection_item(c).pk, "period": "2031"},
    ),
    "GET /api/inspections/draws": Cell(
        "GET", lambda c: "/api/inspections/draws", PUBLIC, sided=False
    ),
    "GET /api/inspections/draws/{draw_id}": Cell(
        "GET", lambda c: f"/api/inspections/draws/{draw(c)}", PUBLIC, sided=False
    ),
    "POST /api/inspections/draws/{draw_id}/verify": Cell(
        "POST", lambda c: f"/api/inspections/draws/{draw(c)}/verify", PUBLIC, sided=False
    ),
    "POST /api/inspections/{inspection_id}/publish": Cell(
        "POST",
        lambda c: f"/api/inspections/{concluded_inspection(c)}/publish",
        # The role is checked first (403, revealing nothing); then scope (404).
        by_role(MANAGERS, other={SUP: 404, LEGAL: 404, SYS: 200}),
    ),
    "GET /api/inspections/pending-publication": Cell(
        "GET",
        lambda c: "/api/inspections/pending-publication",
        by_role(MANAGERS),
        sided=False,
    ),
    "GET /api/inspections/published": Cell(
        "GET", lambda c: "/api/inspections/published", PUBLIC, sided=False
    ),
    # Tablet record sync: a tablet's device token only (a body camera: 403, see below).
    "POST /api/sync/v1/records/push": Cell(
        "POST", lambda c: "/api/sync/v1/records/push", DEVICE_ONLY, body=push_body, sided=False
    ),
    "GET /api/sync/v1/records/pull": Cell(
        "GET", lambda c: "/api/sync/v1/records/pull", DEVICE_ONLY, sided=False
    ),
    # Positions: a positioning device's token only; any other device kind (the body camera
    # principal) is refused, and a user session is not a device.
    "POST /api/sync/v1/positions/batch": Cell(
        "POST",
        lambda c: "/api/sync/v1/positions/batch",
        same(401, anon=401, device=403),
        body=lambda c: {"device_time": timezone.now().isoformat(), "positions": []},
        sided=False,
    ),
}

# Cells whose DEVICE principal is the own officer's tablet instead of the body camera.
TABLET_CELLS = {"POST /api/sync/v1/records/push", "GET /api/sync/v1/records/pull"}


def test_every_api_operation_has_a_cell() -> None:
    """Every operation of the OpenAPI document is in one of the matrices, and no cell
    names an operation that no longer exists."""
    operations = {f"{method} {path}" for method, path, _schemes in api_operations()}
    from tests.review.test_authorization_matrix_cases import CASES_MATRIX
    from tests.review.test_authorization_matrix_publication import PUBLICATION_MATRIX

    covered = (
        {key for key in MATRIX if " /api/" in key}
        | set(APPS_MATRIX)
        | set(CASES_MATRIX)
        | {key for key in PUBLICATION_MATRIX if " /api/" in key}
    )
    missing = sorted(operations - covered)
    assert not missing, f"API operations without an authorization matrix cell: {missing}"
    stale = sorted({key for key in APPS_MATRIX if " /api/" in key} - operations)
    assert not stale, f"cells for operations that no longer exist: {stale}"


@pytest.fixture
def apps_world(matrix_world: World) -> World:
    """The review world plus: retention rows, a second unit's linked recording and gap
    explanation, correction subjects in both units, inspection items/targets, a draw."""
    from backend.accounts.models import UnitKind
    from backend.corrections.services import ScheduleInput, subject_create
    from backend.coverage.models import LinkSource, RecordingLink
    from backend.enforcement.models import RecordList
    from backend.inspections.models import InspectionItem, InspectionTarget
    from backend.inspections.services import draw_create
    from backend.retention.services import retention_refresh
    from tests.factories import make_officer, make_unit

    world = matrix_world
    other_office = make_unit(
        f"乙县城关司法所-{uuid.uuid4().hex[:4]}", kind=UnitKind.OFFICE, parent=world.other_bureau
    )
    world.extra["other_office"] = other_office
    world.extra["other_office_officer"] = make_officer(other_office, name="孙矫正")
    retention_refresh(recording_ids=[r.pk for r in world.recordings.values()])
    world.extra["record_list"] = RecordList.objects.order_by("-effective_from").first()
    world.extra["other_link"] = world.recordings["other"]
    RecordingLink.objects.create(
        activity=world.extra["other_activity"],
        recording=world.recordings["other"],
        officer=world.other_officer,
        source=LinkSource.AUTO,
    )
    today = timezone.localdate()
    for key, office, officer, actor in (
        ("subject", world.office, world.officer, world.users[SYS]),
        ("other_subject", other_office, world.extra["other_office_officer"], world.users[SYS]),
    ):
        world.extra[key] = subject_create(
            actor=actor,
            name=f"矩阵-{key}",
            sentence_kind="probation",
            term_start=today - datetime.timedelta(days=100),
            term_end=today + datetime.timedelta(days=300),
            office=office,
            responsible_officer=officer,
            id_number="110101199001011234",
            schedules=[ScheduleInput(kind="check_in", frequency="monthly", times=1)],
        )
    for side, unit in (("", world.bureau), ("other_", world.other_bureau)):
        world.extra[f"{side}item"] = InspectionItem.objects.create(
            unit=unit,
            inspecting_body="司法局",
            name="律师事务所执业情况检查",
            target_type="律师事务所",
            ratio_percent=100,
        )
        world.extra[f"{side}target"] = InspectionTarget.objects.create(
            unit=unit, name=f"{side}矩阵律师事务所", target_type="律师事务所"
        )
    # Two certified inspectors in the other bureau too, so a draw there can succeed.
    make_officer(world.other_bureau, name="钱检查")
    from tests.factories import make_device

    world.extra["tablet"], world.extra["tablet_token"] = make_device(
        officer=world.officer, kind="tablet"
    )
    world.extra["other_tablet"], world.extra["other_tablet_token"] = make_device(
        officer=world.extra["other_office_officer"], kind="tablet"
    )
    world.extra["draw"] = draw_create(
        item=world.extra["item"], period="2030", actor=world.users[SYS]
    )
    return world


def test_apps_authorization_matrix(apps_world: World) -> None:
    def tablet_for_tablet_cells(key: str, principal: str, client: Any) -> Any:
        if principal == DEVICE and key in TABLET_CELLS:
            return _bearer(apps_world.extra["tablet_token"])
        return client

    run_matrix(apps_world, APPS_MATRIX, client_for=tablet_for_tablet_cells)


def _bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


# -- reads of lists: the rows are scoped, not only the status ---------------------------------


def _ids(rows: Any, key: str = "id") -> set[str]:
    return {str(row[key]) for row in rows}


def test_list_reads_are_scoped(apps_world: World) -> None:
    """A supervisor's lists show their units' objects and never another unit's."""
    from backend.retention.models import LegalHold

    world = apps_world
    own_ctx, other_ctx = (Ctx(world, side, SUP, None) for side in SIDES)
    own_hold, other_hold = hold(own_ctx), hold(other_ctx)
    reference_hold = LegalHold.objects.create(
        target_kind="case",
        reference="乙县-2026-001",
        reason="矩阵",
        placed_by=world.other_users[SUP],
    )
    own_inspection, other_inspection = (
        concluded_inspection(own_ctx),
        concluded_inspection(other_ctx),
    )
    own_activity = str(world.extra["activity"].pk)
    other_activity = str(world.extra["other_activity"].pk)

    client, _user = _client(world, SUP)
    holds = _ids(client.get("/api/retention/holds").json())
    assert own_hold in holds and other_hold not in holds and str(reference_hold.pk) not in holds
    activities = _ids(client.get("/api/enforcement/activities").json())
    assert own_activity in activities and other_activity not in activities
    subjects = _ids(client.get("/api/corrections/subjects").json())
    assert str(world.extra["subject"].pk) in subjects
    assert str(world.extra["other_subject"].pk) not in subjects
    offices = _ids(
        client.get(f"/api/corrections/figures/offices?month={month()}").json(), "office_id"
    )
    assert str(world.office.pk) in offices and str(world.extra["other_office"].pk) not in offices
    items = _ids(client.get("/api/inspections/items").json())
    assert str(world.extra["item"].pk) in items and str(world.extra["other_item"].pk) not in items
    pending = _ids(client.get("/api/inspections/pending-publication").json())
    assert own_inspection in pending and other_inspection not in pending
    report = client.get("/api/coverage/reports/activities").json()["rows"]
    assert own_activity in _ids(report, "activity_id")
    assert other_activity not in _ids(report, "activity_id")

    # The other unit's supervisor sees the mirror image; the storage administrator every hold.
    other_client = Client()
    other_client.force_login(world.other_users[SUP])
    holds = _ids(other_client.get("/api/retention/holds").json())
    assert other_hold in holds and str(reference_hold.pk) in holds and own_hold not in holds
    store, _user = _client(world, STORE)
    assert {own_hold, other_hold, str(reference_hold.pk)} <= _ids(
        store.get("/api/retention/holds").json()
    )
    # Roles without correction duties see no subject (personal data) at all.
    for role in (FO, LEGAL, STORE, AUD):
        role_client, _user = _client(world, role)
        assert role_client.get("/api/corrections/subjects").json() == [], role


def test_reference_holds_of_another_unit_cannot_be_released(apps_world: World) -> None:
    from backend.retention.models import LegalHold

    world = apps_world
    theirs = LegalHold.objects.create(
        target_kind="case",
        reference="乙县-2026-002",
        reason="矩阵",
        placed_by=world.other_users[SUP],
    )
    for role in (SUP, LEGAL):
        client, _user = _client(world, role)
        response = client.post(
            f"/api/retention/holds/{theirs.pk}/release",
            {"reason": "猜测"},
            content_type="application/json",
        )
        assert response.status_code == 404, (role, response.content)
        assert set(response.json()) == {"code", "message", "details"}
    theirs.refresh_from_db()
    assert theirs.released_at is None
    # Their own unit's legal officer (not the placer) may release it.
    client = Client()
    client.force_login(world.other_users[LEGAL])
    response = client.post(
        f"/api/retention/holds/{theirs.pk}/release",
        {"reason": "结案"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


def test_coverage_reports_answer_404_for_another_units_unit_id(apps_world: World) -> None:
    client, _user = _client(apps_world, SUP)
    for report in ("activities", "officers", "units"):
        response = client.get(
            f"/api/coverage/reports/{report}?unit_id={apps_world.other_bureau.pk}"
        )
        assert response.status_code == 404, (report, response.status_code)


# -- device-token endpoints -------------------------------------------------------------------


def test_record_sync_refuses_sessions_and_body_cameras(apps_world: World) -> None:
    """Every role's session gets 401 (the tablet's token is the only credential); a body
    camera's token is refused with 403 `device_kind_not_allowed`."""
    world = apps_world
    body = {"device_time": timezone.now().isoformat(), "mutations": []}

    def call(client: Client, path: str) -> Any:
        if path.endswith("push"):
            return client.post(path, body, content_type="application/json")
        return client.get(path)

    for path in ("/api/sync/v1/records/push", "/api/sync/v1/records/pull"):
        for role in Role.values:
            client, _user = _client(world, role)
            response = call(client, path)
            assert response.status_code == 401, (path, role, response.status_code)
            assert set(response.json()) == {"code", "message", "details"}
        response = call(_bearer(world.device_token), path)
        assert response.status_code == 403, (path, response.content)
        assert response.json()["code"] == "device_kind_not_allowed"
        assert call(_bearer(world.extra["tablet_token"]), path).status_code == 200


def test_record_sync_does_not_reach_another_offices_records(apps_world: World) -> None:
    """Another office's tablet can neither read nor change this office's records."""
    from backend.corrections.models import Contact
    from sync.records.models import SyncRecord
    from tests.fieldwork.conftest import checkin_data

    world = apps_world
    ours, theirs = _bearer(world.extra["tablet_token"]), _bearer(world.extra["other_tablet_token"])
    record_id = str(uuid.uuid4())
    mutation = {
        "mutation_id": str(uuid.uuid4()),
        "op": "put",
        "kind": "check_in",
        "record_id": record_id,
        "data": checkin_data(world.extra["subject"], notes="本所"),
    }

    def push(client: Client, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
        response = client.post(
            "/api/sync/v1/records/push",
            {"device_time": timezone.now().isoformat(), "mutations": list(mutations)},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        return list(response.json()["results"])

    assert push(ours, mutation)[0]["status"] == "applied"
    version = SyncRecord.objects.get(pk=record_id).version

    def pulled(client: Client) -> set[str]:
        response = client.get("/api/sync/v1/records/pull?cursor=0&limit=1000")
        assert response.status_code == 200
        return {r["id"] for r in response.json()["records"]}

    assert record_id in pulled(ours) and str(world.extra["subject"].pk) in pulled(ours)
    assert record_id not in pulled(theirs) and str(world.extra["subject"].pk) not in pulled(theirs)

    # An edit and a delete of our record from their tablet: refused, nothing leaks or changes.
    intrusions = [
        {
            **mutation,
            "mutation_id": str(uuid.uuid4()),
            "base_version": version,
            "data": checkin_data(world.extra["other_subject"], notes="篡改"),
        },
        {**mutation, "mutation_id": str(uuid.uuid4()), "op": "delete", "base_version": version},
    ]
    for intrusion in intrusions:
        result = push(theirs, intrusion)[0]
        assert result["status"] == "rejected", result
        assert not result.get("server_copy"), result
        assert set(result) >= {"code", "message", "details"}
    assert Contact.objects.get(pk=record_id).notes == "本所"
    assert SyncRecord.objects.get(pk=record_id).version == version
    # A new check-in for a subject of another office is refused too.
    foreign = {**mutation, "mutation_id": str(uuid.uuid4()), "record_id": str(uuid.uuid4())}
    result = push(theirs, foreign)[0]
    assert result["status"] == "rejected", result
    assert not Contact.objects.filter(pk=foreign["record_id"]).exists()


def test_upload_endpoint_refuses_sessions_and_other_devices(
    apps_world: World, staging_dir: Any
) -> None:
    """tus uploads: a signed-in user's session cookie is no credential (401); another
    device's upload answers 404 to HEAD, PATCH and DELETE."""
    from tests.sync.test_tus_django import Endpoint, announce, expect_error

    world = apps_world
    endpoint = Endpoint()
    data = uuid.uuid4().bytes * 100
    url = announce(world.device_token, "CLIP-MATRIX", data)["upload_url"]
    session = Client()
    session.force_login(world.users[SYS])
    cookie = f"sessionid={session.cookies['sessionid'].value}"
    for method in ("POST", "HEAD", "DELETE"):
        path = url if method != "POST" else "/api/sync/v1/uploads/"
        headers = {"Cookie": cookie, "Upload-Length": str(len(data))}
        response = endpoint.call(method, path, token=None, headers=headers)
        assert response is not None and response.status == 401, (method, response)
    other_token = world.extra["tablet_token"]
    expect_error(endpoint.call("HEAD", url, token=other_token), 404, "upload_not_found")
    expect_error(endpoint.patch(url, 0, [data[:100]], token=other_token), 404, "upload_not_found")
    expect_error(endpoint.call("DELETE", url, token=other_token), 404, "upload_not_found")
    head = endpoint.call("HEAD", url, token=world.device_token)
    assert head is not None and head.status == 200


def test_activities_name_only_officers_within_the_callers_scope(apps_world: World) -> None:
    world = apps_world
    body = {
        "category": "行政检查",
        "stage": "现场检查",
        "unit_id": world.office.pk,
        "officer_ids": [world.officer.pk, world.other_officer.pk],
        "place": "矩阵",
        "start": manual_moment(),
    }
    answers = {}
    for name, client in (
        ("supervisor", _client(world, SUP)[0]),
        ("device", _bearer(world.device_token)),
    ):
        with transaction.atomic():
            point = transaction.savepoint()
            response = client.post(
                "/api/enforcement/activities", body, content_type="application/json"
            )
            transaction.savepoint_rollback(point)
        answers[name] = (response.status_code, response.json().get("code"))
    assert set(answers.values()) == {(400, "unknown_officers")}, answers
