"""The authorization matrix: every page and API operation × every role, a device token and
anonymous × an object of the caller's own unit and of another unit.

The endpoints come from the project itself (Django's URL resolver and the ninja API's
OpenAPI schema); an endpoint missing from MATRIX fails the test, so none is forgotten.

Endpoints of the review app, the core (footage, devices, sync) and the other apps' reads
of one activity or recording are asserted cell by cell. For the other apps' operations (ENDPOINTS_AUTH_ONLY) the matrix asserts the
authentication layer exactly (anonymous 401, a device token refused on user operations
and a user session on device operations, public operations open) and that no signed-in
role gets a server error; their owners refine the role cells.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.config.api import api
from backend.review import services
from tests.review.conftest import World, make_activity

pytestmark = pytest.mark.django_db

ROLES = list(Role.values)
ANON = "anonymous"
DEVICE = "device"
PRINCIPALS = [*ROLES, DEVICE, ANON]
SIDES = ("own", "other")

FO, CO, SUP, LEGAL, STORE, AUD, SYS = (
    Role.FIELD_OFFICER,
    Role.CORRECTION_OFFICER,
    Role.SUPERVISOR,
    Role.LEGAL_OFFICER,
    Role.STORAGE_ADMIN,
    Role.AUDITOR,
    Role.SYSTEM_ADMIN,
)
CONTENT = {FO, CO, SUP, LEGAL, SYS}  # see their own unit's recordings by their post


@dataclass
class Ctx:
    world: World
    side: str
    principal: str
    user: User | None
    objects: dict[str, Any] = field(default_factory=dict)


Expect = Callable[[str, str], int | set[int]]


@dataclass
class Cell:
    method: str
    path: Callable[[Ctx], str]
    expect: Expect
    body: Callable[[Ctx], Any] | None = None
    form: bool = False
    sided: bool = True


def roles(
    own: dict[str, int],
    other: dict[str, int] | None = None,
    *,
    default: int,
    other_default: int | None = None,
    anon: int,
    device: int | dict[str, int],
) -> Expect:
    """Expected status per principal and side; `device` may differ by side too."""

    def expect(principal: str, side: str) -> int:
        if principal == ANON:
            return anon
        if principal == DEVICE:
            return device[side] if isinstance(device, dict) else device
        if side == "other" and (other is not None or other_default is not None):
            table = other or {}
            return table.get(principal, default if other_default is None else other_default)
        return own.get(principal, default)

    return expect


def same(status: int, *, anon: int, device: int, **overrides: int) -> Expect:
    return roles({k: v for k, v in overrides.items()}, default=status, anon=anon, device=device)


# -- objects each cell needs (created inside the cell's savepoint) ---------------------------


def recording(ctx: Ctx) -> str:
    return str(ctx.world.recordings[ctx.side].pk)


def activity(ctx: Ctx) -> str:
    return str(ctx.world.extra["activity" if ctx.side == "own" else "other_activity"].pk)


def access_request(ctx: Ctx) -> str:
    """Own side: a request the principal filed; other side: one someone else filed."""
    requester = ctx.user if ctx.side == "own" and ctx.user else ctx.world.other_users[FO]
    request = services.access_request_create(
        requester=requester,
        requester_kind="staff",
        purpose="矩阵",
        recording_ids=[str(ctx.world.recordings["own"].pk)],
        want_copy=True,
    )
    return str(request.pk)


def grant(ctx: Ctx) -> str:
    holder = ctx.user if ctx.side == "own" and ctx.user else ctx.world.other_users[FO]
    request = services.access_request_create(
        requester=holder,
        requester_kind="staff",
        purpose="矩阵",
        recording_ids=[str(ctx.world.recordings["own"].pk)],
        want_copy=True,
    )
    approver = ctx.world.bureau_head if holder != ctx.world.bureau_head else ctx.world.office_head
    return str(services.access_request_approve(request_id=request.pk, approver=approver).pk)


def export(ctx: Ctx) -> str:
    from backend.review.models import AccessGrant

    granted = AccessGrant.objects.get(pk=grant(ctx))
    return str(services.export_create(grant=granted, user=granted.holder).pk)


def own_device(ctx: Ctx) -> str:
    return str((ctx.world.device if ctx.side == "own" else ctx.world.other_device).pk)


def correction_subject(ctx: Ctx) -> str:
    """Own side: a subject of the own bureau's justice office (a correction officer
    principal is put on that office's roster, so that they may log contacts); other side:
    one of an office of the other bureau."""
    from backend.corrections.services import ScheduleInput, subject_create
    from tests.factories import make_officer, make_unit

    if ctx.side == "own":
        office = ctx.world.office
    else:
        office = make_unit("乙县城关司法所", kind="office", parent=ctx.world.other_bureau)
    officer = make_officer(office, name="矩阵矫正员")
    if ctx.side == "own" and ctx.principal == CO and ctx.user is not None:
        officer.user = ctx.user
        officer.save(update_fields=["user"])
    today = timezone.localdate()
    subject = subject_create(
        actor=ctx.world.users[SYS],
        name="矩阵对象",
        sentence_kind="probation",
        term_start=today - timedelta(days=60),
        term_end=today + timedelta(days=300),
        office=office,
        responsible_officer=officer,
        schedules=[ScheduleInput(kind="check_in", frequency="monthly", times=1)],
    )
    return str(subject.pk)


def correction_permission(ctx: Ctx) -> int:
    """A pending 外出 of the side's subject, requested by someone other than the caller."""
    from backend.corrections.models import PermissionRequest, Subject
    from tests.factories import make_user

    subject = Subject.objects.get(pk=correction_subject(ctx))
    now = timezone.now()
    return PermissionRequest.objects.create(
        subject=subject,
        office_id=subject.office_id,
        kind="outing",
        reason="矩阵",
        destination="省城",
        starts_at=now,
        ends_at=now + timedelta(days=1),
        requested_by=make_user(role=CO, unit=subject.office),
    ).pk


def position_alert(ctx: Ctx) -> int:
    from backend.corrections.models import PositionAlert, Subject

    subject = Subject.objects.get(pk=correction_subject(ctx))
    now = timezone.now()
    return PositionAlert.objects.create(
        subject=subject, office_id=subject.office_id, kind="left_area", first_at=now, last_at=now
    ).pk


def contact_form(ctx: Ctx) -> dict[str, Any]:
    started = timezone.localtime() - timedelta(hours=1)
    return {
        "kind": "talk",
        "started_at": f"{started:%Y-%m-%dT%H:%M}",
        "minutes": "20",
        "notes": "矩阵",
    }


def explanation(ctx: Ctx) -> str:
    """A pending explanation of the side's activity (own: the fixture's, submitted by the
    officer's tablet; other: one given in the other bureau)."""
    from backend.coverage.models import GapExplanation

    if ctx.side == "own":
        found = GapExplanation.objects.filter(activity=ctx.world.extra["activity"]).first()
        assert found is not None
        return str(found.pk)
    made = GapExplanation.objects.create(
        activity=ctx.world.extra["other_activity"],
        officer=ctx.world.other_officer,
        reason="battery",
        text="矩阵",
    )
    return str(made.pk)


def manifest_body(ctx: Ctx) -> dict[str, Any]:
    return {"device_time": timezone.now().isoformat(), "clips": []}


# -- the matrix --------------------------------------------------------------------------------

PAGE = {"anon": 302, "device": 302}
API = {"anon": 401, "device": 401}
RECORDING_SCOPE = roles(
    {r: 200 for r in CONTENT}, {SYS: 200}, default=404, other_default=404, **PAGE
)

MATRIX: dict[str, Cell] = {
    # Pages (backend/review/urls.py and i18n).
    "GET /": Cell("GET", lambda c: "/", same(200, **PAGE), sided=False),
    "GET /accounts/login/": Cell(
        "GET", lambda c: "/accounts/login/", same(302, anon=200, device=200), sided=False
    ),
    "POST /accounts/logout/": Cell(
        "POST", lambda c: "/accounts/logout/", same(302, anon=302, device=302), sided=False
    ),
    "POST /i18n/setlang/": Cell(
        "POST",
        lambda c: "/i18n/setlang/",
        same(302, anon=302, device=302),
        body=lambda c: {"language": "en", "next": "/"},
        form=True,
        sided=False,
    ),
    "GET /recordings/": Cell(
        "GET", lambda c: "/recordings/", same(200, **PAGE, storage_admin=302), sided=False
    ),
    "GET /recordings/<str:recording_id>/": Cell(
        "GET", lambda c: f"/recordings/{recording(c)}/", RECORDING_SCOPE
    ),
    "POST /recordings/<str:recording_id>/download/": Cell(
        "POST",
        lambda c: f"/recordings/{recording(c)}/download/",
        roles({r: 403 for r in CONTENT}, {SYS: 403}, default=404, other_default=404, **PAGE),
        body=lambda c: {},
        form=True,
    ),
    "GET /activities/": Cell("GET", lambda c: "/activities/", same(200, **PAGE), sided=False),
    "GET /activities/<str:activity_id>/": Cell(
        "GET",
        lambda c: f"/activities/{activity(c)}/",
        roles({r: 200 for r in CONTENT}, {SYS: 200}, default=404, other_default=404, **PAGE),
    ),
    "GET /access/": Cell("GET", lambda c: "/access/", same(200, **PAGE), sided=False),
    "POST /access/": Cell(
        "POST",
        lambda c: "/access/",
        same(302, **PAGE),
        form=True,
        body=lambda c: {
            "requester_kind": "staff",
            "purpose": "矩阵",
            "recording_ids": recording(c),
        },
    ),
    "GET /access/<str:request_id>/": Cell(
        "GET",
        lambda c: f"/access/{access_request(c)}/",
        roles({}, {AUD: 200, SYS: 200}, default=200, other_default=404, **PAGE),
    ),
    "POST /access/<str:request_id>/documents/": Cell(
        "POST",
        lambda c: f"/access/{access_request(c)}/documents/",
        roles({}, {AUD: 403, SYS: 403}, default=302, other_default=404, **PAGE),
        form=True,
        body=lambda c: {"kind": "identity", "document": _upload()},
    ),
    "POST /access/<str:request_id>/approve/": Cell(
        "POST",
        lambda c: f"/access/{access_request(c)}/approve/",
        roles({}, {AUD: 403, SYS: 403}, default=403, other_default=404, **PAGE),
        form=True,
        body=lambda c: {"valid_days": 3},
    ),
    "POST /access/<str:request_id>/reject/": Cell(
        "POST",
        lambda c: f"/access/{access_request(c)}/reject/",
        roles({}, {AUD: 403, SYS: 403}, default=403, other_default=404, **PAGE),
        form=True,
        body=lambda c: {"valid_days": 3},
    ),
    "POST /grants/<str:grant_id>/export/": Cell(
        "POST",
        lambda c: f"/grants/{grant(c)}/export/",
        roles({}, default=302, other_default=404, **PAGE),
        form=True,
        body=lambda c: {},
    ),
    # Own side: the principal holds the grant (a holder never revokes: 403); other side: a
    # field officer of another bureau holds it, the bureau head approved it: only a system
    # administrator may revoke, everyone else does not see it (404).
    "POST /grants/<str:grant_id>/revoke/": Cell(
        "POST",
        lambda c: f"/grants/{grant(c)}/revoke/",
        roles({}, {SYS: 302}, default=403, other_default=404, **PAGE),
        form=True,
        body=lambda c: {"reason": "矩阵"},
    ),
    "GET /exports/<str:export_id>/": Cell(
        "GET", lambda c: f"/exports/{export(c)}/", roles({}, default=200, other_default=404, **PAGE)
    ),
    "GET /exports/<str:export_id>/download/": Cell(
        "GET",
        lambda c: f"/exports/{export(c)}/download/",
        roles({}, default=200, other_default=404, **PAGE),
    ),
    "GET /register/": Cell(
        "GET", lambda c: "/register/", same(200, **PAGE, storage_admin=403), sided=False
    ),
    "GET /register.xlsx": Cell(
        "GET", lambda c: "/register.xlsx", same(200, **PAGE, storage_admin=403), sided=False
    ),
    "GET /audit/": Cell(
        "GET", lambda c: "/audit/", same(403, **PAGE, auditor=200, system_admin=200), sided=False
    ),
    "GET /audit.xlsx": Cell(
        "GET",
        lambda c: "/audit.xlsx",
        same(403, **PAGE, auditor=200, system_admin=200),
        sided=False,
    ),
    "GET /storage/": Cell(
        "GET",
        lambda c: "/storage/",
        same(403, **PAGE, storage_admin=200, system_admin=200),
        sided=False,
    ),
    "GET /integrity/": Cell("GET", lambda c: "/integrity/", same(200, **PAGE), sided=False),
    "GET /calendar/": Cell(
        "GET", lambda c: "/calendar/", same(403, **PAGE, system_admin=200), sided=False
    ),
    "GET /calendar/<int:year>/": Cell(
        "GET", lambda c: "/calendar/2026/", same(403, **PAGE, system_admin=200), sided=False
    ),
    "GET /calendar/<int:year>/export.xlsx": Cell(
        "GET",
        lambda c: "/calendar/2026/export.xlsx",
        same(403, **PAGE, system_admin=200),
        sided=False,
    ),
    # An empty form: refused with 400 for the system administrator, 403 for everyone else.
    "POST /calendar/enter/": Cell(
        "POST",
        lambda c: "/calendar/enter/",
        same(403, **PAGE, system_admin=400),
        body=lambda c: {},
        form=True,
        sided=False,
    ),
    # Import pages (GET the form, POST an empty form: 400) and the XLSX exports, for the
    # roles the API (or, for the roster, the supervisors and system administrators) allow.
    **{
        f"{method} {path}": Cell(
            method,
            lambda c, path=path: path,
            same(403, **PAGE, **{role: ok for role in allowed}),
            form=method == "POST",
            sided=False,
        )
        for path, allowed in (
            ("/officers/import/", (SUP, SYS)),
            ("/enforcement/record-list/", (LEGAL, SYS)),
            ("/enforcement/activities/import/", (SUP, LEGAL, CO, SYS)),
            ("/inspections/items/", (SUP, LEGAL, SYS)),
            ("/inspections/targets/", (SUP, LEGAL, SYS)),
            ("/enforcement/matters/", (LEGAL, SYS)),
        )
        for method, ok in (("GET", 200), ("POST", 400))
    },
    **{
        f"GET {path}": Cell(
            "GET",
            lambda c, path=path: path,
            same(403, **PAGE, **{role: 200 for role in allowed}),
            sided=False,
        )
        for path, allowed in (
            ("/officers/export.xlsx", (SUP, SYS)),
            ("/enforcement/record-list/export.xlsx", (LEGAL, SYS)),
            ("/inspections/items/export.xlsx", (SUP, LEGAL, SYS)),
            ("/inspections/targets/export.xlsx", (SUP, LEGAL, SYS)),
            ("/enforcement/matters/export.xlsx", (LEGAL, SYS)),
        )
    },
    "GET /admin/": Cell("GET", lambda c: "/admin/", same(302, anon=302, device=302), sided=False),
    # Public: the API docs in ReDoc (assets served locally) and the favicon.
    "GET /api/redoc": Cell(
        "GET", lambda c: "/api/redoc", same(200, anon=200, device=200), sided=False
    ),
    "GET /favicon.ico": Cell(
        "GET", lambda c: "/favicon.ico", same(200, anon=200, device=200), sided=False
    ),
    # 持证上岗: certificates expiring soon, for the roles that assign officers to work.
    "GET /officers/certificates/": Cell(
        "GET",
        lambda c: "/officers/certificates/",
        same(403, **PAGE, supervisor=200, legal_officer=200, system_admin=200),
        sided=False,
    ),
    # Community correction pages: correction roles; subjects of another bureau are 404 (the
    # system administrator sees all); only the office's correction officer logs contacts.
    "GET /corrections/": Cell(
        "GET",
        lambda c: "/corrections/",
        same(403, **PAGE, correction_officer=200, supervisor=200, system_admin=200),
        sided=False,
    ),
    "GET /corrections/alerts/": Cell(
        "GET",
        lambda c: "/corrections/alerts/",
        same(403, **PAGE, correction_officer=200, supervisor=200, system_admin=200),
        sided=False,
    ),
    "GET /corrections/subjects/<str:subject_id>/": Cell(
        "GET",
        lambda c: f"/corrections/subjects/{correction_subject(c)}/",
        roles(
            {CO: 200, SUP: 200, SYS: 200},
            {CO: 404, SUP: 404, SYS: 200},
            default=403,
            other_default=403,
            **PAGE,
        ),
    ),
    # Steps, approvals and position alerts: correction officers and supervisors of the
    # office and above (another bureau's subject: 404); the system administrator reads but
    # does not act (403). The requester of an approval cannot decide it.
    "POST /corrections/subjects/<str:subject_id>/steps/": Cell(
        "POST",
        lambda c: f"/corrections/subjects/{correction_subject(c)}/steps/",
        roles(
            {CO: 302, SUP: 302, SYS: 403},
            {CO: 404, SUP: 404, SYS: 403},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {"kind": "warning", "on_date": f"{timezone.localdate():%Y-%m-%d}"},
        form=True,
    ),
    "POST /corrections/subjects/<str:subject_id>/permissions/": Cell(
        "POST",
        lambda c: f"/corrections/subjects/{correction_subject(c)}/permissions/",
        roles(
            {CO: 302, SUP: 302, SYS: 403},
            {CO: 404, SUP: 404, SYS: 403},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {
            "kind": "outing",
            "destination": "省城",
            "reason": "矩阵",
            "starts_at": f"{timezone.localtime():%Y-%m-%dT%H:%M}",
            "ends_at": f"{timezone.localtime() + timedelta(days=1):%Y-%m-%dT%H:%M}",
        },
        form=True,
    ),
    "GET /corrections/permissions/": Cell(
        "GET",
        lambda c: "/corrections/permissions/",
        same(403, **PAGE, correction_officer=200, supervisor=200, system_admin=200),
        sided=False,
    ),
    "POST /corrections/permissions/<int:request_id>/decide/": Cell(
        "POST",
        lambda c: f"/corrections/permissions/{correction_permission(c)}/decide/",
        roles(
            {CO: 302, SUP: 302, SYS: 403},
            {CO: 404, SUP: 404, SYS: 403},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {"decision": "approve", "note": "矩阵"},
        form=True,
    ),
    "POST /corrections/position-alerts/<int:alert_id>/close/": Cell(
        "POST",
        lambda c: f"/corrections/position-alerts/{position_alert(c)}/close/",
        roles(
            {CO: 302, SUP: 302, SYS: 403},
            {CO: 404, SUP: 404, SYS: 403},
            default=403,
            other_default=403,
            **PAGE,
        ),
        body=lambda c: {"handling": "called", "note": "矩阵"},
        form=True,
    ),
    # Tracks (行踪轨迹): correction officers and supervisors of the subject's office and
    # above only; the system administrator is refused too (privacy). The form alone
    # (no purpose) shows and registers nothing.
    "GET /corrections/subjects/<str:subject_id>/track/": Cell(
        "GET",
        lambda c: f"/corrections/subjects/{correction_subject(c)}/track/",
        roles(
            {CO: 200, SUP: 200},
            {CO: 404, SUP: 404},
            default=403,
            other_default=403,
            **PAGE,
        ),
    ),
    "GET /corrections/track-register/": Cell(
        "GET",
        lambda c: "/corrections/track-register/",
        same(403, **PAGE, correction_officer=200, supervisor=200),
        sided=False,
    ),
    "POST /corrections/subjects/<str:subject_id>/contacts/": Cell(
        "POST",
        lambda c: f"/corrections/subjects/{correction_subject(c)}/contacts/",
        roles({CO: 302}, {CO: 404, SUP: 404}, default=403, other_default=403, **PAGE),
        body=contact_form,
        form=True,
    ),
    # Gap explanations: a participant explains (the field officer of the own activity);
    # supervisors, legal officers and the system administrator decide, with a reason.
    "POST /coverage/activities/<str:activity_id>/explanations/": Cell(
        "POST",
        lambda c: f"/coverage/activities/{activity(c)}/explanations/",
        roles(
            {FO: 302, CO: 403, SUP: 403, LEGAL: 403, SYS: 403},
            {SYS: 403},
            default=404,
            other_default=404,
            **PAGE,
        ),
        body=lambda c: {"reason": "battery", "text": "矩阵"},
        form=True,
    ),
    "POST /coverage/explanations/<int:explanation_id>/decide/": Cell(
        "POST",
        lambda c: f"/coverage/explanations/{explanation(c)}/decide/",
        roles(
            {FO: 403, CO: 403, SUP: 302, LEGAL: 302, SYS: 302},
            {SYS: 302},
            default=404,
            other_default=404,
            **PAGE,
        ),
        body=lambda c: {"decision": "accept", "note": "矩阵"},
        form=True,
    ),
    # Approvers: system administrators only (an empty form is a 400 for them).
    "GET /approvers/": Cell(
        "GET", lambda c: "/approvers/", same(403, **PAGE, system_admin=200), sided=False
    ),
    **{
        f"POST /approvers/{action}": Cell(
            "POST",
            lambda c, action=action: f"/approvers/{action}",
            same(403, **PAGE, system_admin=400),
            form=True,
            sided=False,
        )
        for action in ("access/", "access/withdraw/", "leaders/", "leaders/withdraw/")
    },
    # Review API.
    "GET /api/review/access-requests": Cell(
        "GET", lambda c: "/api/review/access-requests", same(200, **API), sided=False
    ),
    "POST /api/review/access-requests": Cell(
        "POST",
        lambda c: "/api/review/access-requests",
        same(201, **API),
        body=lambda c: {
            "requester_kind": "staff",
            "purpose": "矩阵",
            "recording_ids": [recording(c)],
        },
    ),
    "POST /api/review/access-requests/{request_id}/approve": Cell(
        "POST",
        lambda c: f"/api/review/access-requests/{access_request(c)}/approve",
        roles({}, {AUD: 403, SYS: 403}, default=403, other_default=404, **API),
        body=lambda c: {"valid_days": 3},
    ),
    "POST /api/review/access-requests/{request_id}/reject": Cell(
        "POST",
        lambda c: f"/api/review/access-requests/{access_request(c)}/reject",
        roles({}, {AUD: 403, SYS: 403}, default=403, other_default=404, **API),
        body=lambda c: {},
    ),
    "GET /api/review/register": Cell(
        "GET", lambda c: "/api/review/register", same(200, **API, storage_admin=403), sided=False
    ),
    "GET /api/review/recordings/{recording_id}/playback": Cell(
        "GET",
        lambda c: f"/api/review/recordings/{recording(c)}/playback",
        roles({r: 200 for r in CONTENT}, {SYS: 200}, default=404, other_default=404, **API),
    ),
    "GET /api/review/grants": Cell(
        "GET", lambda c: "/api/review/grants", same(200, **API), sided=False
    ),
    "POST /api/review/grants/{grant_id}/revoke": Cell(
        "POST",
        lambda c: f"/api/review/grants/{grant(c)}/revoke",
        roles({}, {SYS: 200}, default=403, other_default=404, **API),
        body=lambda c: {"reason": "矩阵"},
    ),
    "POST /api/review/grants/{grant_id}/exports": Cell(
        "POST",
        lambda c: f"/api/review/grants/{grant(c)}/exports",
        roles({}, default=201, other_default=404, **API),
        body=lambda c: {},
    ),
    # Other apps' reads of one object, asserted cell by cell: ids of another unit are 404.
    "GET /api/enforcement/activities/{activity_id}": Cell(
        "GET",
        lambda c: f"/api/enforcement/activities/{activity(c)}",
        # A device acts for its officer, who took part in the own-side activity.
        roles(
            {r: 200 for r in CONTENT},
            {SYS: 200},
            default=404,
            other_default=404,
            anon=401,
            device={"own": 200, "other": 404},
        ),
    ),
    "GET /api/coverage/activities/{activity_id}": Cell(
        "GET",
        lambda c: f"/api/coverage/activities/{activity(c)}",
        roles({r: 200 for r in CONTENT}, {SYS: 200}, default=404, other_default=404, **API),
    ),
    "POST /api/coverage/activities/{activity_id}/recheck": Cell(
        "POST",
        lambda c: f"/api/coverage/activities/{activity(c)}/recheck",
        # Officers see the verdict but only supervisors and legal officers ask for a recheck.
        roles(
            {SUP: 200, LEGAL: 200, SYS: 200, FO: 403, CO: 403},
            {SYS: 200},
            default=404,
            other_default=404,
            **API,
        ),
    ),
    "GET /api/retention/recordings/{recording_id}/fixity": Cell(
        "GET",
        lambda c: f"/api/retention/recordings/{recording(c)}/fixity",
        # Storage facts: the storage administrator's, for every unit; never content roles'.
        roles({STORE: 200, SYS: 200}, {STORE: 200, SYS: 200}, default=403, **API),
    ),
    "POST /api/coverage/activities/{activity_id}/links": Cell(
        "POST",
        lambda c: f"/api/coverage/activities/{activity(c)}/links",
        # Supervisors and legal officers link recordings to their units' activities.
        roles(
            {SUP: 201, LEGAL: 201, SYS: 201, FO: 403, CO: 403},
            # The system administrator reaches the other unit's activity, whose participants
            # do not include the recording's officer.
            {SYS: 400},
            default=404,
            other_default=404,
            **API,
        ),
        body=lambda c: {"recording_id": recording(c), "reason": "矩阵"},
    ),
    "POST /api/coverage/activities/{activity_id}/explanations": Cell(
        "POST",
        lambda c: f"/api/coverage/activities/{activity(c)}/explanations",
        # Only a participating officer explains a gap (the field officer took part).
        roles(
            {FO: 201, CO: 403, SUP: 403, LEGAL: 403, SYS: 403},
            {SYS: 403},
            default=404,
            other_default=404,
            **API,
        ),
        body=lambda c: {"reason": "battery", "text": "矩阵"},
    ),
    "POST /api/enforcement/activities/{activity_id}/moments": Cell(
        "POST",
        lambda c: f"/api/enforcement/activities/{activity(c)}/moments",
        roles(
            {r: 201 for r in CONTENT},
            {SYS: 201},
            default=404,
            other_default=404,
            anon=401,
            device={"own": 201, "other": 404},
        ),
        body=lambda c: {
            "occurred_at": timezone.now().isoformat(),
            "source": "manual",
            "code": "enter_site",
            "reason": "矩阵：补录进入现场时刻",
        },
    ),
    "GET /api/retention/holds": Cell(
        "GET",
        lambda c: "/api/retention/holds",
        same(403, **API, supervisor=200, legal_officer=200, storage_admin=200, system_admin=200),
        sided=False,
    ),
    # Integrity (backend/integrity): the roots are public; a recording's proof follows the
    # recording's visibility (the matrix's recordings were stored today: 409 proof_pending
    # for those who see them, 404 for everyone else).
    "GET /api/integrity/roots": Cell(
        "GET", lambda c: "/api/integrity/roots", same(200, anon=200, device=200), sided=False
    ),
    "GET /api/integrity/recordings/{recording_id}/proof": Cell(
        "GET",
        lambda c: f"/api/integrity/recordings/{recording(c)}/proof",
        roles({r: 409 for r in CONTENT}, {SYS: 409}, default=404, other_default=404, **API),
    ),
    # Core API.
    "GET /api/recordings/{recording_id}": Cell(
        "GET",
        lambda c: f"/api/recordings/{recording(c)}",
        roles({r: 200 for r in CONTENT}, {SYS: 200}, default=404, other_default=404, **API),
    ),
    "POST /api/recordings/{recording_id}/time-correction": Cell(
        "POST",
        lambda c: f"/api/recordings/{recording(c)}/time-correction",
        # Supervisors (their unit subtree) and the system administrator correct recording
        # times; the other content roles see the recording but may not (403); roles that
        # see no recordings, and every role for another unit's recording, get 404.
        roles(
            {SUP: 200, SYS: 200, FO: 403, CO: 403, LEGAL: 403},
            {SYS: 200},
            default=404,
            other_default=404,
            **API,
        ),
        body=lambda c: {"offset_seconds": 10800, "reason": "矩阵：设备时钟慢3小时"},
    ),
    "GET /api/devices/": Cell(
        "GET", lambda c: "/api/devices/", same(403, **API, system_admin=200), sided=False
    ),
    "POST /api/devices/": Cell(
        "POST",
        lambda c: "/api/devices/",
        same(403, **API, system_admin=201),
        sided=False,
        body=lambda c: {"kind": "body_camera", "serial": f"SN-{uuid.uuid4().hex[:8]}"},
    ),
    "POST /api/devices/enrolment-codes": Cell(
        "POST",
        lambda c: "/api/devices/enrolment-codes",
        same(403, **API, system_admin=201),
        sided=False,
        body=lambda c: {"kind": "body_camera"},
    ),
    # Public: a device redeems a one-time code; a wrong code is 401 for every caller.
    "POST /api/sync/v1/enrol": Cell(
        "POST",
        lambda c: "/api/sync/v1/enrol",
        same(401, anon=401, device=401),
        sided=False,
        body=lambda c: {"code": "WRONG-CODE", "serial": "SN-MATRIX"},
    ),
    "POST /api/devices/{device_id}/re-enrol": Cell(
        "POST",
        lambda c: f"/api/devices/{own_device(c)}/re-enrol",
        roles({SYS: 200}, {SYS: 200}, default=403, other_default=403, **API),
        body=lambda c: {"reason": "矩阵"},
    ),
    "POST /api/devices/{device_id}/revoke": Cell(
        "POST",
        lambda c: f"/api/devices/{own_device(c)}/revoke",
        roles({SYS: 200}, {SYS: 200}, default=403, other_default=403, **API),
        body=lambda c: {"reason": "矩阵"},
    ),
    "POST /api/sync/v1/manifest": Cell(
        "POST",
        lambda c: "/api/sync/v1/manifest",
        same(401, anon=401, device=200),
        body=manifest_body,
        sided=False,
    ),
    # Docks only (the matrix's device is a body camera: 403 not_a_dock); a dock's own
    # matrix (its unit's, another unit's, unknown and revoked cameras) is in
    # tests/sync/test_dock_manifest.py.
    "POST /api/sync/v1/dock/manifest": Cell(
        "POST",
        lambda c: "/api/sync/v1/dock/manifest",
        same(401, anon=401, device=403),
        body=lambda c: {
            "device_time": timezone.now().isoformat(),
            "cameras": [{"kind": "body_camera", "serial": "SN-MATRIX", "clips": []}],
        },
        sided=False,
    ),
}

# Other apps' operations: authentication layer asserted exactly, role cells by their owners.
ENDPOINTS_AUTH_ONLY_PREFIXES = (
    "/api/retention/",
    "/api/enforcement/",
    "/api/coverage/",
    "/api/corrections/",
    "/api/inspections/",
    "/api/sync/v1/records/",
    "/api/cases/",
    "/api/sync/v1/positions/",
)


def _upload() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("id.pdf", b"%PDF-1.4 matrix", content_type="application/pdf")


def django_routes() -> set[str]:
    """Every page route (admin counted once, the API by its OpenAPI schema)."""
    found: set[str] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if route.startswith("admin/"):
                    found.add("/admin/")
                elif not route.startswith("api/"):
                    walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                found.add("/" + route)

    walk(get_resolver().url_patterns, "")
    return found


def api_operations() -> list[tuple[str, str, list[str]]]:
    schema = api.get_openapi_schema()
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            schemes = sorted({name for entry in operation.get("security", []) for name in entry})
            operations.append((method.upper(), path, schemes))
    return operations


def test_every_endpoint_is_in_the_matrix() -> None:
    # Other apps' pages (e.g. backend/retention/urls.py) have their cells beside their API's.
    from tests.review.test_authorization_matrix_apps import APPS_MATRIX
    from tests.review.test_authorization_matrix_caselibrary import CASELIBRARY_MATRIX
    from tests.review.test_authorization_matrix_cases import CASES_MATRIX
    from tests.review.test_authorization_matrix_publication import PUBLICATION_MATRIX

    listed = {
        key.split(" ", 1)[1]
        for key in (*MATRIX, *APPS_MATRIX, *CASES_MATRIX, *PUBLICATION_MATRIX, *CASELIBRARY_MATRIX)
    }
    missing_pages = sorted(route for route in django_routes() if route not in listed)
    assert not missing_pages, f"pages missing from the authorization matrix: {missing_pages}"
    missing_api = sorted(
        f"{method} {path}"
        for method, path, _schemes in api_operations()
        if f"{method} {path}" not in {**MATRIX, **PUBLICATION_MATRIX}
        and not path.startswith(ENDPOINTS_AUTH_ONLY_PREFIXES)
    )
    assert not missing_api, f"API operations missing from the authorization matrix: {missing_api}"


def _client(world: World, principal: str) -> tuple[Client, User | None]:
    if principal == ANON:
        return Client(), None
    if principal == DEVICE:
        return Client(headers={"Authorization": f"Bearer {world.device_token}"}), None
    user = world.users[principal]
    client = Client()
    client.force_login(user)
    return client, user


def _call(client: Client, cell: Cell, ctx: Ctx) -> int:
    path = cell.path(ctx)
    body = cell.body(ctx) if cell.body else None
    if cell.method == "GET":
        return client.get(path).status_code
    if cell.form:
        return client.post(path, body or {}).status_code
    return client.generic(
        cell.method, path, data=json.dumps(body or {}), content_type="application/json"
    ).status_code


@pytest.fixture
def matrix_world(world: World) -> World:
    world.extra["activity"] = make_activity(world)
    from backend.enforcement.models import Activity

    world.extra["other_activity"] = Activity.objects.create(
        category="行政检查",
        stage="现场检查",
        unit=world.other_bureau,
        started_at=timezone.now(),
        state="open",
    )
    return world


def run_matrix(
    world: World,
    matrix: dict[str, Cell],
    *,
    client_for: Callable[[str, str, Any], Any] | None = None,
) -> None:
    """The one matrix runner: every cell for every principal (and both sides where the cell
    is sided), each call inside a savepoint rolled back after it; every differing cell is
    reported at once. `client_for(key, principal, client)` may swap the client of a cell
    (e.g. a tablet's token for the device principal)."""
    failures: list[str] = []
    checked = 0
    for key, cell in matrix.items():
        for principal in PRINCIPALS:
            for side in SIDES if cell.sided else ("own",):
                client, user = _client(world, principal)
                if client_for is not None:
                    client = client_for(key, principal, client)
                ctx = Ctx(world, side, principal, user)
                expected = cell.expect(principal, side)
                with transaction.atomic():
                    point = transaction.savepoint()
                    status = _call(client, cell, ctx)
                    transaction.savepoint_rollback(point)
                checked += 1
                ok = status in expected if isinstance(expected, set) else status == expected
                if not ok:
                    failures.append(f"{key} as {principal} ({side}): {status}, expected {expected}")
    assert not failures, f"{len(failures)} cells differ:\n" + "\n".join(failures)
    assert checked == sum(len(PRINCIPALS) * (2 if c.sided else 1) for c in matrix.values())


def test_authorization_matrix(matrix_world: World) -> None:
    run_matrix(matrix_world, MATRIX)


def _fill(path: str) -> str:
    return re.sub(
        r"\{[^}]+\}",
        lambda m: (
            "1"
            if m.group(0)
            in ("{mark_id}", "{hold_id}", "{explanation_id}", "{item_id}", "{list_id}")
            else str(uuid.uuid4())
        ),
        path,
    )


def test_authentication_layer_of_other_apps(matrix_world: World) -> None:
    world = matrix_world
    failures: list[str] = []
    for method, path, schemes in api_operations():
        if not path.startswith(ENDPOINTS_AUTH_ONLY_PREFIXES):
            continue
        url = _fill(path)
        for principal in PRINCIPALS:
            client, _user = _client(world, principal)
            with transaction.atomic():
                point = transaction.savepoint()
                if method == "GET":
                    status = client.get(url).status_code
                else:
                    status = client.generic(
                        method, url, data="{}", content_type="application/json"
                    ).status_code
                transaction.savepoint_rollback(point)
            user_ok = "SessionAuth" in schemes
            device_ok = "DeviceBearer" in schemes
            public = not schemes
            if principal == ANON:
                good = status != 401 if public else status == 401
            elif principal == DEVICE:
                good = status != 401 if (device_ok or public) else status == 401
            else:
                good = (status != 401 if (user_ok or public) else status == 401) and status < 500
            if not good:
                failures.append(f"{method} {path} as {principal}: {status}")
    assert not failures, "\n".join(failures)


def test_retention_writes_do_not_reach_another_units_recordings(world: World) -> None:
    """Guessing a recording id of another unit must answer 404 on every endpoint, writes
    included. When retention scopes these, this test passes and its xfail mark must go."""
    other = str(world.recordings["other"].pk)
    answers = {}
    for role in (SUP, LEGAL):
        client, _user = _client(world, role)
        with transaction.atomic():
            point = transaction.savepoint()
            answers[f"{role} hold"] = client.post(
                "/api/retention/holds",
                {"target_kind": "recording", "recording_id": other, "reason": "猜测"},
                content_type="application/json",
            ).status_code
            answers[f"{role} mark"] = client.post(
                "/api/retention/marks",
                {"recording_id": other, "kind": "evidence"},
                content_type="application/json",
            ).status_code
            transaction.savepoint_rollback(point)
    assert set(answers.values()) == {404}, answers
