"""What every write of the case library checks: who may author, who reviews at which
level (the unit tree), real names (署名制, 实名评审), and the one lock (the case row)."""

from __future__ import annotations

import uuid

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.caselibrary.models import LibraryCase, LibraryState, ReviewLevel
from backend.config.errors import NotFound, PermissionDenied

AUTHOR_ROLES = {Role.FIELD_OFFICER, Role.CORRECTION_OFFICER, Role.SUPERVISOR, Role.LEGAL_OFFICER}
REVIEWER_ROLES = {Role.SUPERVISOR, Role.LEGAL_OFFICER}


def real_name(user: User) -> str:
    """The name a person signs with: the account's full name, else the roster's name."""
    name = user.get_full_name().strip()
    if name:
        return name
    officer = Officer.objects.filter(user=user).only("name").first()
    return officer.name.strip() if officer else ""


def signed_name(user: User) -> str:
    name = real_name(user)
    if not name:
        raise PermissionDenied(
            _("案例选编实行署名制、评审实行实名制：您的账号没有登记真实姓名。"),
            code="real_name_required",
        )
    return name


def confidential_q(user: User) -> Q:
    """Before acceptance a case is seen by its author unit and the units of the levels it
    has reached (严格保密), as an EXISTS; accepted ones by every signed-in staff member."""
    accepted = Q(state=LibraryState.ACCEPTED)
    if not (user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if user.unit_id is None:
        return accepted
    own = Q(author_unit_id=user.unit_id) if user.role in AUTHOR_ROLES else Q(pk__in=[])
    reviewing = (
        Q(Exists(ReviewLevel.objects.filter(case=OuterRef("pk"), unit_id=user.unit_id)))
        if user.role in REVIEWER_ROLES
        else Q(pk__in=[])
    )
    return accepted | own | reviewing


def case_locked(case_id: uuid.UUID | str, user: User) -> LibraryCase:
    case = (
        LibraryCase.objects.select_for_update(of=("self",))
        .filter(confidential_q(user), pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound(_("没有该案例。"))
    return case


def require_author(case: LibraryCase, user: User) -> None:
    if user.role not in AUTHOR_ROLES or user.unit_id != case.author_unit_id:
        raise PermissionDenied(_("只有编写单位的工作人员可以修改或报送案例。"), code="not_author")


def review_chain(author_unit: Unit) -> list[Unit]:
    """The levels, nearest first: every bureau on the way from the author unit to the top of
    its tree (county → city → province, as the unit tree is configured)."""
    ids = [int(part) for part in author_unit.path.strip("/").split("/") if part]
    bureaus = {u.pk: u for u in Unit.objects.filter(pk__in=ids, kind=UnitKind.BUREAU)}
    return [bureaus[pk] for pk in reversed(ids) if pk in bureaus]
