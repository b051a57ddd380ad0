"""Search by number, officer, device and date, scoped (issue 16 items 3 and 6), and the
dashboard's figures for today and this week with their chart."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import Role
from backend.enforcement.models import Activity
from tests.review.conftest import World, make_activity

pytestmark = [pytest.mark.django_db, pytest.mark.integration, pytest.mark.clock]

SEARCH_QUERY_BUDGET = 12
DASHBOARD_QUERY_BUDGET = 40


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_search_by_number_officer_device_and_date(world: World) -> None:
    activity = make_activity(world)
    Activity.objects.filter(pk=activity.pk).update(external_ref="XZ-2026-1204-02")
    recording = world.extra["activity_recording"]
    supervisor = _client(world.users[Role.SUPERVISOR])
    with CaptureQueriesContext(connection) as queries:
        found = supervisor.get("/search/", {"q": "XZ-2026-1204-02"}).content.decode()
    assert len(queries) <= SEARCH_QUERY_BUDGET, len(queries)
    activities = found.split('id="found-activities"', 1)[1].split("</section>", 1)[0]
    recordings = found.split('id="found-recordings"', 1)[1]
    assert f"/activities/{activity.pk}/" in activities
    assert f"/recordings/{recording.pk}/" in recordings  # linked to the numbered activity
    by_officer = supervisor.get("/search/", {"officer": "赵协查"}).content.decode()
    assert f"/activities/{activity.pk}/" in by_officer  # the partner took part
    by_device = supervisor.get("/search/", {"device": world.device.serial}).content.decode()
    assert f"/recordings/{recording.pk}/" in by_device
    day = timezone.localtime(activity.started_at).date().isoformat()
    by_day = supervisor.get("/search/", {"day": day, "officer": "王执法"}).content.decode()
    assert f"/activities/{activity.pk}/" in by_day
    nothing = supervisor.get("/search/", {"q": "XZ-1999-0101-01"}).content.decode()
    assert "没有符合条件的执法活动。" in nothing
    assert supervisor.get("/search/", {"day": "tomorrow"}).status_code == 400
    # Another bureau finds nothing of this one.
    outsider = _client(world.other_users[Role.SUPERVISOR])
    hidden = outsider.get("/search/", {"q": "XZ-2026-1204-02"}).content.decode()
    assert f"/activities/{activity.pk}/" not in hidden


def test_dashboard_figures_today_and_week(world: World) -> None:
    activity = make_activity(world)
    supervisor = _client(world.users[Role.SUPERVISOR])
    with CaptureQueriesContext(connection) as queries:
        page = supervisor.get("/").content.decode()
    assert len(queries) <= DASHBOARD_QUERY_BUDGET, len(queries)
    assert 'id="figures"' in page and 'id="week-chart-table"' in page
    assert "活动数（个）" in page and 'class="axis"' in page
    today = page.split('id="figures-today"', 1)[1].split("</tr>", 1)[0]
    cells = [c.split("<", 1)[0] for c in today.split('<td class="num">')[1:]]
    started_today = timezone.localtime(activity.started_at).date() == timezone.localdate()
    # The fixture's activity (two hours ago) is checked and not compliant; its clip stored.
    expected = ["1", "1", "0", "1", "1"] if started_today else ["0", "0", "0", "0", "1"]
    assert cells[:4] == expected[:4]
    assert 'id="figures"' not in _client(world.users[Role.FIELD_OFFICER]).get("/").content.decode()
