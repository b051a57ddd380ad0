"""Fixtures for the coverage check against PostgreSQL: a record list, units, officers,
devices with measured clocks, and recordings written the way sync writes them."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.audit.services import Actor
from backend.devices.models import Device
from backend.devices.services import device_clock_record
from backend.enforcement.models import RecordList
from backend.enforcement.services import record_list_import
from backend.footage.models import Recording, RecordingState
from tests.factories import make_device, make_officer, make_unit, make_user
from tests.paths import SHARED_DATA

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
RECORD_LIST_CSV = SHARED_DATA / "record_list.csv"


def at(text: str) -> datetime.datetime:
    """'2026-03-02 09:00' (Asia/Shanghai) -> aware datetime."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def record_list(db: Any) -> RecordList:
    report = record_list_import(
        source=RECORD_LIST_CSV, effective_from=datetime.date(2026, 1, 1), actor=Actor.system()
    )
    return RecordList.objects.get(pk=report.record_list_id)


@dataclass
class World:
    bureau: Unit
    office: Unit
    other: Unit
    alice: Officer
    bob: Officer
    carol: Officer  # other unit
    alice_device: Device
    alice_token: str
    bob_device: Device
    carol_device: Device
    supervisor: User
    other_supervisor: User
    alice_user: User
    bob_user: User


@pytest.fixture
def world(record_list: RecordList) -> World:
    bureau = make_unit("测试县司法局")
    office = make_unit("城关司法所", kind=UnitKind.OFFICE, parent=bureau)
    other = make_unit("外县司法局")
    alice = make_officer(office, name="李明")
    bob = make_officer(office, name="王芳")
    carol = make_officer(other, name="赵强")
    alice_device, alice_token = make_device(officer=alice)
    bob_device, _ = make_device(officer=bob)
    carol_device, _ = make_device(officer=carol)
    for device in (alice_device, bob_device, carol_device):
        measure_clock(device)
    alice_user = make_user(role=Role.FIELD_OFFICER, unit=office)
    bob_user = make_user(role=Role.FIELD_OFFICER, unit=office)
    Officer.objects.filter(pk=alice.pk).update(user=alice_user)
    Officer.objects.filter(pk=bob.pk).update(user=bob_user)
    alice.refresh_from_db()
    bob.refresh_from_db()
    return World(
        bureau=bureau,
        office=office,
        other=other,
        alice=alice,
        bob=bob,
        carol=carol,
        alice_device=alice_device,
        alice_token=alice_token,
        bob_device=bob_device,
        carol_device=carol_device,
        supervisor=make_user(role=Role.SUPERVISOR, unit=bureau),
        other_supervisor=make_user(role=Role.SUPERVISOR, unit=other),
        alice_user=User.objects.get(pk=alice_user.pk),
        bob_user=User.objects.get(pk=bob_user.pk),
    )


def measure_clock(device: Device, *, offset: datetime.timedelta = datetime.timedelta(0)) -> None:
    now = timezone.now()
    device_clock_record(device=device, device_time=now - offset, server_time=now)


def make_recording(
    device: Device,
    officer: Officer | None,
    start: datetime.datetime,
    end: datetime.datetime,
    *,
    state: str = RecordingState.STORED,
    clock_offset: datetime.timedelta = datetime.timedelta(0),
) -> Recording:
    """A recording as sync stores it: device times as reported, corrected times beside."""
    clip_id = uuid.uuid4().hex
    return Recording.objects.create(
        device=device,
        clip_id=clip_id,
        file_name=f"{clip_id}.mp4",
        size_bytes=1024,
        sha256=hashlib.sha256(clip_id.encode()).hexdigest(),
        media_kind="video",
        device_started_at=start - clock_offset,
        device_ended_at=end - clock_offset,
        clock_offset_ms=int(clock_offset.total_seconds() * 1000),
        started_at=start,
        ended_at=end,
        officer=officer,
        state=state,
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def moment(when: datetime.datetime, source: str = "tablet", **extra: Any) -> dict[str, Any]:
    return {"occurred_at": when.isoformat(), "source": source, **extra}


def create_activity(
    client: Client,
    *,
    stage: str = "调查取证",
    category: str = "行政处罚",
    officers: list[Officer],
    start: datetime.datetime,
    stop: datetime.datetime | None = None,
    **extra: Any,
) -> Any:
    body: dict[str, Any] = {
        "category": category,
        "stage": stage,
        "officer_ids": [o.pk for o in officers],
        "start": moment(start),
        **extra,
    }
    if stop is not None:
        body["stop"] = moment(stop)
    return client.post("/api/enforcement/activities", body, content_type="application/json")
