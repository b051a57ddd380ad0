"""The recordings list: keyset pages (newer/older), filters, and a query count that does
not grow with the rows (issue 26)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.footage.models import Recording, RecordingProcessing
from tests.review.conftest import World

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _clone(world: World, count: int) -> list[Recording]:
    own = world.recordings["own"]
    start = timezone.now() - datetime.timedelta(days=2)
    rows = []
    for n in range(count):
        at = start - datetime.timedelta(minutes=10 * n)
        rows.append(
            Recording(
                id=uuid.uuid4(),
                device=own.device,
                officer=own.officer,
                clip_id=f"bulk-{n}",
                file_name=f"bulk-{n:04d}.mp4",
                size_bytes=1,
                sha256=own.sha256,
                media_kind=own.media_kind,
                device_started_at=at,
                device_ended_at=at + datetime.timedelta(seconds=90),
                started_at=at,
                ended_at=at + datetime.timedelta(seconds=90),
                state=own.state,
            )
        )
    return Recording.objects.bulk_create(rows)


def _names(page: str) -> list[str]:
    import re

    return re.findall(r">(bulk-\d{4}\.mp4)<", page)


def test_pages_walk_older_and_newer_without_gaps(world: World) -> None:
    _clone(world, 60)
    client = _client(world.users["supervisor"])
    first = client.get("/recordings/?q=bulk").content.decode()
    assert _names(first) == [f"bulk-{n:04d}.mp4" for n in range(25)]
    assert "newer=" not in first and "older=" in first
    import html
    import re

    older = html.unescape(re.search(r'href="\?([^"]*older=[^"]*)"', first).group(1))
    second = client.get(f"/recordings/?{older}").content.decode()
    assert _names(second) == [f"bulk-{n:04d}.mp4" for n in range(25, 50)]
    newer = html.unescape(re.search(r'href="\?([^"]*newer=[^"]*)"', second).group(1))
    back = client.get(f"/recordings/?{newer}").content.decode()
    assert _names(back) == _names(first)


@pytest.mark.parametrize("rows", [3, 40])
def test_query_count_does_not_grow_with_rows(
    world: World, rows: int, django_assert_max_num_queries: Any
) -> None:
    _clone(world, rows)
    client = _client(world.users["supervisor"])
    client.get("/recordings/")  # session, caches
    with django_assert_max_num_queries(12):
        response = client.get("/recordings/")
    assert response.status_code == 200


def test_filters_and_words(world: World) -> None:
    _clone(world, 3)
    client = _client(world.users["supervisor"])
    page = client.get("/recordings/?device=NO-SUCH-SERIAL").content.decode()
    assert _names(page) == []
    page = client.get(f"/recordings/?device={world.device.serial}&q=bulk-0001").content.decode()
    assert _names(page) == ["bulk-0001.mp4"]
    assert "1:30" in page  # duration
    own = world.recordings["own"]
    RecordingProcessing.objects.create(recording=own, state="damaged", reason_code="moov_missing")
    detail = client.get(f"/recordings/{own.pk}/").content.decode()
    assert "缺少索引" in detail and "moov_missing" not in detail


def test_list_query_uses_an_index_on_postgresql(world: World) -> None:
    from django.db import connection

    from backend.review.recording_list import RecordingFilters, recordings_filtered

    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN plans are PostgreSQL's")
    _clone(world, 3000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE footage_recording")
    queryset = recordings_filtered(world.users["supervisor"], RecordingFilters()).order_by(
        "-started_at", "-pk"
    )[:26]
    plan = queryset.explain()
    assert "Seq Scan on footage_recording" not in plan, plan
    assert "recording_list_order" in plan, plan
