"""Builders for test data (plain functions: explicit beats magic)."""

from __future__ import annotations

import datetime
import hashlib
import os
import uuid

from django.utils import timezone

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.accounts.services import unit_create
from backend.audit.services import Actor
from backend.devices.models import Device
from backend.devices.services import device_enroll


def make_unit(
    name: str | None = None, *, kind: str = UnitKind.BUREAU, parent: Unit | None = None
) -> Unit:
    return unit_create(name=name or f"单位-{uuid.uuid4().hex[:8]}", kind=kind, parent=parent)


def make_officer(
    unit: Unit | None = None,
    *,
    name: str = "张三",
    valid_days: int = 365,
    certificate_number: str | None = None,
) -> Officer:
    return Officer.objects.create(
        name=name,
        unit=unit or make_unit(),
        certificate_number=certificate_number or str(uuid.uuid4().int)[:11],
        certificate_valid_until=timezone.localdate() + datetime.timedelta(days=valid_days),
    )


def make_user(
    *,
    role: str = Role.SUPERVISOR,
    unit: Unit | None = None,
    username: str | None = None,
    password: str = "correct horse battery staple",
) -> User:
    user = User.objects.create_user(
        username=username or f"user-{uuid.uuid4().hex[:8]}", password=password, role=role, unit=unit
    )
    return user


def make_device(
    *, officer: Officer | None = None, kind: str = "body_camera", serial: str | None = None
) -> tuple[Device, str]:
    enrolment = device_enroll(
        kind=kind,
        serial=serial or f"SN-{uuid.uuid4().hex[:10]}",
        officer=officer,
        model_name="DSJ-TEST",
        actor=Actor.system(),
    )
    return enrolment.device, enrolment.token


def random_clip(size: int = 4096) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, hashlib.sha256(data).hexdigest()
