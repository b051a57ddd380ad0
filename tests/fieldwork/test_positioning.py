"""Positions from phones and wristbands: exactly once under replayed, reordered, duplicate
and late batches; the allowed area and approved 外出; the steps from 宣告 to 解除."""

from __future__ import annotations

import datetime
import json
import random
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.config.errors import Conflict, InvalidInput, PermissionDenied
from backend.corrections.models import Position, PositionAlert, StepKind
from backend.corrections.services import (
    area_set,
    permission_decide,
    permission_request,
    point_in_geometry,
    position_alert_close,
    positioning_bind,
    step_record,
)
from tests.factories import make_device
from tests.fieldwork.conftest import World

# A square around the county seat: lon 113.0–113.5, lat 23.0–23.5.
COUNTY = {
    "type": "Polygon",
    "coordinates": [[[113.0, 23.0], [113.5, 23.0], [113.5, 23.5], [113.0, 23.5], [113.0, 23.0]]],
}
INSIDE = (23.2, 113.2)
OUTSIDE = (23.9, 113.9)


def _post(token: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = Client().post(
        "/api/sync/v1/positions/batch",
        data=json.dumps(body, default=str),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    return response.status_code, response.json()


def _position(at: datetime.datetime, where: tuple[float, float], **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "recorded_at": at.isoformat(),
        "latitude": where[0],
        "longitude": where[1],
        "accuracy_m": 10.0,
        "source": "gps",
        "battery": 80,
        **extra,
    }


def _batch(positions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"device_time": timezone.now().isoformat(), "positions": positions}


def _bound_phone(world: World, *, since: datetime.datetime) -> str:
    device, token = make_device(kind="positioning")
    positioning_bind(
        device=device, subject=world.north.subject, starts_at=since, actor=world.north.user
    )
    return token


def _announce(world: World) -> None:
    subject = world.north.subject
    subject.team.add(world.north.officer)
    step_record(
        subject=subject,
        kind=StepKind.ANNOUNCEMENT,
        on_date=subject.term_start,
        actor=world.north.user,
        present="矫正对象、家属、村委会代表",
        letter_number="ZR-2026-001",
    )


def test_point_in_polygon_with_a_hole() -> None:
    holed = {
        "type": "Polygon",
        "coordinates": [
            COUNTY["coordinates"][0],
            [[113.1, 23.1], [113.2, 23.1], [113.2, 23.2], [113.1, 23.2], [113.1, 23.1]],
        ],
    }
    assert point_in_geometry(113.3, 23.3, holed)
    assert not point_in_geometry(113.15, 23.15, holed)
    assert not point_in_geometry(113.9, 23.9, holed)


def test_replayed_reordered_duplicate_and_late_batches_store_each_position_once(
    world: World,
) -> None:
    start = timezone.now() - datetime.timedelta(hours=6)
    token = _bound_phone(world, since=start - datetime.timedelta(hours=1))
    positions = [_position(start + datetime.timedelta(minutes=5 * i), INSIDE) for i in range(60)]
    batches = [positions[i : i + 20] for i in range(0, 60, 20)]
    status, body = _post(token, _batch(batches[2]))  # the last batch first
    assert status == 200, body
    assert body["stored"] == 20
    status, body = _post(token, _batch(batches[0] + batches[0][:5]))  # duplicates inside
    assert (status, body["stored"], body["duplicates"]) == (200, 20, 0)
    shuffled = positions[:]
    random.Random(7).shuffle(shuffled)
    status, body = _post(token, _batch(shuffled))  # a replay of all, reordered, late
    assert (status, body["stored"], body["duplicates"]) == (200, 20, 40)
    status, body = _post(token, _batch(shuffled))
    assert (body["stored"], body["duplicates"]) == (0, 60)
    assert Position.objects.filter(subject=world.north.subject).count() == 60
    assert not PositionAlert.objects.exists()


def test_a_batch_costs_the_same_few_queries_whatever_its_size(world: World) -> None:
    """The ingest bench's per-batch work, held in the suite: binding and area in one query,
    the outings looked up only when a position lies outside, one INSERT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from backend.corrections.services import PositionIn, positions_ingest
    from backend.devices.models import Device

    area_set(subject=world.north.subject, name="示范县", geometry=COUNTY, actor=world.north.user)
    start = timezone.now() - datetime.timedelta(hours=20)
    _bound_phone(world, since=start - datetime.timedelta(hours=1))
    device = Device.objects.get(kind="positioning")

    def batch(n: int, where: tuple[float, float]) -> list[PositionIn]:
        return [
            PositionIn(
                uuid.uuid4(), start + datetime.timedelta(minutes=i), *where, 10.0, "gps", 50, ""
            )
            for i in range(n)
        ]

    counts = []
    for n in (1, 288):
        with CaptureQueriesContext(connection) as queries:
            result = positions_ingest(
                device=device, device_time=timezone.now(), positions=batch(n, INSIDE)
            )
        assert result.stored == n
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 5, counts  # savepoint/transaction, bindings, insert
    with CaptureQueriesContext(connection) as queries:
        result = positions_ingest(
            device=device, device_time=timezone.now(), positions=batch(288, OUTSIDE)
        )
    assert len(result.alerts) == 1 and len(queries) <= counts[0] + 6, len(queries)


def test_only_positioning_devices_send_and_unbound_times_are_named(world: World) -> None:
    status, body = _post(world.north.token, _batch([_position(timezone.now(), INSIDE)]))
    assert (status, body["code"]) == (403, "not_a_positioning_device")
    since = timezone.now() - datetime.timedelta(hours=1)
    token = _bound_phone(world, since=since)
    early = _position(since - datetime.timedelta(hours=2), INSIDE)
    status, body = _post(token, _batch([early]))
    assert (status, body["stored"], body["unbound"]) == (200, 0, [early["id"]])
    bad = _position(timezone.now(), (123.0, 113.0))
    status, body = _post(token, _batch([bad]))
    assert (status, body["code"]) == (422, "validation_error")


def test_an_unapproved_trip_alerts_an_approved_one_does_not_and_an_overrun_does(
    world: World,
) -> None:
    subject = world.north.subject
    _announce(world)
    area_set(subject=subject, name="示范县", geometry=COUNTY, actor=world.north.user)
    now = timezone.now()
    token = _bound_phone(world, since=now - datetime.timedelta(days=3))
    trip_start = now - datetime.timedelta(hours=30)
    trip_end = now - datetime.timedelta(hours=6)
    request = permission_request(
        subject=subject,
        kind="outing",
        reason="探望住院的母亲",
        destination="广州市",
        starts_at=trip_start,
        ends_at=trip_end,
        actor=world.north.user,
    )
    with pytest.raises(PermissionDenied):
        permission_decide(request=request, approve=True, note="", actor=world.north.user)
    # Outside before the trip is approved: an alert.
    status, body = _post(
        token, _batch([_position(trip_start + datetime.timedelta(hours=1), OUTSIDE)])
    )
    assert (status, body["alerts_raised"]) == (200, 1)
    alert = PositionAlert.objects.get(subject=subject, kind="left_area")
    position_alert_close(alert=alert, actor=world.north.user, handling="called", note="已电话核实")
    permission_decide(request=request, approve=True, note="同意", actor=world.supervisor)
    # During the approved trip: no alert, nor on a replay of the earlier batch.
    during = [_position(trip_start + datetime.timedelta(hours=h), OUTSIDE) for h in (2, 10, 20)]
    status, body = _post(token, _batch(during))
    assert (body["stored"], body["alerts_raised"]) == (3, 0)
    assert PositionAlert.objects.filter(subject=subject, closed_at__isnull=True).count() == 0
    # Still outside after its end: the overrun alerts.
    after = _position(trip_end + datetime.timedelta(minutes=30), OUTSIDE)
    status, body = _post(token, _batch([after]))
    assert body["alerts_raised"] == 1
    overrun = PositionAlert.objects.get(subject=subject, closed_at__isnull=True)
    assert overrun.first_at > trip_end
    # Back inside: nothing more; a wristband strap-off raises its own kind.
    status, body = _post(
        token,
        _batch(
            [
                _position(
                    now - datetime.timedelta(hours=1), INSIDE, source="wristband", event="strap_off"
                )
            ]
        ),
    )
    assert body["alerts_raised"] == 1
    assert set(
        PositionAlert.objects.filter(subject=subject, closed_at__isnull=True).values_list(
            "kind", flat=True
        )
    ) == {"left_area", "strap_off"}


def test_steps_from_announcement_to_release_are_enforced(world: World) -> None:
    subject = world.north.subject
    user = world.north.user
    today = timezone.localdate()
    with pytest.raises(Conflict) as not_announced:
        step_record(subject=subject, kind=StepKind.WARNING, on_date=today, actor=user, reason="x")
    assert not_announced.value.code == "not_announced"
    with pytest.raises(Conflict) as no_team:
        step_record(
            subject=subject,
            kind=StepKind.ANNOUNCEMENT,
            on_date=today,
            actor=user,
            present="本人",
            letter_number="ZR-1",
        )
    assert no_team.value.code == "team_required"
    with pytest.raises(InvalidInput):
        step_record(subject=subject, kind=StepKind.ANNOUNCEMENT, on_date=today, actor=user)
    _announce(world)
    with pytest.raises(Conflict):
        _announce(world)
    step_record(
        subject=subject, kind=StepKind.WARNING, on_date=today, actor=user, reason="未按时报到"
    )
    with pytest.raises(Conflict) as early:
        step_record(
            subject=subject,
            kind=StepKind.RELEASE,
            on_date=today,
            actor=user,
            certificate_number="JC-1",
        )
    assert early.value.code == "term_not_ended"
    subject.term_end = today
    subject.save(update_fields=["term_end"])
    with pytest.raises(InvalidInput):
        step_record(subject=subject, kind=StepKind.RELEASE, on_date=today, actor=user)
    step_record(
        subject=subject, kind=StepKind.RELEASE, on_date=today, actor=user, certificate_number="JC-1"
    )
    with pytest.raises(Conflict) as released:
        permission_request(
            subject=subject,
            kind="visitor",
            reason="r",
            destination="d",
            starts_at=timezone.now(),
            ends_at=timezone.now() + datetime.timedelta(hours=1),
            actor=user,
        )
    assert released.value.code == "already_released"
    actions = set(
        AuditEvent.objects.filter(object_id=str(subject.pk)).values_list("action", flat=True)
    )
    assert {
        "correction_step.announcement",
        "correction_step.warning",
        "correction_step.release",
    } <= actions


@pytest.mark.django_db(transaction=True)
def test_an_alert_reaches_the_office_websocket_within_a_minute_of_the_upload(
    committed_world: World, settings: Any
) -> None:
    """Upload → websocket through the real Redis channel layer; the measured latency is
    printed (the issue asks for under a minute)."""
    import asyncio
    import time

    from asgiref.sync import sync_to_async
    from channels.layers import channel_layers
    from channels.testing import WebsocketCommunicator

    world = committed_world
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [settings.REDIS_URL or "redis://127.0.0.1:6379/0"],
                "prefix": f"fv-test-{uuid.uuid4().hex[:8]}",
            },
        }
    }
    channel_layers.backends.clear()
    area_set(subject=world.north.subject, name="示范县", geometry=COUNTY, actor=world.north.user)
    token = _bound_phone(world, since=timezone.now() - datetime.timedelta(hours=2))
    client = Client()
    client.force_login(world.north.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    body = _batch([_position(timezone.now() - datetime.timedelta(minutes=10), OUTSIDE)])

    async def scenario() -> tuple[float, dict[str, Any], int]:
        from backend.config.asgi import application

        ws = WebsocketCommunicator(
            application,
            "/ws/corrections/",
            headers=[
                (b"cookie", cookie),
                (b"host", b"127.0.0.1"),
                (b"origin", b"http://127.0.0.1"),
            ],
        )
        connected, code = await ws.connect()
        assert connected, code
        assert (await ws.receive_json_from())["type"] == "hello"
        started = time.perf_counter()
        status, answer = await sync_to_async(_post)(token, body)
        assert status == 200 and answer["alerts_raised"] == 1, answer
        while True:
            event = await ws.receive_json_from(timeout=60)
            if event["type"] == "correction.position_alert":
                break
        latency = time.perf_counter() - started
        await ws.disconnect()
        return latency, event, status

    latency, event, _status = asyncio.run(scenario())
    channel_layers.backends.clear()
    assert event["subject_id"] == str(world.north.subject.pk) and event["kind"] == "left_area"
    assert latency < 60
    print(f"alert latency upload → websocket (Redis layer): {latency * 1000:.0f} ms")
