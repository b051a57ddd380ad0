"""Stored recordings in the real SeaweedFS, with the lock date the test chooses."""

from __future__ import annotations

import datetime
import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from backend.accounts.models import Role, Unit, User
from backend.audit.services import Actor, audit_record
from backend.footage.models import MediaKind, Recording, RecordingState
from backend.footage.storage import object_store
from backend.retention.models import RecordingRetention
from backend.retention.services import retention_refresh
from tests.factories import make_device, make_officer, make_unit, make_user

StoreRecording = Callable[..., Recording]


@pytest.fixture
def unit() -> Unit:
    """The unit whose officers made the recordings; unit-scoped users (legal officer,
    approving supervisor) belong to it, since holds and marks are scoped like reads."""
    return make_unit()


@pytest.fixture
def store_recording(s3: Any, unit: Unit) -> StoreRecording:
    """Create a stored recording: bytes put under COMPLIANCE lock until now + lock_seconds,
    the audit event footage writes, and its retention row."""
    officer = make_officer(unit)
    device, _token = make_device(officer=officer)

    def build(
        *,
        ended_days_ago: float = 1,
        lock_seconds: float = 3600,
        size: int = 2048,
        data: bytes | None = None,
        put: bool = True,
    ) -> Recording:
        payload = data if data is not None else os.urandom(size)
        digest = hashlib.sha256(payload).hexdigest()
        ended = timezone.now() - datetime.timedelta(days=ended_days_ago)
        retain = (timezone.now() + datetime.timedelta(seconds=lock_seconds)).replace(microsecond=0)
        store = object_store()
        stored = None
        if put:
            with tempfile.NamedTemporaryFile() as handle:
                Path(handle.name).write_bytes(payload)
                stored = store.put_original(
                    bucket=settings.FV_ORIGINALS_BUCKET,
                    path=Path(handle.name),
                    sha256_hex=digest,
                    retain_until=retain,
                )
        from media.object_store import original_key

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
        retention_refresh(recording_ids=[recording.pk])
        return recording

    return build


def retention_of(recording: Recording) -> RecordingRetention:
    return RecordingRetention.objects.get(recording_id=recording.pk)


def object_lock_until(recording: Recording) -> datetime.datetime:
    retention = object_store().client.get_object_retention(
        Bucket=settings.FV_ORIGINALS_BUCKET, Key=recording.storage_key
    )["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    until: datetime.datetime = retention["RetainUntilDate"]
    return until


@pytest.fixture
def storage_admin() -> User:
    return make_user(role=Role.STORAGE_ADMIN)


@pytest.fixture
def legal_officer(unit: Unit) -> User:
    return make_user(role=Role.LEGAL_OFFICER, unit=unit)


@pytest.fixture
def system_admin() -> User:
    return make_user(role=Role.SYSTEM_ADMIN)


@pytest.fixture
def make_approver(system_admin: User, unit: Unit) -> Callable[[], User]:
    from backend.retention.services import retention_approver_designate

    def build() -> User:
        user = make_user(role=Role.SUPERVISOR, unit=unit)
        retention_approver_designate(actor=system_admin, user=user, title="分管副局长")
        return user

    return build
