"""Fixtures for field work: a bureau with two justice offices, officers, tablets, subjects."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.corrections.models import Subject
from backend.corrections.services import ScheduleInput, subject_create
from backend.devices.models import Device
from mobile_contract.tablet_simulator import Tablet
from tests.factories import make_device, make_officer, make_unit, make_user


def django_transport(client: Client, token: str) -> tuple[Any, Any]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = client.post(
            path, data=json.dumps(body), content_type="application/json", **headers
        )
        return response.status_code, response.json()

    def get(path: str, params: dict[str, Any]) -> tuple[int, Any]:
        response = client.get(path, params, **headers)
        return response.status_code, response.json()

    return post, get


@dataclass
class Office:
    unit: Unit
    officer: Officer
    user: User
    device: Device
    token: str
    tablet: Tablet
    subject: Subject


@dataclass
class World:
    bureau: Unit
    supervisor: User
    north: Office
    south: Office


def make_subject(
    office: Unit,
    officer: Officer,
    *,
    actor: User,
    name: str = "李四",
    term_start: datetime.date | None = None,
) -> Subject:
    today = timezone.localdate()
    return subject_create(
        actor=actor,
        name=name,
        sentence_kind="probation",
        term_start=term_start or today - datetime.timedelta(days=200),
        term_end=today + datetime.timedelta(days=365),
        office=office,
        responsible_officer=officer,
        id_number="110101199001011234",
        schedules=[
            ScheduleInput(kind="check_in", frequency="monthly", times=1),
            ScheduleInput(kind="home_visit", frequency="quarterly", times=1),
        ],
    )


def _office(bureau: Unit, name: str, supervisor: User) -> Office:
    unit = make_unit(name, kind=UnitKind.OFFICE, parent=bureau)
    officer = make_officer(unit, name=f"{name}矫正员")
    user = make_user(role=Role.CORRECTION_OFFICER, unit=unit)
    officer.user = user
    officer.save(update_fields=["user"])
    device, token = make_device(officer=officer, kind="tablet")
    post, get = django_transport(Client(), token)
    subject = make_subject(unit, officer, actor=supervisor)
    return Office(unit, officer, user, device, token, Tablet(post=post, get=get), subject)


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


@pytest.fixture
def committed_world(transactional_db: Any) -> World:
    """The same world, committed (for tests whose other threads must see it)."""
    return build_world()


def build_world() -> World:
    bureau = make_unit("示范县司法局", kind=UnitKind.BUREAU)
    supervisor = make_user(role=Role.SUPERVISOR, unit=bureau)
    return World(
        bureau,
        supervisor,
        _office(bureau, "青山镇司法所", supervisor),
        _office(bureau, "柳河乡司法所", supervisor),
    )


def checkin_data(subject: Subject, **overrides: Any) -> dict[str, Any]:
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=30)
    data = {
        "subject_id": str(subject.pk),
        "started_at": start.isoformat(),
        "ended_at": (start + datetime.timedelta(minutes=10)).isoformat(),
        "place": "青山镇司法所",
        "latitude": 30.0,
        "longitude": 120.0,
        "notes": "按时报到",
        "identity_method": "id_card",
    }
    data.update(overrides)
    return data
