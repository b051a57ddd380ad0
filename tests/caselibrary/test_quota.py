"""The quota report (每类不少于5个) on a scripted month: accepted cases per category within
the period against the quota, the gaps named, scoped to the caller's units."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.caselibrary import selectors
from backend.caselibrary.models import LibraryCase, LibraryCategory, LibraryState, SourceKind
from tests.caselibrary.conftest import LibraryWorld

pytestmark = pytest.mark.django_db


def _case(world: LibraryWorld, unit: Any, code: str, state: str, day: datetime.date | None) -> None:
    accepted = (
        timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 30))) if day else None
    )
    LibraryCase.objects.create(
        category=LibraryCategory.objects.get(code=code),
        title="t",
        source_kind=SourceKind.CORRECTION,
        source_subject=world.subject,
        author_unit=unit,
        author=world.author,
        state=state,
        accepted_at=accepted,
    )


def test_quota_report_on_a_scripted_month(
    library_world: LibraryWorld, django_assert_max_num_queries: Any
) -> None:
    world = library_world
    september = datetime.date(2026, 9, 1)
    for day in (1, 15, 30):  # 30 September 23:30 Beijing time is still September
        _case(
            world,
            world.office,
            "correction-warning",
            LibraryState.ACCEPTED,
            september.replace(day=day),
        )
    _case(
        world, world.office, "correction-warning", LibraryState.ACCEPTED, datetime.date(2026, 10, 1)
    )
    _case(world, world.office, "legal-aid", LibraryState.IN_REVIEW, None)
    _case(world, world.other_county, "legal-aid", LibraryState.ACCEPTED, september.replace(day=5))
    until = datetime.date(2026, 9, 30)

    county = {
        r.category.code: r
        for r in selectors.quota_report(world.county_reviewer, since=september, until=until)
    }
    assert (county["correction-warning"].accepted, county["correction-warning"].gap) == (3, 2)
    assert (county["legal-aid"].accepted, county["legal-aid"].in_review) == (0, 1)
    assert county["legal-aid"].gap == 5 and county["mediation"].gap == 5
    city = {
        r.category.code: r
        for r in selectors.quota_report(world.city_reviewer, since=september, until=until)
    }
    assert city["legal-aid"].accepted == 1 and city["correction-warning"].accepted == 3
    assert selectors.quota_report(world.author, since=september, until=until) == []

    client = Client()
    client.force_login(world.county_reviewer)
    with django_assert_max_num_queries(8):
        page = client.get("/library/quota/", {"since": "2026-09-01", "until": "2026-09-30"})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="quota-gaps"' in html
    assert "警告：还差 2 个" in html
    assert (
        client.get("/library/quota/", {"since": "2026-10-01", "until": "2026-09-01"}).status_code
        == 400
    )
    assert client.get("/library/quota/", {"since": "yesterday"}).status_code == 400
