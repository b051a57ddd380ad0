"""Issue 13 item 8: inputs that gave HTTP 500 answer a 4xx in the one error shape.

(The year-9999 device clocks of the manifest and the record push are in
tests/integration/test_manifest_and_storage.py and tests/fieldwork/test_tablet_sync.py; the
fuzzing of every operation is tests/contract/test_openapi_fuzz.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from backend.accounts.models import Role
from backend.enforcement.models import Activity
from tests.factories import make_officer, make_user

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role=role))
    return client


def assert_4xx(response: Any) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.SYSTEM_ADMIN, "/api/retention/destruction/candidates?limit=-10"),
        (Role.SYSTEM_ADMIN, "/api/retention/register?limit=-10"),
        (Role.SYSTEM_ADMIN, f"/api/retention/register?after={HUGE}"),
        (Role.SUPERVISOR, "/api/enforcement/activities?limit=-1"),
        (None, "/api/inspections/draws?limit=-1"),
        (None, f"/api/inspections/draws?item_id={HUGE}"),
        (None, "/api/inspections/published?limit=-5"),
    ],
)
def test_out_of_range_query_parameters(role: str | None, url: str) -> None:
    client = signed_in(role) if role else Client()
    assert_4xx(client.get(url))


def test_officer_id_past_64_bits_in_a_new_activity() -> None:
    supervisor = make_user(role=Role.SUPERVISOR)
    client = Client()
    client.force_login(supervisor)
    body = {
        "category": "行政处罚",
        "stage": "调查取证",
        "officer_ids": [int(HUGE)],
        "start": {"occurred_at": "2026-03-02T10:00:00+08:00", "source": "tablet"},
    }
    # Refused by the schema itself (on SQLite the database driver raised OverflowError: 500;
    # PostgreSQL happened to compare it as numeric).
    refused = assert_4xx(
        client.post("/api/enforcement/activities", body, content_type="application/json")
    )
    assert refused["code"] == "validation_error"
    assert not Activity.objects.exists()
    make_officer()  # an ordinary id still gets the ordinary answer (unknown officer: 4xx)
    body["officer_ids"] = [2**62]
    assert_4xx(client.post("/api/enforcement/activities", body, content_type="application/json"))
