"""Stored recordings in the real SeaweedFS, with the lock date the test chooses."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from backend.accounts.models import Role, Unit, User
from backend.footage.models import Recording
from backend.footage.storage import object_store
from backend.retention.models import RecordingRetention
from backend.retention.services import retention_refresh
from tests.factories import (
    make_device,
    make_officer,
    make_stored_original,
    make_unit,
    make_user,
)

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
        recording = make_stored_original(
            officer=officer,
            device=device,
            payload=data if data is not None else os.urandom(size),
            ended=timezone.now() - datetime.timedelta(days=ended_days_ago),
            retain_until=timezone.now() + datetime.timedelta(seconds=lock_seconds),
            put=put,
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
