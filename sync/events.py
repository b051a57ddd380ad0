"""Live sync and processing events for supervisors' websockets.

Each event goes to the group of the device's unit and of every unit above it (so a
supervisor of a bureau sees its offices' devices) and to the all-units group.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

logger = logging.getLogger(__name__)

ALL_UNITS_GROUP = "fv.units.all"


def unit_group(unit_id: int) -> str:
    return f"fv.unit.{unit_id}"


def groups_for_unit_path(path: str | None) -> list[str]:
    groups = [ALL_UNITS_GROUP]
    if path:
        groups.extend(unit_group(int(part)) for part in path.strip("/").split("/") if part)
    return groups


async def apublish(groups: list[str], event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "fv.event", "event": event}
    for group in groups:
        try:
            await layer.group_send(group, message)
        except Exception:  # a full or unreachable layer must never break an upload
            logger.exception("could not publish %s to %s", event.get("type"), group)


def publish(groups: list[str], event: dict[str, Any]) -> None:
    async_to_sync(apublish)(groups, event)


def device_event(*, device_id: Any, kind: str, **data: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "device_id": str(device_id),
        "at": timezone.now().isoformat(),
        **data,
    }


def publish_recording_event(recording_id: uuid.UUID, kind: str, **extra: Any) -> None:
    """Publish a recording's state event (verified, stored, mismatch, processing, ready…)."""
    from backend.footage.models import Recording

    recording = (
        Recording.objects.select_related("device__unit")
        .only("id", "clip_id", "state", "size_bytes", "device__id", "device__unit__path")
        .filter(pk=recording_id)
        .first()
    )
    if recording is None:
        return
    unit = recording.device.unit
    path = unit.path if unit else None
    event = device_event(
        device_id=recording.device_id,
        kind=kind,
        recording_id=str(recording.pk),
        clip_id=recording.clip_id,
        state=recording.state,
        size=recording.size_bytes,
        **extra,
    )
    publish(groups_for_unit_path(path), event)
