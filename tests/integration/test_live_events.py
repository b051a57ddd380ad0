"""Supervisors receive per-device sync events on /ws/events/, scoped to their units."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client

from backend.accounts.models import Role, UnitKind
from sync.events import publish_recording_event
from tests.factories import make_device, make_officer, make_unit, make_user, random_clip
from tests.integration.test_manifest_and_storage import clip, post_manifest

pytestmark = pytest.mark.django_db(transaction=True)

LAYERS = {
    "memory": {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    "redis": {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"], "prefix": "fvtest"},
        }
    },
}


def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(user: Any) -> WebsocketCommunicator:
    from backend.config.asgi import application

    cookie = await sync_to_async(_session_cookie)(user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/events/",
        headers=[(b"cookie", cookie), (b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")],
    )
    return communicator


@pytest.mark.parametrize("layer", ["memory", "redis"])
def test_supervisor_sees_own_units_devices_only(layer: str, settings: Any) -> None:
    settings.CHANNEL_LAYERS = LAYERS[layer]
    channel_layers.backends.clear()
    bureau = make_unit(kind=UnitKind.BUREAU)
    office = make_unit(kind=UnitKind.OFFICE, parent=bureau)
    other = make_unit(kind=UnitKind.BUREAU)
    supervisor = make_user(role=Role.SUPERVISOR, unit=bureau)
    outsider = make_user(role=Role.SUPERVISOR, unit=other)
    device, token = make_device(officer=make_officer(unit=office))
    data, _ = random_clip(64)
    post_manifest(token, [clip("E1", data)])
    from backend.footage.models import Recording

    recording_id = Recording.objects.get().pk

    async def scenario() -> tuple[dict[str, Any], bool]:
        mine = await _connect(supervisor)
        theirs = await _connect(outsider)
        assert (await mine.connect())[0] and (await theirs.connect())[0]
        assert (await mine.receive_json_from())["type"] == "hello"
        await theirs.receive_json_from()
        await sync_to_async(publish_recording_event)(recording_id, "stored")
        event = await mine.receive_json_from(timeout=5)
        outsider_silent = await theirs.receive_nothing(timeout=0.5)
        await mine.disconnect()
        await theirs.disconnect()
        return event, outsider_silent

    event, outsider_silent = asyncio.run(scenario())
    assert event["type"] == "stored" and event["clip_id"] == "E1"
    assert event["device_id"] == str(device.pk)
    assert outsider_silent
    channel_layers.backends.clear()


def test_anonymous_and_field_officers_are_refused() -> None:
    officer_user = make_user(role=Role.FIELD_OFFICER, unit=make_unit())

    async def scenario() -> tuple[bool, bool]:
        from backend.config.asgi import application

        anonymous = WebsocketCommunicator(
            application,
            "/ws/events/",
            headers=[(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")],
        )
        anon_ok, _ = await anonymous.connect()
        officer = await _connect(officer_user)
        officer_ok, _ = await officer.connect()
        return anon_ok, officer_ok

    assert asyncio.run(scenario()) == (False, False)
