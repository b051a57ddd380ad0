"""What every case service checks: who may act (持证上岗), the frozen archived file, and the
one lock order (case row first, then its review)."""

from __future__ import annotations

import datetime
import uuid

from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Role, User
from backend.accounts.selectors import unit_scope_q
from backend.cases.models import Case
from backend.config.errors import Conflict, NotFound, PermissionDenied

CASE_ROLES = {Role.FIELD_OFFICER, Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN}
LEADER_ROLES = {Role.SUPERVISOR, Role.SYSTEM_ADMIN}


def today() -> datetime.date:
    return timezone.localdate()


def certified_officer(user: User, day: datetime.date) -> Officer:
    """The roster entry of `user`, certified on `day` (持证上岗), or a 403 saying why."""
    officer = Officer.objects.filter(user=user).first()
    if officer is None:
        raise PermissionDenied(
            _("您不在行政执法人员名单中，不能办理或审核案件。"), code="not_an_officer"
        )
    if not officer.certificate_valid_on(day):
        raise PermissionDenied(
            _("您的执法证在 %(day)s 无效（持证上岗），不能办理或审核案件。")
            % {"day": day.isoformat()},
            code="certificate_invalid",
            details={"officer_id": officer.pk, "day": day.isoformat()},
        )
    return officer


def case_locked(case_id: uuid.UUID | str, user: User) -> Case:
    """The case row, locked, if `user` may see it (404 otherwise: no existence leak)."""
    if user.role not in CASE_ROLES:
        raise NotFound(_("没有该案件。"))
    case = (
        Case.objects.select_for_update()
        .filter(unit_scope_q(user, unit_field="unit"), pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound(_("没有该案件。"))
    return case


def refuse_if_archived(case: Case) -> None:
    if case.archived_at is not None:
        raise Conflict(
            _("案卷 %(number)s 已归档，不能再添加、抽取或修改任何材料。") % {"number": case.number},
            code="case_archived",
        )


def handling_officer(case: Case, user: User, day: datetime.date) -> Officer:
    """The acting user must be a handling officer of the case, certified on `day`."""
    officer = certified_officer(user, day)
    if not case.officers.filter(pk=officer.pk).exists():
        raise PermissionDenied(_("只有本案的承办人员可以办理。"), code="not_handling_officer")
    return officer


def require_leader(user: User) -> None:
    if user.role not in LEADER_ROLES:
        raise PermissionDenied(_("只有负责人可以办理此项。"), code="leader_only")
