import json

import pytest
from django.core.management import call_command
from django.test import Client

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.audit.services import Actor
from backend.devices.models import Device
from backend.devices.services import device_authenticate, device_reenrol, device_revoke
from tests.factories import make_device, make_officer, make_unit, make_user

pytestmark = pytest.mark.django_db


def test_enrol_command_prints_token_and_stores_only_its_hash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    officer = make_officer(certificate_number="14042100001")
    call_command(
        "device_enroll",
        "--kind",
        "body_camera",
        "--serial",
        "DSJ-001",
        "--officer",
        "14042100001",
        "--json",
    )
    result = json.loads(capsys.readouterr().out)
    device = Device.objects.get(pk=result["device_id"])
    assert result["token"] not in (device.token_hash or "")
    assert device_authenticate(token=result["token"]) == device
    assert device.assignments.get().officer == officer
    assert AuditEvent.objects.filter(action="device.enrolled", object_id=str(device.pk)).exists()


def test_revocation_takes_effect_on_the_next_request() -> None:
    device, token = make_device()
    client = Client()
    manifest = {"device_time": "2026-11-23T10:00:00+08:00", "clips": []}
    ok = client.post(
        "/api/sync/v1/manifest",
        manifest,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert ok.status_code == 200
    device_revoke(device=device, actor=Actor.system(), reason="lost")
    refused = client.post(
        "/api/sync/v1/manifest",
        manifest,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"


def test_re_enrolment_replaces_the_credential() -> None:
    device, old = make_device(serial="SN-RE")
    new = device_reenrol(device=device, actor=Actor.system(), reason="lost token").token
    assert device_authenticate(token=old) is None
    assert device_authenticate(token=new) == device


def test_device_api_is_for_system_admins_only() -> None:
    unit = make_unit()
    supervisor = make_user(role=Role.SUPERVISOR, unit=unit)
    admin = make_user(role=Role.SYSTEM_ADMIN, unit=unit)
    client = Client()
    assert (
        client.post(
            "/api/devices/", {"kind": "tablet", "serial": "T1"}, content_type="application/json"
        ).status_code
        == 401
    )
    client.force_login(supervisor)
    denied = client.post(
        "/api/devices/", {"kind": "tablet", "serial": "T1"}, content_type="application/json"
    )
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    client.force_login(admin)
    created = client.post(
        "/api/devices/", {"kind": "tablet", "serial": "T1"}, content_type="application/json"
    )
    assert created.status_code == 201
    bad = client.post(
        "/api/devices/", {"kind": "toaster", "serial": "T2"}, content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_device_kind"
    revoked = client.post(
        f"/api/devices/{created.json()['device_id']}/revoke",
        {"reason": "test"},
        content_type="application/json",
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert (
        client.post(
            "/api/devices/not-a-uuid/revoke", {}, content_type="application/json"
        ).status_code
        == 404
    )
