"""Gap explanations end to end in the pages: the officer explains a gap from the activity
page, a supervisor accepts or rejects with a reason (never their own), the dashboard lists
the pending ones, and verdict lines read "已说明（已采纳）"."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Role
from backend.coverage.models import GapExplanation
from backend.enforcement.models import ActivityOfficer
from tests.factories import make_officer
from tests.review.conftest import World, make_activity

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

ACTIVITY_QUERY_BUDGET = 40


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_officer_explains_supervisor_accepts_lines_and_queue(world: World) -> None:
    activity = make_activity(world)
    url = f"/activities/{activity.pk}/"
    officer = _client(world.users[Role.FIELD_OFFICER])
    page = officer.get(url).content.decode()
    assert 'id="explain-form"' in page
    assert "整个执法活动（未记录）" in page
    assert "已说明（待审核）" in page  # the fixture's explanation awaits a decision
    gap_value = page.split('<select name="gap"', 1)[1].split('value="', 2)[2].split('"', 1)[0]
    assert "/" in gap_value  # a gap of the officer's own row: "from/to"

    # Invalid: "other" without text comes back in Chinese with what was chosen.
    bad = officer.post(
        f"/coverage/activities/{activity.pk}/explanations/", {"reason": "other", "gap": gap_value}
    )
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "选择“其他”时必须填写说明" in body
    assert f'<option value="{gap_value}" selected>' in body
    made = officer.post(
        f"/coverage/activities/{activity.pk}/explanations/",
        {"reason": "device_failure", "gap": gap_value, "text": "记录仪死机重启"},
    )
    assert made.status_code == 302 and made["Location"] == url + "#explain"
    new = GapExplanation.objects.get(activity=activity, reason="device_failure")
    assert new.gap_from is not None and new.submitted_by == world.users[Role.FIELD_OFFICER]
    # A field officer does not decide.
    assert (
        officer.post(
            f"/coverage/explanations/{new.pk}/decide/", {"decision": "accept", "note": "x"}
        )
    ).status_code == 403

    # The supervisor's dashboard lists both pending explanations.
    supervisor = _client(world.users[Role.SUPERVISOR])
    dashboard = supervisor.get("/").content.decode()
    assert 'id="explanations-pending"' in dashboard
    assert dashboard.count(f"/activities/{activity.pk}/#explanation-") == 2
    # A decision needs a reason.
    refused = supervisor.post(f"/coverage/explanations/{new.pk}/decide/", {"decision": "reject"})
    assert refused.status_code == 400 and "请填写审核意见" in refused.content.decode()
    for explanation in GapExplanation.objects.filter(activity=activity):
        done = supervisor.post(
            f"/coverage/explanations/{explanation.pk}/decide/",
            {"decision": "accept", "note": "已核实设备日志"},
        )
        assert done.status_code == 302
    with CaptureQueriesContext(connection) as queries:
        page = supervisor.get(url).content.decode()
    assert len(queries) <= ACTIVITY_QUERY_BUDGET, len(queries)
    assert 'id="explanation-line">已说明（已采纳）' in page
    assert "已核实设备日志" in page
    assert "已说明（已采纳）" in supervisor.get("/activities/").content.decode()
    assert 'id="explanations-pending"' not in supervisor.get("/").content.decode()
    # Decided once only.
    again = supervisor.post(
        f"/coverage/explanations/{new.pk}/decide/", {"decision": "reject", "note": "改判"}
    )
    assert again.status_code == 409


def test_a_supervisor_never_decides_their_own_explanation(world: World) -> None:
    activity = make_activity(world)
    boss = world.users[Role.SUPERVISOR]
    own_officer = make_officer(world.office, name="钱队长")
    own_officer.user = boss
    own_officer.save(update_fields=["user"])
    ActivityOfficer.objects.create(activity=activity, officer=own_officer)
    client = _client(boss)
    made = client.post(
        f"/coverage/activities/{activity.pk}/explanations/",
        {"reason": "third_party_privacy", "text": "未成年人在场"},
    )
    assert made.status_code == 302
    own = GapExplanation.objects.get(activity=activity, submitted_by=boss)
    page = client.get(f"/activities/{activity.pk}/").content.decode()
    mine = page.split(f'id="explanation-{own.pk}"', 1)[1].split("</li>", 1)[0]
    assert "本人提交的说明由其他审核人员审核。" in mine and "审核意见" not in mine
    dashboard = client.get("/").content.decode()
    assert f"#explanation-{own.pk}" not in dashboard
    forced = client.post(
        f"/coverage/explanations/{own.pk}/decide/", {"decision": "accept", "note": "自审"}
    )
    assert forced.status_code == 403
    assert "不能审核自己提交的说明" in forced.content.decode()
    own.refresh_from_db()
    assert own.state == "pending"
    # The legal officer decides it.
    legal = _client(world.users[Role.LEGAL_OFFICER])
    assert (
        legal.post(
            f"/coverage/explanations/{own.pk}/decide/", {"decision": "reject", "note": "理由不足"}
        ).status_code
        == 302
    )


def test_who_may_explain_and_scope(world: World) -> None:
    activity = make_activity(world)
    # Not a participant: 403; another bureau's officer: 404.
    legal = _client(world.users[Role.LEGAL_OFFICER])
    body = {"reason": "battery", "text": "x"}
    assert legal.post(f"/coverage/activities/{activity.pk}/explanations/", body).status_code == 403
    other = _client(world.other_users[Role.FIELD_OFFICER])
    assert other.post(f"/coverage/activities/{activity.pk}/explanations/", body).status_code == 404
    explanation = GapExplanation.objects.get(activity=activity)
    other_boss = _client(world.other_users[Role.SUPERVISOR])
    assert (
        other_boss.post(
            f"/coverage/explanations/{explanation.pk}/decide/", {"decision": "accept", "note": "x"}
        ).status_code
        == 404
    )


def test_explanation_lines_read_in_english(world: World) -> None:
    activity = make_activity(world)
    GapExplanation.objects.filter(activity=activity).update(state="accepted")
    client = _client(world.users[Role.SUPERVISOR])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(f"/activities/{activity.pk}/").content.decode()
    assert 'id="explanation-line">Explained (accepted)' in page
    assert "Gap explanations and decisions" in page
