"""The activities list and the activity page's timeline picture."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from tests.review.conftest import World, make_activity

pytestmark = pytest.mark.django_db


@pytest.mark.clock
def test_activity_page_draws_window_bars_gaps_and_explanations(world: World) -> None:
    activity = make_activity(world)
    client = Client()
    client.force_login(world.users[Role.SUPERVISOR])
    page = client.get(f"/activities/{activity.pk}/").content.decode()
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert (
        'class="window"' in svg and 'class="moment-start"' in svg and 'class="moment-stop"' in svg
    )
    assert len(re.findall(r'class="recording"', svg)) == 1
    assert len(re.findall(r'class="gap"', svg)) >= 2  # officer 1: start and end; officer 2: all
    assert "开始过晚" in svg and "提前停止" in svg and "无记录" in svg
    assert "进入检查场所时" in svg
    explained = re.findall(r'<rect class="explained"[^>]*><title>([^<]*)</title>', svg)
    assert len(explained) == 1 and "电量耗尽，更换电池" in explained[0]
    recording = world.extra["activity_recording"]
    assert f'href="/recordings/{recording.pk}/"' in svg
    assert "电量耗尽，更换电池" in page  # the explanation beside the picture
    assert activity.coverage.verdict in page or "开始记录过晚" in page


@pytest.mark.clock
def test_activity_list_filters_and_scopes(world: World) -> None:
    activity = make_activity(world)
    client = Client()
    client.force_login(world.users[Role.SUPERVISOR])
    assert str(activity.pk) in client.get("/activities/").content.decode()
    assert (
        str(activity.pk) in client.get("/activities/?category=行政检查&officer=王").content.decode()
    )
    assert str(activity.pk) not in client.get("/activities/?category=行政处罚").content.decode()
    # The bureau includes its office's activities; another unit's filter excludes them.
    assert str(activity.pk) in client.get(f"/activities/?unit={world.bureau.pk}").content.decode()
    assert str(activity.pk) not in (
        client.get(f"/activities/?unit={world.other_bureau.pk}").content.decode()
    )
    verdict = activity.coverage.verdict
    assert str(activity.pk) in client.get(f"/activities/?verdict={verdict}").content.decode()
    htmx = client.get("/activities/?stage=现场检查", headers={"HX-Request": "true"})
    assert "<html" not in htmx.content.decode() and str(activity.pk) in htmx.content.decode()
    other = Client()
    other.force_login(world.other_users[Role.SUPERVISOR])
    assert str(activity.pk) not in other.get("/activities/").content.decode()
    assert other.get(f"/activities/{activity.pk}/").status_code == 404
    if timezone.localtime(activity.started_at).date() == timezone.localdate():
        assert str(activity.pk) in client.get("/").content.decode()  # today's activities
