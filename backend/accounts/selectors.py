"""Who may see what: unit subtrees and roles. Every user-triggered read is scoped here."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from backend.accounts.models import Role, Unit, User

UNIT_WIDE_ROLES = {Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.CORRECTION_OFFICER}


def units_in_subtree(unit: Unit) -> QuerySet[Unit]:
    return Unit.objects.filter(path__startswith=unit.path)


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
