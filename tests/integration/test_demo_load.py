"""`manage.py demo_load` gives every demo user real work, and a second run adds nothing:
the record list, three activities (covered / gap / two officers), a correction subject
with check-ins and overdue home visits, a random draw, an access-request approver and two
destruction leaders; the demo camera is assigned before the clips it is to sync."""

from __future__ import annotations

import datetime
import io
import json
import uuid
from typing import Any

import pytest
from django.core.management import call_command

from backend.accounts.models import Officer, Role, User
from backend.corrections.models import Contact, ContactKind, OverdueAlert, Subject
from backend.devices.models import DeviceAssignment
from backend.devices.services import AssignmentIndex
from backend.enforcement.models import Activity, ActivityOfficer, RecordList
from backend.inspections.models import Inspection, RandomDraw
from backend.inspections.services import draw_verify
from backend.retention.services import user_is_retention_approver
from backend.review.models import ApprovalAuthority, Approver
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.django_db

ROSTER = REPO_ROOT / "mobile_contract" / "examples" / "officers.csv"


def _load() -> dict[str, Any]:
    out = io.StringIO()
    call_command("demo_load", "--roster", str(ROSTER), "--password", "pw-demo-1", stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def _counts() -> dict[str, int]:
    return {
        "record_lists": RecordList.objects.count(),
        "activities": Activity.objects.filter(external_ref__startswith="demo-").count(),
        "subjects": Subject.objects.count(),
        "contacts": Contact.objects.count(),
        "alerts": OverdueAlert.objects.count(),
        "draws": RandomDraw.objects.count(),
        "inspections": Inspection.objects.count(),
        "approvers": Approver.objects.count(),
        "assignments": DeviceAssignment.objects.count(),
        "users": User.objects.count(),
    }


def test_demo_load_gives_each_role_work_and_is_idempotent() -> None:
    first = _load()
    assert set(first["users"]) == set(Role.values)
    field_user = User.objects.get(username=first["users"][Role.FIELD_OFFICER])
    officer = Officer.objects.get(user=field_user)
    assert officer.certificate_valid_on()

    # The camera is the field officer's at every clip's recorded time.
    starts = [datetime.datetime.fromisoformat(s) for s in first["clip_starts"]]
    assert len(starts) == 6
    index = AssignmentIndex(uuid.UUID(first["device_id"]))
    assert {index.officer_at(start) for start in starts} == {officer.pk}

    refs = dict(
        Activity.objects.filter(external_ref__startswith="demo-").values_list(
            "external_ref", "stage"
        )
    )
    assert refs == {
        "demo-activity-covered": "送达",
        "demo-activity-gap": "现场检查",
        "demo-activity-two-officers": "调查取证",
    }
    two = Activity.objects.get(external_ref="demo-activity-two-officers")
    assert ActivityOfficer.objects.filter(activity=two).count() == 2
    assert two.rule is not None and two.rule.min_officers == 2
    assert RecordList.objects.count() == 1

    subject = Subject.objects.get()
    correction_user = User.objects.get(username=first["users"][Role.CORRECTION_OFFICER])
    assert subject.responsible_officer.user == correction_user
    assert Contact.objects.filter(subject=subject, kind=ContactKind.CHECK_IN).exists()
    alerts = OverdueAlert.objects.filter(subject=subject)
    assert alerts.exists() and {a.kind for a in alerts} == {ContactKind.HOME_VISIT}

    draw = RandomDraw.objects.get()
    assert draw_verify(draw).matches
    assert Inspection.objects.filter(draw=draw).exists()

    supervisor = User.objects.get(username=first["users"][Role.SUPERVISOR])
    assert Approver.objects.filter(
        user=supervisor, authority=ApprovalAuthority.BUREAU_HEAD
    ).exists()
    leaders = [User.objects.get(username=name) for name in first["leaders"]]
    assert len(leaders) == 2 and all(user_is_retention_approver(u) for u in leaders)
    assert all(u.check_password("pw-demo-1") for u in leaders)

    before = _counts()
    second = _load()
    assert _counts() == before
    assert second["clip_starts"] == first["clip_starts"]
    assert second["device_id"] == first["device_id"]
