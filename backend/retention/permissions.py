"""Who may use retention's API operations and pages (the decisions are services')."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.config.errors import PermissionDenied
from backend.retention import services

# Besides the leader in charge of destruction (services.user_is_retention_approver).
REGISTER_ROLES = {Role.STORAGE_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR}


def user_of(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def storage_admin(request: HttpRequest) -> User:
    user = user_of(request)
    if not services.user_is_storage_admin(user):
        raise PermissionDenied(str(_("只有存储管理员可以访问")), code="not_storage_admin")
    return user


def admin_or_approver(request: HttpRequest) -> User:
    user = user_of(request)
    if not (services.user_is_storage_admin(user) or services.user_is_retention_approver(user)):
        raise PermissionDenied(str(_("只有存储管理员或分管领导可以访问")), code="not_allowed")
    return user


def user_may_read_register(user: User) -> bool:
    return user.role in REGISTER_ROLES or services.user_is_retention_approver(user)


def register_reader(request: HttpRequest) -> User:
    user = user_of(request)
    if not user_may_read_register(user):
        raise PermissionDenied(str(_("无权查看销毁清册")), code="not_allowed")
    return user
