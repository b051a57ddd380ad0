"""Issue 13, item 1: an enrolment code enrols only what it was issued for.

The attack: an installer's (or a leaked) code for a body camera, redeemed with the serial
of an *existing* body camera, used to return that device's id and a fresh token, cut off
the real device, move it to the code's officer and revive it if revoked.
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.audit.services import Actor
from backend.devices.models import Device, DeviceState, EnrolmentCode
from backend.devices.services import device_revoke, enrolment_code_issue
from tests.factories import make_device, make_officer, make_unit, make_user

pytestmark = pytest.mark.django_db

MANIFEST = {"device_time": "2026-11-23T10:00:00+08:00", "clips": []}


def _manifest(client: Client, token: str) -> int:
    return client.post(
        "/api/sync/v1/manifest",
        MANIFEST,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    ).status_code


def test_a_code_cannot_take_over_an_existing_device() -> None:
    victim_officer = make_officer(certificate_number="14042100001")
    attacker_officer = make_officer(certificate_number="14042100002")
    device, token = make_device(officer=victim_officer, serial="DSJ-VICTIM")
    unit_before = device.unit_id
    code = enrolment_code_issue(kind="body_camera", officer=attacker_officer, actor=Actor.system())
    client = Client()
    assert _manifest(client, token) == 200

    attempt = client.post(
        "/api/sync/v1/enrol",
        {"code": code, "serial": "DSJ-VICTIM"},
        content_type="application/json",
    )

    assert attempt.status_code == 409, attempt.content
    body = attempt.json()
    assert body["code"] == "device_already_enrolled"
    assert set(body) == {"code", "message", "details"} and "token" not in attempt.content.decode()
    # The real device's token still works; nothing about it moved.
    assert _manifest(client, token) == 200
    device.refresh_from_db()
    assert device.unit_id == unit_before
    assert device.assignments.get(ends_at__isnull=True).officer == victim_officer
    # The code was not spent on the attempt, and the attempt is in the audit chain.
    assert EnrolmentCode.objects.get().used_at is None
    assert AuditEvent.objects.filter(action="device.enrolment_refused").count() == 1
    # …and still enrols a genuinely new device.
    fresh = client.post(
        "/api/sync/v1/enrol", {"code": code, "serial": "DSJ-NEW"}, content_type="application/json"
    )
    assert fresh.status_code == 200 and fresh.json()["device_id"] != str(device.pk)


def test_a_revoked_device_stays_revoked() -> None:
    device, token = make_device(serial="DSJ-STOLEN")
    device_revoke(device=device, actor=Actor.system(), reason="lost")
    code = enrolment_code_issue(kind="body_camera", actor=Actor.system())
    attempt = Client().post(
        "/api/sync/v1/enrol",
        {"code": code, "serial": "DSJ-STOLEN"},
        content_type="application/json",
    )
    assert attempt.status_code == 409 and attempt.json()["code"] == "device_already_enrolled"
    device.refresh_from_db()
    assert device.state == DeviceState.REVOKED and device.token_hash is None


def test_a_code_bound_to_a_serial_enrols_that_device_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    call_command("device_enrolment_code", "--kind", "handheld", "--serial", "HT-42", "--json")
    code = json.loads(capsys.readouterr().out)["code"]
    client = Client()
    other = client.post(
        "/api/sync/v1/enrol", {"code": code, "serial": "HT-43"}, content_type="application/json"
    )
    assert other.status_code == 403 and other.json()["code"] == "enrolment_code_other_device"
    own = client.post(
        "/api/sync/v1/enrol", {"code": code, "serial": "HT-42"}, content_type="application/json"
    )
    assert own.status_code == 200
    assert Device.objects.get(pk=own.json()["device_id"]).serial == "HT-42"


def test_admin_enrol_of_a_known_serial_is_refused_and_re_enrol_is_explicit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    unit = make_unit()
    admin = make_user(role=Role.SYSTEM_ADMIN, unit=unit)
    supervisor = make_user(role=Role.SUPERVISOR, unit=unit)
    device, old = make_device(serial="T-RE", kind="tablet")
    Device.objects.filter(pk=device.pk).update(unit=unit)
    client = Client()
    client.force_login(admin)
    again = client.post(
        "/api/devices/", {"kind": "tablet", "serial": "T-RE"}, content_type="application/json"
    )
    assert again.status_code == 409 and again.json()["code"] == "device_already_enrolled"
    assert _manifest(client, old) == 200

    device_revoke(device=device, actor=Actor.system())
    denied = Client()
    denied.force_login(supervisor)
    url = f"/api/devices/{device.pk}/re-enrol"
    assert denied.post(url, {"reason": "x"}, content_type="application/json").status_code == 403
    missing_reason = client.post(url, {}, content_type="application/json")
    assert missing_reason.status_code in (400, 422)
    response = client.post(url, {"reason": "平板恢复出厂设置"}, content_type="application/json")
    assert response.status_code == 200, response.content
    new = response.json()["token"]
    assert _manifest(client, new) == 200 and _manifest(client, old) == 401
    event = AuditEvent.objects.filter(action="device.re_enrolled").get()
    assert event.data["previous_state"] == "revoked" and event.data["reason"] == "平板恢复出厂设置"

    call_command(
        "device_reenrol", "--kind", "tablet", "--serial", "T-RE", "--reason", "丢失", "--json"
    )
    newest = json.loads(capsys.readouterr().out)["token"]
    assert _manifest(client, newest) == 200 and _manifest(client, new) == 401
