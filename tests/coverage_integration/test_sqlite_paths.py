"""The portable (non-PostgreSQL) linking paths of backend/coverage/services/linking.py.

The embedded default runs on SQLite, where the PostgreSQL statements (unnest, uuid[]
parameters, GREATEST) cannot run; coverage then links through the ORM. The suite runs on
PostgreSQL, so these tests re-run the key linking scenarios with the service module told
that its database is not PostgreSQL — the ORM path is the one SQLite takes. (The whole of
tests/coverage_integration also passes on SQLite itself:
`FV_TEST_DATABASE_URL=sqlite:////tmp/fv.sqlite3 pytest tests/coverage_integration`, except
the PostgreSQL query-count bound.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection as real_connection

from backend.coverage.services import linking
from tests.coverage_integration.test_coverage_check import (
    test_close_links_overlapping_recordings_of_participants_only,
    test_end_to_end_store_with_device_clock_three_hours_slow,
    test_manual_unlink_and_link_are_audited_and_sticky,
    test_recheck_on_store_touches_only_affected_activities,
)
from tests.coverage_integration.test_recheck_bulk import (
    test_bulk_recheck_stores_what_one_by_one_stores,
)

__all__ = [
    "test_bulk_recheck_stores_what_one_by_one_stores",
    "test_close_links_overlapping_recordings_of_participants_only",
    "test_end_to_end_store_with_device_clock_three_hours_slow",
    "test_manual_unlink_and_link_are_audited_and_sticky",
    "test_recheck_on_store_touches_only_affected_activities",
]


class _NotPostgreSQL:
    """The real connection, except that it says it is not PostgreSQL."""

    vendor = "sqlite"

    def __getattr__(self, name: str) -> Any:
        return getattr(real_connection, name)

    def cursor(self) -> Any:
        raise AssertionError("the portable path must not send raw SQL")


@pytest.fixture(autouse=True)
def portable_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(linking, "connection", _NotPostgreSQL())
    yield
