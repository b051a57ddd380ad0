"""The activities list: keyset pages (newer/older), EXISTS filters instead of DISTINCT, the
number filter, filter choices from the small tables, and a query count that does not grow
with the rows (issue 26)."""

from __future__ import annotations

import datetime
import html
import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from backend.enforcement.models import Activity, ActivityOfficer
from tests.review.conftest import World

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _bulk(world: World, count: int, *, officers: int = 2) -> list[Activity]:
    """``count`` activities of the office, ten minutes apart, each with ``officers`` of the
    unit's officers taking part (so a join on participants would repeat each row)."""
    from backend.accounts.models import Officer

    start = timezone.now().replace(microsecond=0) - datetime.timedelta(days=2)
    rows = [
        Activity(
            id=uuid.uuid4(),
            external_ref=f"BULK-{n:04d}",
            category="行政检查",
            stage="现场检查",
            unit=world.office,
            started_at=start - datetime.timedelta(minutes=10 * n),
            stopped_at=start - datetime.timedelta(minutes=10 * n) + datetime.timedelta(minutes=5),
        )
        for n in range(count)
    ]
    Activity.objects.bulk_create(rows)
    from tests.factories import make_officer

    people = [world.officer]
    if officers > 1:
        people.append(
            Officer.objects.filter(name="李协同").first()
            or make_officer(world.office, name="李协同")
        )
    ActivityOfficer.objects.bulk_create(
        [ActivityOfficer(activity=a, officer=o) for a in rows for o in people]
    )
    return rows


def _refs(page: str) -> list[str]:
    return re.findall(r"BULK-\d{4}", page)


def _refs_in_rows(page: str) -> list[str]:
    # each row links the activity by its start time; the number is not shown in the row,
    # so read the rows' activity ids and map them back.
    return re.findall(r'href="/activities/([0-9a-f-]{36})/"', page)


def test_pages_walk_older_and_newer_without_gaps_or_repeats(world: World) -> None:
    rows = _bulk(world, 60)
    ids = [str(a.pk) for a in rows]
    client = _client(world.users[Role.SUPERVISOR])
    first = client.get("/activities/?officer=").content.decode()
    assert _refs_in_rows(first) == ids[:25]  # two officers each, yet each activity once
    assert "newer=" not in first and "older=" in first and "page=" not in first
    older = html.unescape(re.search(r'href="\?([^"]*older=[^"]*)"', first).group(1))
    second = client.get(f"/activities/?{older}").content.decode()
    assert _refs_in_rows(second) == ids[25:50]
    newer = html.unescape(re.search(r'href="\?([^"]*newer=[^"]*)"', second).group(1))
    assert _refs_in_rows(client.get(f"/activities/?{newer}").content.decode()) == ids[:25]


def test_officer_and_number_filters(world: World) -> None:
    rows = _bulk(world, 3)
    client = _client(world.users[Role.SUPERVISOR])
    name = world.officer.name
    found = _refs_in_rows(client.get(f"/activities/?officer={name}").content.decode())
    assert found == [str(a.pk) for a in rows]  # once each despite two participants
    assert _refs_in_rows(client.get("/activities/?officer=没有此人").content.decode()) == []
    one = _refs_in_rows(client.get("/activities/?number=BULK-0001").content.decode())
    assert one == [str(rows[1].pk)]
    page = client.get("/activities/?number=BULK-0001&category=行政检查").content.decode()
    assert 'value="BULK-0001"' in page


def test_filter_choices_come_from_the_record_list_and_the_units(world: World) -> None:
    from tests.review.conftest import make_activity

    make_activity(world)  # enters the rule 行政检查 / 现场检查
    page = _client(world.users[Role.SUPERVISOR]).get("/activities/").content.decode()
    assert "<option selected>行政检查</option>" not in page
    assert "<option >行政检查</option>" in page or "<option>行政检查</option>" in page
    assert world.office.name in page and world.other_bureau.name not in page


@pytest.mark.parametrize("rows", [3, 40])
def test_query_count_does_not_grow_with_rows(
    world: World, rows: int, django_assert_max_num_queries: Any
) -> None:
    _bulk(world, rows)
    client = _client(world.users[Role.SUPERVISOR])
    client.get("/activities/")
    with django_assert_max_num_queries(12):
        response = client.get("/activities/")
    assert response.status_code == 200 and len(_refs_in_rows(response.content.decode())) == min(
        rows, 25
    )


def test_list_query_uses_the_keyset_index_on_postgresql(world: World) -> None:
    from django.db import connection

    from backend.review.activities import ActivityFilters, activity_search

    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN plans are PostgreSQL's")
    _bulk(world, 3000, officers=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE enforcement_activity")
        cursor.execute("ANALYZE enforcement_activityofficer")
    admin = world.users[Role.SYSTEM_ADMIN]
    plan = activity_search(admin, ActivityFilters())[:26].explain()
    assert "Seq Scan on enforcement_activity " not in plan + " ", plan
    assert "activity_list_order" in plan and "Sort" not in plan, plan  # read in index order
    assert "Unique" not in plan and "Aggregate" not in plan, plan  # no DISTINCT
    # The officer filter is a semi-join on the participants' (officer, activity) key: the
    # planner may de-duplicate activity ids, never whole rows.
    plan = activity_search(admin, ActivityFilters(officer=world.officer.name))[:26].explain()
    assert "Seq Scan on enforcement_activity " not in plan + " ", plan
    assert "Unique" not in plan, plan
