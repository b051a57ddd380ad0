"""Readiness of one web process for a load balancer: can it serve a device right now?

Each check answers ok and a short reason word (never an address, key or path); the whole is
ready only when every check is ok. Backup freshness is deliberately not here: a lagging
backup is an alert (metrics), not a reason to take a web process out of rotation.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from backend.footage.storage import object_store
from ops.heartbeat import freshest_age


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    reason: str
    milliseconds: int


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _object_storage() -> str:
    client = object_store().client
    configuration = client.get_object_lock_configuration(Bucket=settings.FV_ORIGINALS_BUCKET)
    enabled = configuration.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
    if enabled != "Enabled":
        raise RuntimeError("object_lock_disabled")
    return "ok"


def _channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no_channel_layer")
    channel = f"readyz.{uuid.uuid4().hex}"
    async_to_sync(layer.send)(channel, {"type": "readyz.ping"})
    message = async_to_sync(layer.receive)(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("channel_layer_echo_wrong")
    return "ok"


def _staging_disk() -> str:
    directory = settings.FV_STAGING_DIR
    directory.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if free < settings.FV_READY_MIN_FREE_BYTES:
        raise RuntimeError("staging_disk_low")
    return "ok"


def _heartbeat(role: str) -> Callable[[], str]:
    def check() -> str:
        age = freshest_age(settings.FV_STAGING_DIR, role)
        if age is None:
            raise RuntimeError(f"no_{role}_heartbeat")
        if age > settings.FV_READY_HEARTBEAT_SECONDS:
            raise RuntimeError(f"{role}_heartbeat_stale")
        return "ok"

    return check


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "object_storage": _object_storage,
    "channel_layer": _channel_layer,
    "staging_disk": _staging_disk,
    # Background processes (ops/heartbeat.py): without a worker nothing is stored or
    # processed, without the scheduler no retention, fixity or integrity pass runs.
    "worker": _heartbeat("worker"),
    "scheduler": _heartbeat("scheduler"),
}


def _reason(exc: Exception) -> str:
    """A word for the failure: ours as raised, others by exception class (no details)."""
    text = str(exc)
    if isinstance(exc, RuntimeError) and text.replace("_", "").isalnum():
        return text
    code = (
        getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if hasattr(exc, "response")
        else ""
    )
    return f"{type(exc).__name__}{':' + code if code else ''}"


def readiness() -> list[Check]:
    results = []
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            reason, ok = check(), True
        except Exception as exc:  # every failure is an answer, never a 500
            reason, ok = _reason(exc), False
        results.append(Check(name, ok, reason, int((time.monotonic() - started) * 1000)))
    return results
