"""Reads of the inspections app."""

from __future__ import annotations

import uuid

from django.db.models import F, QuerySet

from backend.accounts.models import Role, User
from backend.accounts.selectors import unit_scope_q
from backend.inspections.models import Inspection, InspectionItem, InspectionStatus, RandomDraw

INSPECTION_MANAGER_ROLES = {Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN}


def may_manage_inspections(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in INSPECTION_MANAGER_ROLES)


def items_visible_to(user: User) -> QuerySet[InspectionItem]:
    if not may_manage_inspections(user):
        return InspectionItem.objects.none()
    return InspectionItem.objects.filter(unit_scope_q(user, unit_field="unit")).order_by(
        "sequence", "pk"
    )


def draw_get(draw_id: str) -> RandomDraw | None:
    """Draws are public (双随机、一公开): inputs, seed and result may be read by anyone."""
    try:
        key = uuid.UUID(draw_id)
    except ValueError:
        return None
    return RandomDraw.objects.select_related("item").filter(pk=key).first()


def inspections_visible_to(user: User) -> QuerySet[Inspection]:
    if not may_manage_inspections(user):
        return Inspection.objects.none()
    return (
        Inspection.objects.filter(unit_scope_q(user, unit_field="unit"))
        .select_related("item", "target")
        .prefetch_related("inspectors__officer")
    )


def inspections_published() -> QuerySet[Inspection]:
    """What the publication page shows: published results, newest first."""
    return (
        Inspection.objects.filter(published_at__isnull=False)
        .select_related("item", "target", "draw")
        .prefetch_related("inspectors__officer")
        .order_by("-published_at", "pk")
    )


def draws_published(
    *, item_id: int | None = None, period: str | None = None
) -> QuerySet[RandomDraw]:
    """All draws, newest first (public: 双随机、一公开)."""
    qs = RandomDraw.objects.select_related("item").order_by("-created_at", "pk")
    if item_id is not None:
        qs = qs.filter(item_id=item_id)
    if period:
        qs = qs.filter(period=period.strip())
    return qs


def inspections_pending_publication(user: User) -> QuerySet[Inspection]:
    """Concluded, unpublished inspections in the caller's scope, nearest deadline first
    (unknown deadlines last)."""
    return (
        inspections_visible_to(user)
        .filter(status=InspectionStatus.CONCLUDED, published_at__isnull=True)
        .order_by(F("publish_by").asc(nulls_last=True), "pk")
    )
