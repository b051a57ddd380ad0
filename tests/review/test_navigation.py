"""Every page is reachable from the dashboard in two clicks; long lists paginate; sessions
expire."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from backend.review import services
from backend.review.models import AccessBasis, RegisterAction
from tests.review.conftest import World, make_activity, store_recording

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="(/[^"#]*)"')


def _links(client: Client, url: str) -> set[str]:
    response = client.get(url)
    if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
        return set()
    return {
        link.replace("&amp;", "&")
        for link in HREF.findall(response.content.decode())
        if not link.startswith(("/static/", "/admin/"))
    }


def reachable_in_two_clicks(client: Client) -> set[str]:
    first = _links(client, "/")
    second: set[str] = set()
    for link in first:
        second |= _links(client, link)
    return {link.split("?")[0] for link in first | second}


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_page_is_two_clicks_from_the_dashboard(world: World) -> None:
    activity = make_activity(world)
    supervisor = world.users[Role.SUPERVISOR]
    own = world.recordings["own"]
    request = services.access_request_create(
        requester=supervisor,
        requester_kind="staff",
        purpose="导出复查",
        recording_ids=[str(world.recordings["other"].pk)],
        want_copy=True,
    )
    other_head = world.other_users[Role.SUPERVISOR]
    from backend.review.models import ApprovalAuthority, Approver

    Approver.objects.create(
        user=other_head, authority=ApprovalAuthority.BUREAU_HEAD, unit=world.other_bureau
    )
    grant = services.access_request_approve(request_id=request.pk, approver=other_head)
    export = services.export_create(grant=grant, user=supervisor)

    reached = reachable_in_two_clicks(_client(supervisor))
    wanted = {
        "/",
        "/activities/",
        f"/activities/{activity.pk}/",
        "/recordings/",
        f"/recordings/{own.pk}/",
        "/access/",
        f"/access/{request.pk}/",
        f"/exports/{export.pk}/",
        "/register/",
        "/register.xlsx",
    }
    assert wanted <= reached, sorted(wanted - reached)
    # The approver finds the request on the dashboard; auditors and storage admins their pages.
    pending = services.access_request_create(
        requester=world.other_users[Role.FIELD_OFFICER],
        requester_kind="staff",
        purpose="复查",
        recording_ids=[str(own.pk)],
    )
    assert f"/access/{pending.pk}/" in reachable_in_two_clicks(_client(world.bureau_head))
    assert {"/audit/", "/register/"} <= reachable_in_two_clicks(_client(world.users[Role.AUDITOR]))
    assert "/storage/" in reachable_in_two_clicks(_client(world.users[Role.STORAGE_ADMIN]))


def test_retention_pages_are_two_clicks_from_the_dashboard(world: World) -> None:
    """Storage admins reach the policies, destruction, capacity and register pages; the
    leader in charge the destruction batches awaiting approval; the auditor the register."""
    from backend.retention.models import DestructionBatch
    from backend.retention.services import retention_approver_designate

    storage_admin = world.users[Role.STORAGE_ADMIN]
    batch = DestructionBatch.objects.create(prepared_by=storage_admin, note="导航测试")
    leader = world.bureau_head
    retention_approver_designate(actor=world.users[Role.SYSTEM_ADMIN], user=leader)
    batch_page = f"/retention/destruction/{batch.pk}/"

    admin_reached = reachable_in_two_clicks(_client(storage_admin))
    wanted = {
        "/retention/policies/",
        "/retention/destruction/",
        batch_page,
        "/retention/capacity/",
        "/retention/register/print/",
        "/api/retention/register.xlsx",
        "/storage/",
    }
    assert wanted <= admin_reached, sorted(wanted - admin_reached)
    assert wanted <= reachable_in_two_clicks(_client(world.users[Role.SYSTEM_ADMIN]))

    leader_reached = reachable_in_two_clicks(_client(leader))
    assert {"/retention/destruction/", batch_page} <= leader_reached
    assert "/retention/policies/" not in leader_reached  # storage admins only

    assert "/retention/register/print/" in reachable_in_two_clicks(
        _client(world.users[Role.AUDITOR])
    )
    # Roles the retention pages refuse are not led to them.
    supervisor_reached = reachable_in_two_clicks(_client(world.users[Role.SUPERVISOR]))
    assert not {link for link in supervisor_reached if link.startswith("/api/retention/")}


def test_long_lists_paginate(world: World) -> None:
    for _ in range(26):
        store_recording(device=world.device, officer=world.officer, state="announced")
    client = _client(world.users[Role.SUPERVISOR])
    first = client.get("/recordings/").content.decode()
    assert first.count('href="/recordings/') - first.count('href="/recordings/"') == 25
    # Keyset pages (issue 26): an "older" link carrying the last row's key, no page numbers.
    import html
    import re

    older = re.search(r'href="\?(older=[^"]*)"', first)
    assert older is not None and "?page=" not in first
    second = client.get(f"/recordings/?{html.unescape(older.group(1))}").content.decode()
    assert second.count('href="/recordings/') - second.count('href="/recordings/"') == 2
    # The register paginates the same way, keeping the search in the page links.
    for _ in range(26):
        services.register_write(
            user=world.users[Role.SUPERVISOR],
            action=RegisterAction.VIEW,
            basis=AccessBasis.SCOPE,
            purpose="翻页",
            recording=world.recordings["own"],
        )
    register = client.get("/register/?q=翻页").content.decode()
    assert register.count('class="entry"') == 25 and "q=%E7%BF%BB%E9%A1%B5&amp;page=2" in register


def test_sessions_expire(world: World, settings: Any) -> None:
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 3600
    client = _client(world.users[Role.SUPERVISOR])
    assert client.get("/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
