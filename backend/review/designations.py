"""Who approves: access-request approvers (调阅审批人: the office head or bureau head over a
unit's records) and destruction leaders (销毁审批领导, the leader in charge). Only a system
administrator names or withdraws them, from the web page or `manage.py approvers`; every
change is audited. Destruction-leader designations are retention's own records
(backend.retention.services.retention_approver_designate)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import Role, Unit, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.retention.models import RetentionApprover
from backend.retention.services import retention_approver_designate
from backend.review.models import ApprovalAuthority, Approver


def _require_system_admin(actor: User) -> None:
    if not (actor.is_active and actor.role == Role.SYSTEM_ADMIN):
        raise PermissionDenied(_("只有系统管理员可以指定审批人"), code="not_system_admin")


def _active_user(user_id: int | None = None, username: str | None = None) -> User:
    found = User.objects.filter(is_active=True)
    user = (
        found.filter(pk=user_id).first()
        if user_id is not None
        else found.filter(username=username).first()
    )
    if user is None:
        raise NotFound(
            _("没有这个用户"),
            code="no_such_user",
            details={"user": user_id if user_id is not None else username},
        )
    return user


@dataclass(frozen=True)
class Designations:
    approvers: list[Approver]
    leaders: list[RetentionApprover]


def designations_list() -> Designations:
    return Designations(
        approvers=list(
            Approver.objects.select_related("user", "unit").order_by("unit__path", "user__username")
        ),
        leaders=list(
            RetentionApprover.objects.filter(active=True)
            .select_related("user")
            .order_by("user__username")
        ),
    )


def access_approver_name(*, actor: User, user: User, authority: str, unit: Unit) -> Approver:
    """Name `user` as the holder of `authority` for the records of `unit` and its sub-units.
    Naming the same office twice returns the existing one."""
    _require_system_admin(actor)
    if authority not in ApprovalAuthority.values:
        raise InvalidInput(
            _("审批权限无效"),
            code="invalid_authority",
            details={"allowed": list(ApprovalAuthority.values)},
        )
    if not user.is_active:
        raise Conflict(_("该用户已停用"), code="user_inactive")
    with transaction.atomic():
        approver, created = Approver.objects.get_or_create(
            user=user, authority=authority, unit=unit
        )
        if created:
            audit_record(
                actor=Actor.user(actor),
                action="access_approver.named",
                object_type="user",
                object_id=user.pk,
                data={"authority": authority, "unit_id": unit.pk, "unit": unit.name},
            )
    return approver


def access_approver_withdraw(*, actor: User, approver_id: int) -> None:
    _require_system_admin(actor)
    with transaction.atomic():
        approver = Approver.objects.select_related("unit").filter(pk=approver_id).first()
        if approver is None:
            raise NotFound(_("没有这个审批人"), code="no_such_approver")
        audit_record(
            actor=Actor.user(actor),
            action="access_approver.withdrawn",
            object_type="user",
            object_id=approver.user_id,
            data={"authority": approver.authority, "unit_id": approver.unit_id},
        )
        approver.delete()


def destruction_leader_name(*, actor: User, user: User, title: str = "") -> RetentionApprover:
    _require_system_admin(actor)
    if not user.is_active:
        raise Conflict(_("该用户已停用"), code="user_inactive")
    if len(title) > 100:
        raise InvalidInput(_("职务不能超过100个字符"), code="title_too_long")
    return retention_approver_designate(actor=actor, user=user, title=title.strip())


def destruction_leader_withdraw(*, actor: User, user: User) -> None:
    _require_system_admin(actor)
    with transaction.atomic():
        updated = RetentionApprover.objects.filter(user=user, active=True).update(active=False)
        if not updated:
            raise NotFound(_("该用户不是销毁审批领导"), code="not_a_destruction_leader")
        audit_record(
            actor=Actor.user(actor),
            action="retention.approver_withdrawn",
            object_type="user",
            object_id=user.pk,
            data={},
        )


def user_by_name(username: str) -> User:
    return _active_user(username=username)


def user_by_id(user_id: int) -> User:
    return _active_user(user_id=user_id)
