"""Issue 6 leftovers: revoking a grant early, and the per-IP sign-in throttle."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.config.errors import PermissionDenied
from backend.review import services
from backend.review.models import (
    AccessGrant,
    AccessRequestState,
    ApprovalAuthority,
    Approver,
    LoginAttempt,
)
from tests.review.conftest import PASSWORD, World
from tests.review.test_access_rules import client_for, request_for

pytestmark = pytest.mark.django_db


def copy_grant(world: World) -> AccessGrant:
    """A supervisor of the other bureau may view and copy one own-bureau recording."""
    outsider = world.other_users[Role.SUPERVISOR]
    request = request_for(world, requester=outsider, copy=True)
    return services.access_request_approve(request_id=request.pk, approver=world.bureau_head)


def post_json(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


# -- revoking a grant early --------------------------------------------------------------------


def test_approver_revokes_on_the_page_and_the_grant_stops_working_at_once(world: World) -> None:
    grant = copy_grant(world)
    own = world.recordings["own"]
    holder = client_for(grant.holder)
    playback = f"/api/review/recordings/{own.pk}/playback?grant={grant.pk}"
    assert holder.get(playback).status_code == 200
    export = post_json(holder, f"/api/review/grants/{grant.pk}/exports", {})
    assert export.status_code == 201
    download = export.json()["download_url"]

    approver = client_for(world.bureau_head)
    page = approver.get(f"/access/{grant.request_id}/")
    assert page.status_code == 200 and b'id="revoke-form"' in page.content
    # The holder's own page offers no revoke button.
    assert b'id="revoke-form"' not in holder.get(f"/access/{grant.request_id}/").content
    # A reason is required.
    assert approver.post(f"/grants/{grant.pk}/revoke/", {"reason": " "}).status_code == 400
    response = approver.post(f"/grants/{grant.pk}/revoke/", {"reason": "案件已办结"})
    assert response.status_code == 302
    assert response["Location"] == f"/access/{grant.request_id}/"

    grant.refresh_from_db()
    assert grant.revoked_by == world.bureau_head and grant.revoke_reason == "案件已办结"
    # Playback, the recording page, export, page download and package download: 403.
    answer = holder.get(playback)
    assert answer.status_code == 403 and answer.json()["code"] == "grant_revoked"
    page_view = holder.get(f"/recordings/{own.pk}/?grant={grant.pk}")
    assert page_view.status_code == 403 and b"grant_revoked" in page_view.content
    assert holder.get(f"/recordings/{own.pk}/").status_code == 404  # no longer readable
    again = post_json(holder, f"/api/review/grants/{grant.pk}/exports", {})
    assert again.status_code == 403 and again.json()["code"] == "grant_revoked"
    original = holder.post(f"/recordings/{own.pk}/download/", {"grant": str(grant.pk)})
    assert original.status_code == 403 and b"grant_revoked" in original.content
    package = holder.get(download)
    assert package.status_code == 403 and b"grant_revoked" in package.content
    # Audited, and shown on the request page.
    event = AuditEvent.objects.get(action="access_grant.revoked")
    assert event.object_id == str(grant.request_id)
    assert event.data["grant"] == str(grant.pk) and event.data["reason"] == "案件已办结"
    shown = holder.get(f"/access/{grant.request_id}/").content.decode()
    assert 'id="grant-revocation"' in shown and "案件已办结" in shown and "已撤销" in shown
    # The request stays approved: it cannot be decided (re-issued) again.
    grant.request.refresh_from_db()
    assert grant.request.state == AccessRequestState.APPROVED
    reissue = post_json(
        approver, f"/api/review/access-requests/{grant.request_id}/approve", {"valid_days": 3}
    )
    assert reissue.status_code == 409 and reissue.json()["code"] == "request_decided"


def test_holder_never_revokes_not_even_in_the_database(world: World) -> None:
    grant = copy_grant(world)
    holder = client_for(grant.holder)
    answer = post_json(holder, f"/api/review/grants/{grant.pk}/revoke", {"reason": "不用了"})
    assert answer.status_code == 403 and answer.json()["code"] == "revoker_is_holder"
    page = holder.post(f"/grants/{grant.pk}/revoke/", {"reason": "不用了"})
    assert page.status_code == 403
    with pytest.raises(PermissionDenied):
        services.access_grant_revoke(grant_id=grant.pk, user=grant.holder, reason="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessGrant.objects.filter(pk=grant.pk).update(
            revoked_at=timezone.now(), revoked_by=grant.holder, revoke_reason="x"
        )
    grant.refresh_from_db()
    assert grant.revoked_at is None and grant.is_active()


def test_who_may_revoke_and_404_for_another_units_grant(world: World) -> None:
    grant = copy_grant(world)
    path = f"/api/review/grants/{grant.pk}/revoke"
    # Another bureau's bureau head, and an office head who did not approve it: not found.
    other_head = world.other_users[Role.LEGAL_OFFICER]
    Approver.objects.create(
        user=other_head, authority=ApprovalAuthority.BUREAU_HEAD, unit=world.other_bureau
    )
    for user in (other_head, world.office_head, world.users[Role.SUPERVISOR]):
        answer = post_json(client_for(user), path, {"reason": "x"})
        assert answer.status_code == 404 and answer.json()["code"] == "grant_not_found", user
    bad_id = post_json(client_for(world.bureau_head), "/api/review/grants/nope/revoke", {})
    assert bad_id.status_code in (404, 422)
    assert post_json(client_for(world.bureau_head), path, {"reason": ""}).json()["code"] == (
        "revoke_reason_required"
    )
    # A system administrator may revoke; a second revocation is a conflict.
    admin = client_for(world.users[Role.SYSTEM_ADMIN])
    answer = post_json(admin, path, {"reason": "安全检查"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["state"] == "revoked" and body["revoke_reason"] == "安全检查"
    assert body["revoked_by_id"] == world.users[Role.SYSTEM_ADMIN].pk
    twice = post_json(client_for(world.bureau_head), path, {"reason": "再次"})
    assert twice.status_code == 409 and twice.json()["code"] == "grant_already_revoked"


def test_bureau_head_who_did_not_approve_may_revoke_an_expired_one_not(world: World) -> None:
    # An office-head request approved by the office head; the bureau head may still revoke.
    request = request_for(
        world, requester=world.users[Role.LEGAL_OFFICER], kind="legal_officer", copy=True
    )
    grant = services.access_request_approve(request_id=request.pk, approver=world.office_head)
    revoked = services.access_grant_revoke(grant_id=grant.pk, user=world.bureau_head, reason="r")
    assert revoked.revoked_by == world.bureau_head and not revoked.is_active()
    # An expired grant cannot be revoked (nothing left to stop).
    second = copy_grant(world)
    AccessGrant.objects.filter(pk=second.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    answer = post_json(
        client_for(world.bureau_head), f"/api/review/grants/{second.pk}/revoke", {"reason": "x"}
    )
    assert answer.status_code == 409 and answer.json()["code"] == "grant_expired"


def test_grants_list_is_what_the_caller_holds_or_approved(world: World) -> None:
    grant = copy_grant(world)
    holder = client_for(grant.holder).get("/api/review/grants")
    assert holder.status_code == 200
    assert [g["id"] for g in holder.json()] == [str(grant.pk)]
    assert holder.json()[0]["state"] == "active"
    assert holder.json()[0]["recording_ids"] == [str(world.recordings["own"].pk)]
    approver = client_for(world.bureau_head).get("/api/review/grants").json()
    assert [g["id"] for g in approver] == [str(grant.pk)]
    for user in (world.office_head, world.users[Role.SUPERVISOR], world.other_users[Role.AUDITOR]):
        assert client_for(user).get("/api/review/grants").json() == [], user
    assert Client().get("/api/review/grants").status_code == 401
    services.access_grant_revoke(grant_id=grant.pk, user=world.bureau_head, reason="办结")
    listed = client_for(grant.holder).get("/api/review/grants").json()[0]
    assert listed["state"] == "revoked" and listed["revoke_reason"] == "办结"


# -- per-IP sign-in throttle -------------------------------------------------------------------


def sign_in(client: Client, username: str, password: str, ip: str) -> Any:
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_too_many_failures_from_one_ip_refuse_every_user_name(world: World, settings: Any) -> None:
    settings.FV_LOGIN_IP_MAX_FAILURES = 4
    settings.FV_LOGIN_IP_WINDOW_MINUTES = 15
    settings.FV_LOGIN_MAX_FAILURES = 5
    attacker = "203.0.113.7"
    user = world.users[Role.SUPERVISOR]
    client = Client()
    # Four different user names, one failure each: no name is locked, the address is.
    for n in range(4):
        assert sign_in(client, f"guess-{n}", "wrong", attacker).status_code == 200
    refused = sign_in(client, user.username, PASSWORD, attacker)
    text = refused.content.decode()
    assert refused.status_code == 200 and "此 IP 地址登录失败次数过多" in text
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.filter(action="login.ip_throttled").get()
    assert event.data["ip"] == attacker and event.data["username"] == user.username
    # The refusal is not a counted attempt; the user name itself is not locked.
    assert not LoginAttempt.objects.filter(username=user.username).exists()
    other = Client()
    ok = sign_in(other, user.username, PASSWORD, "198.51.100.9")
    assert ok.status_code == 302 and "_auth_user_id" in other.session
    # After the window the address may sign in again.
    LoginAttempt.objects.filter(ip_address=attacker).update(
        occurred_at=timezone.now() - datetime.timedelta(minutes=16)
    )
    again = sign_in(Client(), user.username, PASSWORD, attacker)
    assert again.status_code == 302


def test_a_success_from_the_ip_does_not_reset_its_count(world: World, settings: Any) -> None:
    settings.FV_LOGIN_IP_MAX_FAILURES = 3
    ip = "192.0.2.44"
    user = world.users[Role.FIELD_OFFICER]
    client = Client()
    for n in range(2):
        assert sign_in(client, f"guess-{n}", "wrong", ip).status_code == 200
    assert sign_in(Client(), user.username, PASSWORD, ip).status_code == 302
    assert sign_in(client, "guess-2", "wrong", ip).status_code == 200
    blocked = sign_in(Client(), user.username, PASSWORD, ip)
    assert blocked.status_code == 200 and "此 IP 地址" in blocked.content.decode()
    # Another address, or none at all, is not blocked.
    assert services.login_ip_blocked_until(ip_address="192.0.2.45") is None
    assert services.login_ip_blocked_until(ip_address=None) is None


def test_throttle_and_revocation_read_in_english(world: World, settings: Any) -> None:
    settings.FV_LOGIN_IP_MAX_FAILURES = 1
    ip = "192.0.2.80"
    client = Client(headers={"Accept-Language": "en"})
    sign_in(client, "guess", "wrong", ip)
    refused = sign_in(client, world.users[Role.SUPERVISOR].username, PASSWORD, ip)
    assert "Too many failed sign-ins from this IP address" in refused.content.decode()
    grant = copy_grant(world)
    services.access_grant_revoke(grant_id=grant.pk, user=world.bureau_head, reason="done")
    page = client_for(grant.holder)
    shown = page.get(f"/access/{grant.request_id}/", headers={"Accept-Language": "en"})
    assert "Revoked by" in shown.content.decode() and ">Revoked<" in shown.content.decode()


def test_admin_sign_in_shares_the_lockout(world: World, settings: Any) -> None:
    """Issue 13 item 5: /admin/login/ had no lockout (30 wrong, then right: in)."""
    settings.FV_LOGIN_MAX_FAILURES = 5
    settings.FV_LOGIN_IP_MAX_FAILURES = 1000
    admin = world.users[Role.SYSTEM_ADMIN]
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    client = Client()
    for _ in range(5):
        wrong = client.post(
            "/admin/login/",
            {"username": admin.username, "password": "wrong"},
            REMOTE_ADDR="192.0.2.9",
        )
        assert wrong.status_code == 200
    assert LoginAttempt.objects.filter(username=admin.username, succeeded=False).count() == 5
    right = client.post(
        "/admin/login/", {"username": admin.username, "password": PASSWORD}, REMOTE_ADDR="192.0.2.9"
    )
    assert right.status_code == 200 and "_auth_user_id" not in client.session
    assert "账户已锁定" in right.content.decode()
    # The review sign-in sees the same lockout, and failures there count for the admin.
    assert sign_in(Client(), admin.username, PASSWORD, "192.0.2.10").status_code == 200


def test_admin_sign_in_shares_the_ip_throttle(world: World, settings: Any) -> None:
    settings.FV_LOGIN_IP_MAX_FAILURES = 3
    admin = world.users[Role.SYSTEM_ADMIN]
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    attacker = "203.0.113.99"
    for n in range(3):
        assert sign_in(Client(), f"guess-{n}", "wrong", attacker).status_code == 200
    client = Client()
    refused = client.post(
        "/admin/login/", {"username": admin.username, "password": PASSWORD}, REMOTE_ADDR=attacker
    )
    assert "_auth_user_id" not in client.session and "此 IP 地址" in refused.content.decode()
    ok = Client()
    ok.post(
        "/admin/login/", {"username": admin.username, "password": PASSWORD}, REMOTE_ADDR="192.0.2.1"
    )
    assert "_auth_user_id" in ok.session
