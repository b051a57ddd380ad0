"""The storage page: newest arrivals first by keyset on (created_at, id), no page count,
and a query count that does not grow with the rows (issue 26)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from backend.accounts.models import Role
from tests.review.conftest import World, store_recording

pytestmark = pytest.mark.django_db


def _ids(page: str) -> list[str]:
    return re.findall(r'<tr><td><code class="small">([0-9a-f-]{8})', page)


@pytest.mark.parametrize("rows", [3, 40])
def test_storage_pages_by_keyset_within_budget(
    world: World, rows: int, django_assert_max_num_queries: Any
) -> None:
    for _ in range(rows):
        store_recording(device=world.device, officer=world.officer, state="announced")
    client = Client()
    client.force_login(world.users[Role.STORAGE_ADMIN])
    client.get("/storage/")
    with django_assert_max_num_queries(8):
        first = client.get("/storage/").content.decode()
    assert "page=" not in first and "第 " not in first
    if rows < 25:
        assert "older=" not in first
        return
    assert len(_ids(first)) == 25
    older = html.unescape(re.search(r'href="\?([^"]*older=[^"]*)"', first).group(1))
    second = client.get(f"/storage/?{older}").content.decode()
    total = rows + len(world.recordings)
    assert len(_ids(second)) == total - 25 and not set(_ids(second)) & set(_ids(first))
