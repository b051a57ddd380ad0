"""The scale generator (issue 26): deterministic, consistent links, and the list pages on
its data answer every role within their query budgets. The county and province sizes are
run by tests/bench/bench_list_pages.py only; this is the same code at a small size."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from backend.accounts.models import Role, User
from backend.coverage.models import RecordingLink
from backend.enforcement.models import Activity, ActivityOfficer
from backend.footage.models import Recording
from backend.wiring.scale_load import ScaleSize, scale_load

pytestmark = pytest.mark.django_db

SMALL = ScaleSize(
    bureaus=2, offices_per_bureau=2, officers_per_bureau=6, activities=120, recordings=600
)


class _Rollback(Exception):
    pass


def _fingerprint() -> tuple[list[str], list[str]]:
    return (
        sorted(str(pk) for pk in Activity.objects.values_list("pk", flat=True)),
        sorted(str(pk) for pk in Recording.objects.values_list("pk", flat=True)),
    )


def _load(seed: int, prefix: str) -> tuple[list[str], list[str]]:
    """Load inside a savepoint, check it, roll it back; return its ids."""
    with pytest.raises(_Rollback), transaction.atomic():
        report = scale_load(SMALL, seed=seed, prefix=prefix)
        found = _fingerprint()
        raise _Rollback
    assert report.rows["activities"] == 120 and report.rows["recordings"] == 600
    assert 0 < report.rows["links"] < 600
    return found


def test_same_seed_same_rows() -> None:
    first = _load(7, "one")
    assert len(first[0]) == 120 and len(first[1]) == 600
    assert _load(7, "two") == first
    assert _load(8, "three") != first


def test_links_overlap_their_activity_for_a_crew_member() -> None:
    report = scale_load(SMALL, seed=7)
    assert Recording.objects.count() == 600 and Activity.objects.count() == 120
    assert RecordingLink.objects.count() == report.rows["links"] > 0
    for link in RecordingLink.objects.select_related("activity", "recording__device")[:200]:
        activity, recording = link.activity, link.recording
        assert recording.officer_id == link.officer_id
        assert ActivityOfficer.objects.filter(
            activity=activity, officer_id=link.officer_id
        ).exists()
        assert recording.started_at < activity.stopped_at
        assert recording.ended_at > activity.started_at
        assert recording.device.unit_id == recording.officer.unit_id


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_list_pages_on_generated_data_keep_their_budgets(
    role: str, s3: Any, django_assert_max_num_queries: Any
) -> None:
    scale_load(SMALL, seed=3)
    client = Client()
    client.force_login(User.objects.get(username=f"scale-{role}"))
    for url in ("/", "/activities/", "/recordings/"):
        client.get(url)  # session, caches
        with django_assert_max_num_queries(25):
            response = client.get(url, follow=False)
        assert response.status_code in (200, 302), (role, url, response.status_code)


def test_command_prints_its_timing(capsys: Any) -> None:
    call_command("scale_load", "--county", "--fraction", "0.002", "--prefix", "cmd")
    out = capsys.readouterr().out
    assert "activities" in out and "rows/s" in out
    assert Activity.objects.count() == 40 and Recording.objects.count() == 160
