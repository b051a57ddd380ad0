"""The docks page: its query budget does not grow with docks, slots or cameras, and a
refused assignment says why."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.services import Actor
from backend.devices.docks import dock_camera_resolve, dock_presence_record
from backend.devices.services import device_enroll
from tests.factories import make_officer, make_unit, make_user

pytestmark = pytest.mark.django_db


def docks_with_cameras(unit, docks: int, cameras: int) -> None:
    for _ in range(docks):
        dock = device_enroll(
            kind="dock", serial=f"WS-{uuid.uuid4().hex[:8]}", unit=unit, actor=Actor.system()
        ).device
        for slot in range(cameras):
            camera = dock_camera_resolve(
                dock=dock, kind="body_camera", serial=f"C-{uuid.uuid4().hex[:8]}"
            ).camera
            dock_presence_record(
                dock=dock, camera=camera, slot=str(slot), clips=3, pending_clips=1,
                pending_bytes=1000, at=timezone.now(),
            )  # fmt: skip


def page_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/docks/")
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_page_costs_a_fixed_number_of_queries() -> None:
    unit = make_unit()
    make_officer(unit)
    client = Client()
    client.force_login(make_user(role=Role.SYSTEM_ADMIN, unit=unit))
    docks_with_cameras(unit, 1, 1)
    small = page_queries(client)
    docks_with_cameras(unit, 3, 4)
    large = page_queries(client)
    assert large <= small + 2, (small, large)  # one officer list per unit of cameras
    assert large <= 14


def test_a_supervisor_cannot_assign_to_another_units_officer() -> None:
    unit, other = make_unit(), make_unit()
    dock = device_enroll(kind="dock", serial="WS-X", unit=unit, actor=Actor.system()).device
    camera = dock_camera_resolve(dock=dock, kind="body_camera", serial="C-X").camera
    stranger = make_officer(other)
    client = Client()
    client.force_login(make_user(role=Role.SUPERVISOR, unit=unit))
    response = client.post(
        f"/docks/cameras/{camera.pk}/assign/",
        {"officer": stranger.pk, "starts_at": "2026-12-01T08:00"},
        follow=True,
    )
    assert "请选择该单位的执法人员" in response.content.decode()
    assert not camera.assignments.exists()
    assert client.post("/docks/cameras/not-a-uuid/assign/", {}).status_code == 404
