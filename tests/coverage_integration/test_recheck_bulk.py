"""``coverage_recheck`` in chunks (evaluate_many, set-based queries, bulk upserts) stores
exactly what re-checking the activities one by one stores: verdicts, per-officer rows,
links and audit events; and a chunk costs a fixed number of queries."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.audit.models import AuditEvent
from backend.coverage.models import CoverageEvaluation, OfficerCoverage, RecordingLink
from backend.coverage.services import (
    coverage_activity_refresh,
    coverage_recheck_range,
    recording_link_add,
    recording_link_remove,
)
from backend.enforcement.models import Activity
from backend.footage.models import Recording, RecordingState
from tests.coverage_integration.conftest import (
    World,
    at,
    client_for,
    create_activity,
    make_recording,
)
from tests.factories import make_device

pytestmark = pytest.mark.django_db
MINUTE = datetime.timedelta(minutes=1)
RANGE = (at("2026-03-01 00:00"), at("2026-03-20 00:00"))
FROZEN = at("2026-03-10 12:00")


def _activity(world: World, stage: str, officers: list[Any], begin: datetime.datetime) -> str:
    response = create_activity(
        client_for(world.supervisor),
        stage=stage,
        category="行政检查" if stage == "现场检查" else "行政处罚",
        officers=officers,
        start=begin,
        stop=begin + 30 * MINUTE,
        unit_id=world.office.pk,
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def _varied(world: World) -> list[str]:
    """Activities whose recordings arrive behind the hooks' back (only a re-check sees
    them), covering every verdict and every kind of link."""
    alice, bob = world.alice, world.bob
    unmeasured, _ = make_device(officer=alice)  # no clock reading: offset unknown
    ids: list[str] = []
    patterns = ["none", "full", "gap", "late", "early", "unknown", "pending", "mismatch", "dup"]
    patterns.append("alice only")
    for index in range(3 * len(patterns)):
        begin = at("2026-03-02 08:00") + datetime.timedelta(hours=5 * index)
        stage = ("送达", "现场检查", "调查取证")[index // len(patterns)]
        officers = [alice, bob] if stage == "调查取证" else [alice]
        ids.append(_activity(world, stage, officers, begin))
        pattern = patterns[index % len(patterns)]
        end = begin + 30 * MINUTE
        for officer, device in ((alice, world.alice_device), (bob, world.bob_device)):
            if officer not in officers:
                continue
            if pattern == "full" or (pattern == "alice only" and officer == alice):
                make_recording(device, officer, begin - MINUTE, end + MINUTE)
            elif pattern == "gap":
                make_recording(device, officer, begin, begin + 10 * MINUTE)
                make_recording(device, officer, begin + 16 * MINUTE, end)
            elif pattern == "late":
                make_recording(device, officer, begin + 6 * MINUTE, end)
            elif pattern == "early":
                make_recording(device, officer, begin, end - 8 * MINUTE)
            elif pattern == "unknown":
                make_recording(unmeasured, officer, begin, end)
            elif pattern == "pending":
                make_recording(device, officer, begin, end, state=RecordingState.ANNOUNCED)
            elif pattern == "mismatch":
                make_recording(device, officer, begin, end, state=RecordingState.MISMATCH)
            elif pattern == "dup":
                make_recording(device, officer, begin, begin + 20 * MINUTE)
                make_recording(device, officer, begin + 2 * MINUTE, end)
        # Crossing midnight and a recording of a non-participant.
        make_recording(world.carol_device, world.carol, begin, end)
    # Manual link of a recording far from the window; an exclusion that must stay.
    far = make_recording(world.alice_device, alice, at("2026-02-01 09:00"), at("2026-02-01 10:00"))
    recording_link_add(
        user=world.supervisor,
        activity=Activity.objects.get(pk=ids[0]),
        recording=far,
        reason="同一现场另行录制",
    )
    # A manually linked recording of unknown offset counts wherever its times say it lies.
    far_unknown = make_recording(unmeasured, alice, at("2026-02-02 09:00"), at("2026-02-02 09:30"))
    recording_link_add(
        user=world.supervisor,
        activity=Activity.objects.get(pk=ids[10]),
        recording=far_unknown,
        reason="设备时钟未校准",
    )
    excluded_activity = Activity.objects.get(pk=ids[1])
    kept = make_recording(
        world.alice_device, alice, excluded_activity.started_at, excluded_activity.stopped_at
    )
    coverage_activity_refresh(excluded_activity.pk)  # links it
    recording_link_remove(
        user=world.supervisor, activity=excluded_activity, recording=kept, reason="误拍他案"
    )
    make_recording(  # would be linked again if the exclusion were not sticky
        world.alice_device, alice, excluded_activity.started_at, excluded_activity.stopped_at
    )
    # An open activity (judged up to "now"), one without a rule row yet (resolved by the
    # re-check) and one whose stage has no rule (not required).
    open_begin = at("2026-03-09 09:00")
    response = create_activity(
        client_for(world.supervisor),
        stage="送达",
        officers=[alice],
        start=open_begin,
        unit_id=world.office.pk,
    )
    assert response.status_code == 201, response.content
    ids.append(str(response.json()["id"]))
    make_recording(world.alice_device, alice, open_begin, open_begin + 50 * MINUTE)
    Activity.objects.filter(pk=ids[2]).update(rule=None)
    Activity.objects.filter(pk=ids[3]).update(rule=None, stage="未列明环节")
    return ids


def _snapshot(marker: int) -> dict[str, Any]:
    evaluations = {
        str(row["activity_id"]): row
        for row in CoverageEvaluation.objects.values().order_by("activity_id")
    }
    for row in evaluations.values():
        row.pop("id")
    officers = sorted(
        (str(a), o, rec, frac, gaps, late, early)
        for a, o, rec, frac, gaps, late, early in OfficerCoverage.objects.values_list(
            "evaluation__activity_id",
            "officer_id",
            "recorded",
            "covered_fraction",
            "interior_gap_seconds",
            "late_start_seconds",
            "early_stop_seconds",
        )
    )
    links = set(
        RecordingLink.objects.values_list(
            "activity_id", "recording_id", "officer_id", "source", "excluded", "reason"
        )
    )
    audit = sorted(
        (row["action"], row["object_id"], str(row["data"]))
        for row in AuditEvent.objects.filter(pk__gt=marker).values("action", "object_id", "data")
    )
    return {"evaluations": evaluations, "officers": officers, "links": links, "audit": audit}


def _marker() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_bulk_recheck_stores_what_one_by_one_stores(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _varied(world)
    monkeypatch.setattr("django.utils.timezone.now", lambda: FROZEN)
    base_links = set(RecordingLink.objects.values_list("pk", flat=True))
    in_range = list(
        Activity.objects.filter(started_at__gte=RANGE[0], started_at__lt=RANGE[1])
        .order_by("started_at", "pk")
        .values_list("pk", flat=True)
    )
    assert len(in_range) == len(ids)

    CoverageEvaluation.objects.all().delete()  # both paths start from no stored verdict
    marker = _marker()
    for activity_id in in_range:
        coverage_activity_refresh(activity_id)
    one_by_one = _snapshot(marker)

    # Back to the state before the re-check: drop what it added.
    RecordingLink.objects.exclude(pk__in=base_links).delete()
    CoverageEvaluation.objects.all().delete()
    Activity.objects.filter(pk=ids[2]).update(rule=None)
    Activity.objects.filter(pk=ids[3]).update(rule=None)

    marker = _marker()
    assert coverage_recheck_range(start=RANGE[0], end=RANGE[1], chunk_size=7) == len(ids)
    bulk = _snapshot(marker)

    verdicts = {row["verdict"] for row in one_by_one["evaluations"].values()}
    assert {
        "compliant",
        "not_recorded",
        "gaps",
        "late_start",
        "early_stop",
        "undecidable",
        "insufficient_officers",
        "not_required",
    } <= verdicts, verdicts
    assert len(one_by_one["audit"]) > 20  # the re-check linked recordings and audited it
    assert any(row["detail"]["recordings_pending_storage"] for row in bulk["evaluations"].values())
    assert bulk["links"] == one_by_one["links"]
    assert bulk["audit"] == one_by_one["audit"]
    assert bulk["officers"] == one_by_one["officers"]
    assert bulk["evaluations"].keys() == one_by_one["evaluations"].keys()
    for activity_id, row in one_by_one["evaluations"].items():
        assert bulk["evaluations"][activity_id] == row, activity_id
    # The exclusion stayed, the mismatched recordings were never linked.
    assert RecordingLink.objects.filter(excluded=True).count() == 1
    assert not RecordingLink.objects.filter(recording__state=RecordingState.MISMATCH).exists()
    assert Recording.objects.filter(state=RecordingState.MISMATCH).exists()


def test_bulk_recheck_costs_a_fixed_number_of_queries_per_chunk(world: World) -> None:
    ids = _varied(world)
    coverage_recheck_range(start=RANGE[0], end=RANGE[1])  # links, resolves rules
    # An activity with no rule in force is looked up again each time (one query each).
    unresolved = Activity.objects.filter(pk__in=ids, rule=None).count()
    assert unresolved == 1
    for chunk_size in (1, 7, 100):
        chunks = -(-len(ids) // chunk_size)
        with CaptureQueriesContext(connection) as queries:
            assert coverage_recheck_range(start=RANGE[0], end=RANGE[1], chunk_size=chunk_size)
        # ids; per chunk: savepoint, lock, link, participants, links, two upserts, release;
        # and the monthly rows following (issue 26): accepted explanations, counted parts
        # before and after, at most two upserts of the differences.
        assert len(queries) <= 1 + 13 * chunks + unresolved, [q["sql"][:80] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        coverage_recheck_range(start=RANGE[0], end=RANGE[1], chunk_size=2000)
    assert len(queries) <= 14 + unresolved


def test_command_in_several_chunks_shows_progress_and_refuses_a_zero_chunk(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    begins = [at(f"2026-03-0{day} 09:00") for day in (2, 3, 4)]
    ids = [_activity(world, "送达", [world.alice], begin) for begin in begins]
    for begin in begins[:2]:  # behind the hooks' back: only the re-check sees them
        make_recording(world.alice_device, world.alice, begin, begin + 30 * MINUTE)
    call_command(
        "coverage_recheck", "--from", "2026-03-02", "--to", "2026-03-04", "--chunk-size", "2"
    )
    captured = capsys.readouterr()
    assert "re-checked 3 activities" in captured.out
    assert "[##############################] 3/3" in captured.err
    verdicts = [CoverageEvaluation.objects.get(activity_id=i).verdict for i in ids]
    assert verdicts == ["compliant", "compliant", "not_recorded"]
    with pytest.raises(CommandError, match="chunk-size"):
        call_command(
            "coverage_recheck", "--from", "2026-03-02", "--to", "2026-03-04", "--chunk-size", "0"
        )
