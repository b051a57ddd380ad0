"""Who may set retention policies, place legal holds and approve destruction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import PermissionDenied
from backend.retention.models import (
    RetentionApprover,
)

HOLD_ROLES = {Role.LEGAL_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN}
POLICY_ROLES = {Role.STORAGE_ADMIN, Role.SYSTEM_ADMIN}


# -- roles -------------------------------------------------------------------------------
def user_is_storage_admin(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role in {Role.STORAGE_ADMIN, Role.SYSTEM_ADMIN}
    )


def user_is_retention_approver(user: Any) -> bool:
    """The leader in charge (分管领导): an active RetentionApprover designation."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    return RetentionApprover.objects.filter(user=user, active=True).exists()


def _require(allowed: bool, message: str, code: str) -> None:
    if not allowed:
        raise PermissionDenied(message, code=code)


def retention_approver_designate(*, actor: User, user: User, title: str = "") -> RetentionApprover:
    _require(
        actor.role == Role.SYSTEM_ADMIN, _("只有系统管理员可以指定销毁审批领导"), "not_system_admin"
    )
    with transaction.atomic():
        approver, _created = RetentionApprover.objects.update_or_create(
            user=user, defaults={"designated_by": actor, "active": True, "title": title}
        )
        audit_record(
            actor=Actor.user(actor),
            action="retention.approver_designated",
            object_type="user",
            object_id=user.pk,
            data={"title": title},
        )
    return approver
