"""`manage.py approvers` names and withdraws access-request approvers and destruction
leaders as a system administrator, audited; bad input is a CommandError, not a traceback."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.retention.services import user_is_retention_approver
from backend.review.models import ApprovalAuthority, Approver
from tests.factories import make_unit, make_user

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("approvers", *args, stdout=out)
    return out.getvalue()


def test_name_and_withdraw_by_command() -> None:
    bureau = make_unit("示范县司法局-cmd")
    admin = make_user(role=Role.SYSTEM_ADMIN, unit=bureau, username="cmd-admin")
    head = make_user(role=Role.SUPERVISOR, unit=bureau, username="cmd-head")
    leader = make_user(role=Role.SUPERVISOR, unit=bureau, username="cmd-leader")

    _run("access", "cmd-head", "--authority", "bureau_head", "--unit", bureau.name)
    _run("access", "cmd-head", "--authority", "bureau_head", "--unit", bureau.name)  # idempotent
    _run("leader", "cmd-leader", "--title", "分管副局长")

    assert (
        Approver.objects.filter(
            user=head, authority=ApprovalAuthority.BUREAU_HEAD, unit=bureau
        ).count()
        == 1
    )
    assert user_is_retention_approver(leader)
    listed = json.loads(_run("list", "--json"))
    assert {"username": "cmd-leader", "title": "分管副局长"} in listed["destruction_leaders"]
    assert [a["username"] for a in listed["access_approvers"]] == ["cmd-head"]
    actions = set(
        AuditEvent.objects.filter(actor_id=str(admin.pk)).values_list("action", flat=True)
    )
    assert {"access_approver.named", "retention.approver_designated"} <= actions

    _run("leader-withdraw", "cmd-leader")
    _run("access-withdraw", str(listed["access_approvers"][0]["id"]))
    assert not user_is_retention_approver(leader)
    assert not Approver.objects.filter(user=head).exists()


def test_bad_input_is_a_command_error() -> None:
    bureau = make_unit("示范县司法局-bad")
    make_user(role=Role.SYSTEM_ADMIN, unit=bureau, username="bad-admin")
    with pytest.raises(CommandError, match="no_such_user"):
        _run("leader", "nobody")
    with pytest.raises(CommandError, match="no unit named"):
        _run("access", "bad-admin", "--authority", "office_head", "--unit", "不存在")
    with pytest.raises(CommandError, match="not_a_destruction_leader"):
        _run("leader-withdraw", "bad-admin")
    make_user(role=Role.SYSTEM_ADMIN, unit=bureau, username="bad-admin-2")
    with pytest.raises(CommandError, match="--by"):
        _run("leader", "bad-admin")
    _run("--by", "bad-admin-2", "leader", "bad-admin")
