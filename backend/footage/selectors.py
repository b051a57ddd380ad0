"""Reads of recordings, scoped to what the caller may see."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.footage.models import (
    Recording,
    RecordingDerivative,
    RecordingState,
    RecordingTimeCorrection,
)
from backend.footage.storage import object_store

CONTENT_ROLES_BY_UNIT = {Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.CORRECTION_OFFICER}


def recordings_scope_q(user: User) -> Q | None:
    """The scope rule as a condition on ``footage_recording`` rows, written as ``EXISTS``
    semi-joins (never a join that multiplies rows, so no ``DISTINCT`` is ever needed):
    field officers their own recordings; unit-wide roles their unit and sub-units (by the
    officer's unit, or the device's unit when no officer is known); the system
    administrator everything (``Q()``). ``None``: this user sees no content by scope."""
    from backend.accounts.models import Officer
    from backend.devices.models import Device

    if not (user.is_authenticated and user.is_active):
        return None
    if user.role == Role.SYSTEM_ADMIN:
        return Q()
    if user.role == Role.FIELD_OFFICER:
        officer = getattr(user, "officer", None)
        return Q(officer_id=officer.pk) if officer is not None else None
    if user.role in CONTENT_ROLES_BY_UNIT and user.unit is not None:
        path = user.unit.path
        by_officer = Exists(
            Officer.objects.filter(pk=OuterRef("officer_id"), unit__path__startswith=path)
        )
        by_device = Exists(
            Device.objects.filter(pk=OuterRef("device_id"), unit__path__startswith=path)
        )
        return Q(by_officer) | (Q(officer__isnull=True) & Q(by_device))
    return None


def recordings_visible_to(user: User) -> QuerySet[Recording]:
    """Field officers see their own recordings; unit-wide roles their unit and sub-units
    (by the officer's unit, or the device's unit when no officer is known); the system
    administrator everything. Other roles see no content here."""
    base = Recording.objects.select_related("device", "officer", "officer__unit")
    scope = recordings_scope_q(user)
    return base.none() if scope is None else base.filter(scope)


def recording_get_visible(*, user: User, recording_id: str) -> Recording | None:
    try:
        key = uuid.UUID(recording_id)
    except ValueError:
        return None
    return (
        recordings_visible_to(user)
        .select_related("processing", "media_metadata")
        .prefetch_related("state_changes", "derivatives", "time_corrections__corrected_by")
        .filter(pk=key)
        .first()
    )


@dataclass(frozen=True)
class DerivativeLink:
    derivative: RecordingDerivative
    url: str
    expires_at: datetime.datetime


def recording_derivative_links(*, recording: Recording) -> list[DerivativeLink]:
    """Short-lived presigned GET URLs for a (visible) recording's derivatives. Only call it
    for a recording obtained through ``recording_get_visible``: the URL is the access.
    A destroyed recording has none (destruction removes its derivatives and their rows)."""
    if recording.state == RecordingState.DESTROYED:
        return []
    seconds = settings.FV_PRESIGNED_URL_SECONDS
    expires_at = timezone.now() + datetime.timedelta(seconds=seconds)
    store = object_store()
    return [
        DerivativeLink(
            derivative=derivative,
            url=store.presigned_get(
                bucket=derivative.bucket, key=derivative.key, expires_seconds=seconds
            ),
            expires_at=expires_at,
        )
        for derivative in recording.derivatives.all()
    ]


def recording_time_corrections(*, recording: Recording) -> QuerySet[RecordingTimeCorrection]:
    """The time-correction history of a (visible) recording, oldest first, with who made
    each correction."""
    return RecordingTimeCorrection.objects.filter(recording=recording).select_related(
        "corrected_by"
    )
