"""Who may see what: unit subtrees and roles. Every user-triggered read is scoped here."""

from __future__ import annotations

import datetime

from django.db.models import F, Q, QuerySet

from backend.accounts.models import Officer, Role, Unit, User

UNIT_WIDE_ROLES = {Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.CORRECTION_OFFICER}


def units_in_subtree(unit: Unit) -> QuerySet[Unit]:
    return Unit.objects.filter(path__startswith=unit.path)


def bureau_path(unit: Unit) -> str:
    """The materialised path of the bureau at the top of `unit`'s tree ("/1/" of "/1/4/")."""
    top = unit.path.strip("/").split("/")[0]
    return f"/{top}/"


def unit_scope_q(user: User, *, unit_field: str) -> Q:
    """A filter on `<unit_field>` limiting rows to the user's unit and its sub-units.

    Users without a unit see nothing; the system administrator sees every unit.
    """
    if user.role == Role.SYSTEM_ADMIN:
        return Q()
    if user.unit_id is None:
        return Q(pk__in=[])
    return Q(**{f"{unit_field}__path__startswith": user.unit.path})  # type: ignore[union-attr]


def user_has_role(user: User, *roles: str) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in roles)


CERTIFICATE_WATCH_DAYS = 90
CERTIFICATE_PAGE_ROLES = (Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN)


def officers_certificate_watch(
    user: User, *, today: datetime.date, within_days: int = CERTIFICATE_WATCH_DAYS
) -> QuerySet[Officer]:
    """Officers of the user's units who may not enforce today or will not within
    ``within_days`` (持证上岗): no certificate, no validity date, expired or expiring."""
    horizon = today + datetime.timedelta(days=within_days)
    return (
        Officer.objects.filter(unit_scope_q(user, unit_field="unit"))
        .filter(
            Q(certificate_number__isnull=True)
            | Q(certificate_number="")
            | Q(certificate_valid_until__isnull=True)
            | Q(certificate_valid_until__lte=horizon)
        )
        .select_related("unit")
        .order_by(F("certificate_valid_until").asc(nulls_first=True), "name", "pk")
    )
