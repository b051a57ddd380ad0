"""Reads of record lists and activities, scoped to the caller."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from backend.accounts.models import Officer, Role, User
from backend.accounts.selectors import unit_scope_q
from backend.enforcement.models import Activity, RecordList

UNIT_WIDE_ROLES = {Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.CORRECTION_OFFICER}
RECORD_LIST_MANAGERS = {Role.SYSTEM_ADMIN, Role.LEGAL_OFFICER}


def activities_visible_to(user: User) -> QuerySet[Activity]:
    """Unit-wide roles: activities of their unit subtree; field officers: activities they
    took part in; the system administrator: all; anyone else: none."""
    base = Activity.objects.select_related("unit")
    if not (user.is_authenticated and user.is_active):
        return base.none()
    if user.role == Role.SYSTEM_ADMIN:
        return base
    if user.role in UNIT_WIDE_ROLES:
        return base.filter(unit_scope_q(user, unit_field="unit"))
    if user.role == Role.FIELD_OFFICER:
        officer = getattr(user, "officer", None)
        if officer is None:
            return base.none()
        return base.filter(participants__officer=officer)
    return base.none()


def activities_of_officer(officer: Officer) -> QuerySet[Activity]:
    """What a device acting for ``officer`` may see and close."""
    return Activity.objects.select_related("unit").filter(participants__officer=officer)


def parse_activity_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def activity_get_visible(*, user: User, activity_id: str) -> Activity | None:
    """By its id or by the number people use (`external_ref`, e.g. XZ-2026-1204-02)."""
    key = parse_activity_id(activity_id)
    if key is None:
        number = str(activity_id).strip()
        if not number or len(number) > 100:
            return None
        return activities_visible_to(user).filter(external_ref=number).first()
    return activities_visible_to(user).filter(pk=key).first()


def record_lists_all() -> QuerySet[RecordList]:
    return RecordList.objects.order_by("-effective_from")
