"""Editing a rule in the Django admin re-checks the activities it judges; the link
buffer is a setting; ``coverage_recheck --rule``."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.test import Client, override_settings

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.coverage.models import CoverageEvaluation, RecordingLink
from backend.enforcement import admin as enforcement_admin
from backend.enforcement.models import RecordRule
from tests.coverage_integration.conftest import (
    World,
    at,
    client_for,
    create_activity,
    make_recording,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db
MINUTE = datetime.timedelta(minutes=1)


def admin_client() -> Client:
    user = make_user(role=Role.SYSTEM_ADMIN)
    type(user).objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(type(user).objects.get(pk=user.pk))
    return client


def late_delivery(world: World) -> str:
    """送达 by alice, recorded from 5 minutes after the start: late start (grace 30 s)."""
    start = at("2026-03-02 09:00")
    make_recording(world.alice_device, world.alice, start + 5 * MINUTE, start + 30 * MINUTE)
    response = create_activity(
        client_for(world.supervisor),
        category="行政处罚",
        stage="送达",
        officers=[world.alice],
        start=start,
        stop=start + 30 * MINUTE,
        unit_id=world.office.pk,
    )
    assert response.status_code == 201, response.content
    activity_id = str(response.json()["id"])
    assert verdict(activity_id) == "late_start"
    return activity_id


def verdict(activity_id: str) -> str:
    return CoverageEvaluation.objects.get(activity_id=activity_id).verdict


def form_data(rule: RecordRule, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: ("" if value is None else value)
        for key, value in model_to_dict(rule).items()
        if key != "id"
    }
    for key in ("late_start_grace", "early_stop_grace", "max_split_gap"):
        data[key] = str(data[key])
    data["full_process"] = "on" if rule.full_process else ""
    data["required"] = "on" if rule.required else ""
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_admin_edit_of_a_grace_rechecks_the_activities_of_that_rule(world: World) -> None:
    activity_id = late_delivery(world)
    rule = RecordRule.objects.get(stage="送达")
    other = CoverageEvaluation.objects.count()
    response = admin_client().post(
        f"/admin/enforcement/recordrule/{rule.pk}/change/",
        form_data(rule, late_start_grace="00:10:00"),
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("重新检查了 1 个执法活动" in m for m in messages), messages
    rule.refresh_from_db()
    assert rule.late_start_grace == datetime.timedelta(minutes=10)
    assert verdict(activity_id) == "compliant"
    assert CoverageEvaluation.objects.count() == other
    event = AuditEvent.objects.get(action="record_rule.edited", object_id=str(rule.pk))
    assert event.data["changed"] == ["late_start_grace"]


def test_edited_stop_text_keeps_an_unknown_phrase_as_its_own_moment(world: World) -> None:
    rule = RecordRule.objects.get(stage="送达")
    assert rule.stop_moment == "site_leave"
    response = admin_client().post(
        f"/admin/enforcement/recordrule/{rule.pk}/change/",
        form_data(rule, stop_text="受送达人签收回执"),
        follow=True,
    )
    assert response.status_code == 200
    rule.refresh_from_db()
    assert rule.stop_text == "受送达人签收回执"
    assert rule.stop_moment.startswith("custom:")


def test_many_activities_are_left_to_the_command_with_the_rule(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    activity_id = late_delivery(world)
    rule = RecordRule.objects.get(stage="送达")
    monkeypatch.setattr(enforcement_admin, "ADMIN_RECHECK_LIMIT", 0)
    response = admin_client().post(
        f"/admin/enforcement/recordrule/{rule.pk}/change/",
        form_data(rule, late_start_grace="00:10:00"),
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any(f"coverage_recheck --rule {rule.pk}" in m for m in messages), messages
    assert verdict(activity_id) == "late_start"  # not re-checked inline
    call_command("coverage_recheck", "--rule", str(rule.pk), "--no-progress")
    assert "re-checked 1 activities" in capsys.readouterr().out
    assert verdict(activity_id) == "compliant"


def test_recheck_command_refuses_a_missing_or_backwards_range(world: World) -> None:
    with pytest.raises(CommandError, match="--from and --to, or --rule"):
        call_command("coverage_recheck", "--from", "2026-03-01")
    with pytest.raises(CommandError, match="before"):
        call_command("coverage_recheck", "--from", "2026-03-02", "--to", "2026-03-01")


@pytest.mark.parametrize(("buffer_seconds", "linked"), [(0, False), (300, True)])
def test_link_buffer_is_a_setting(world: World, buffer_seconds: int, linked: bool) -> None:
    start = at("2026-03-02 09:00")
    before = make_recording(world.alice_device, world.alice, start - 4 * MINUTE, start - MINUTE)
    with override_settings(FV_COVERAGE_LINK_BUFFER_SECONDS=buffer_seconds):
        response = create_activity(
            client_for(world.supervisor),
            category="行政处罚",
            stage="送达",
            officers=[world.alice],
            start=start,
            stop=start + 30 * MINUTE,
            unit_id=world.office.pk,
        )
    assert response.status_code == 201, response.content
    assert (
        RecordingLink.objects.filter(activity_id=response.json()["id"], recording=before).exists()
        is linked
    )
