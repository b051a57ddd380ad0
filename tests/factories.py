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
from backend.footage.models import Recording


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


def make_stored_original(
    *,
    officer: Officer,
    device: Device | None = None,
    payload: bytes | None = None,
    ended: datetime.datetime | None = None,
    retain_until: datetime.datetime | None = None,
    put: bool = True,
) -> Recording:
    """A stored five-minute recording whose original is in the test SeaweedFS under
    COMPLIANCE lock until `retain_until` (default: in an hour), with the audit event
    footage writes when it stores one; no retention row (retention_refresh makes it).
    `put=False` leaves the bucket without the object (a lost original)."""
    import tempfile
    from pathlib import Path

    from django.conf import settings

    from backend.audit.services import audit_record
    from backend.footage.models import MediaKind, RecordingState
    from backend.footage.storage import object_store
    from media.object_store import original_key

    payload = payload if payload is not None else os.urandom(2048)
    digest = hashlib.sha256(payload).hexdigest()
    ended = ended or timezone.now() - datetime.timedelta(days=1)
    retain = retain_until or timezone.now() + datetime.timedelta(hours=1)
    retain = retain.replace(microsecond=0)
    stored = None
    if put:
        with tempfile.NamedTemporaryFile() as handle:
            Path(handle.name).write_bytes(payload)
            stored = object_store().put_original(
                bucket=settings.FV_ORIGINALS_BUCKET,
                path=Path(handle.name),
                sha256_hex=digest,
                retain_until=retain,
            )
    if device is None:
        device, _token = make_device(officer=officer)
    recording = Recording.objects.create(
        device=device,
        clip_id=uuid.uuid4().hex,
        file_name=f"{digest[:8]}.mp4",
        size_bytes=len(payload),
        sha256=digest,
        media_kind=MediaKind.VIDEO,
        device_started_at=ended - datetime.timedelta(minutes=5),
        device_ended_at=ended,
        started_at=ended - datetime.timedelta(minutes=5),
        ended_at=ended,
        officer=officer,
        state=RecordingState.STORED,
        storage_key=original_key(digest),
        storage_version_id=(stored.version_id or "") if stored else "",
        stored_at=timezone.now(),
    )
    audit_record(
        actor=Actor.system(),
        action="recording.stored",
        object_type="recording",
        object_id=recording.pk,
        data={
            "key": recording.storage_key,
            "sha256": digest,
            "deduplicated": bool(stored and stored.already_present),
            "retain_until": retain.isoformat(),
        },
    )
    return recording
