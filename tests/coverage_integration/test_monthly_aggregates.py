"""The monthly coverage figures kept current (issue 26 item 3): after every write of a
verdict or an explanation decision the kept rows equal a recount from the raw rows; a
re-verdict moves a count from one bucket to another; an activity moved to another unit and
month leaves its old row when it is re-checked; `aggregates_rebuild --check` reports a
difference and exits 1, the rebuild repairs it; the reports page reads the kept rows in a
fixed number of queries whatever the number of activities; months are Asia/Shanghai's."""

from __future__ import annotations

import datetime
import io
import json
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.coverage.models import CoverageEvaluation, OfficerMonth, UnitMonth
from backend.coverage.services import (
    coverage_activity_refresh,
    coverage_on_recording_removed,
    coverage_on_recording_stored,
    coverage_recheck_range,
)
from backend.coverage.services.aggregates import (
    FIGURES,
    differences,
    kept,
    monthly_counts_check,
    recount,
)
from backend.enforcement.models import Activity, ActivityOfficer
from backend.footage.models import Recording
from tests.coverage_integration.conftest import (
    World,
    at,
    client_for,
    create_activity,
    make_recording,
)

pytestmark = pytest.mark.django_db
MINUTE = datetime.timedelta(minutes=1)
MARCH = datetime.date(2026, 3, 1)
APRIL = datetime.date(2026, 4, 1)


def _proved() -> None:
    """The kept rows equal the recount (both computations, and the check)."""
    assert differences(kept(), recount()) == []
    assert monthly_counts_check()[0] == []


def _unit(month: datetime.date, unit: Any) -> dict[str, int]:
    row = UnitMonth.objects.filter(month=month, unit=unit).values(*FIGURES).first()
    return row or dict.fromkeys(FIGURES, 0)


def _officer(month: datetime.date, unit: Any, officer: Any) -> dict[str, int]:
    row = (
        OfficerMonth.objects.filter(month=month, unit=unit, officer=officer)
        .values(*FIGURES)
        .first()
    )
    return row or dict.fromkeys(FIGURES, 0)


def _activity(world: World, start: str, officers: list[Any], minutes: int = 30) -> uuid.UUID:
    begin = at(start)
    response = create_activity(
        client_for(world.supervisor),
        category="行政检查",
        stage="现场检查",
        officers=officers,
        start=begin,
        stop=begin + minutes * MINUTE,
        unit_id=world.office.pk,
    )
    assert response.status_code == 201, response.content
    return uuid.UUID(response.json()["id"])


def _stored(world: World, officer: Any, start: datetime.datetime, end: datetime.datetime) -> Any:
    device = world.alice_device if officer == world.alice else world.bob_device
    recording = make_recording(device, officer, start, end)
    coverage_on_recording_stored(recording.pk)
    return recording


def test_kept_figures_follow_every_write_and_equal_a_recount(world: World) -> None:
    # Recorded before the activities exist: the activity's own check links them.
    begin = at("2026-03-02 09:00")
    full = make_recording(world.alice_device, world.alice, begin, begin + 30 * MINUTE)
    gap_start = at("2026-03-03 09:00")
    make_recording(world.alice_device, world.alice, gap_start, gap_start + 10 * MINUTE)
    make_recording(
        world.alice_device, world.alice, gap_start + 15 * MINUTE, gap_start + 30 * MINUTE
    )
    compliant = _activity(world, "2026-03-02 09:00", [world.alice])
    gaps = _activity(world, "2026-03-03 09:00", [world.alice])
    unrecorded = _activity(world, "2026-03-04 09:00", [world.bob])
    # 00:10 on 1 April in Shanghai is still 31 March in UTC: it counts in April.
    _activity(world, "2026-04-01 00:10", [world.bob])
    _proved()
    march = _unit(MARCH, world.office)
    assert (march["activities"], march["decided"], march["compliant"]) == (3, 3, 1)
    assert (march["with_gaps"], march["gap_count"], march["recorded"]) == (1, 1, 2)
    assert _unit(APRIL, world.office)["activities"] == 1
    assert CoverageEvaluation.objects.get(activity_id=gaps).verdict == "gaps"
    assert CoverageEvaluation.objects.get(activity_id=unrecorded).verdict == "not_recorded"

    # A re-verdict: Bob's clip arrives, the unrecorded activity becomes compliant — one
    # count moves from "not compliant" to "compliant", nothing else grows.
    bob_start = at("2026-03-04 09:00")
    _stored(world, world.bob, bob_start, bob_start + 30 * MINUTE)
    assert CoverageEvaluation.objects.get(activity_id=unrecorded).verdict == "compliant"
    march = _unit(MARCH, world.office)
    assert (march["activities"], march["decided"], march["compliant"]) == (3, 3, 2)
    assert _officer(MARCH, world.office, world.bob)["compliant"] == 1
    _proved()

    # An explanation of the gap, accepted: "explained" counts it (unit and officer).
    alice = client_for(world.alice_user)
    explained = alice.post(
        f"/api/coverage/activities/{gaps}/explanations",
        {"reason": "battery", "text": "电池耗尽"},
        content_type="application/json",
    )
    assert explained.status_code == 201, explained.content
    assert _unit(MARCH, world.office)["explained"] == 0  # pending: not counted
    decided = client_for(world.supervisor).post(
        f"/api/coverage/explanations/{explained.json()['id']}/decision",
        {"accept": True},
        content_type="application/json",
    )
    assert decided.status_code == 200, decided.content
    assert _unit(MARCH, world.office)["explained"] == 1
    assert _officer(MARCH, world.office, world.alice)["explained"] == 1
    _proved()

    # A re-verdict after the explanation was accepted: the hole is filled by a clip found
    # later; the activity is compliant now and leaves "explained" and "with gaps".
    _stored(world, world.alice, gap_start + 9 * MINUTE, gap_start + 16 * MINUTE)
    march = _unit(MARCH, world.office)
    assert (march["compliant"], march["explained"], march["with_gaps"]) == (3, 0, 0)
    _proved()

    # Moved to another unit and month: until it is re-checked the check sees the stale
    # rows; the re-check (the activity-changed reaction) moves its counts across.
    Activity.objects.filter(pk=compliant).update(
        unit=world.other, started_at=at("2026-05-02 09:00"), stopped_at=at("2026-05-02 09:30")
    )
    stale, _rows = monthly_counts_check()
    assert {d.table for d in stale} == {"unit_month", "officer_month"}
    assert {d.key[:2] for d in stale if d.table == "unit_month"} == {
        (MARCH, world.office.pk),
        (datetime.date(2026, 5, 1), world.other.pk),
    }
    coverage_activity_refresh(compliant)
    assert _unit(MARCH, world.office)["activities"] == 2
    may = _unit(datetime.date(2026, 5, 1), world.other)
    assert may["activities"] == 1 and may["compliant"] == 0  # its March clip no longer lies there
    _proved()

    # A recording removed (deleted): its activity is re-checked without it.
    coverage_on_recording_removed(full.pk)
    Recording.objects.filter(pk=full.pk).delete()
    _proved()

    # The bulk re-check path keeps them too.
    assert coverage_recheck_range() == 4
    _proved()


def test_rebuild_command_reports_and_repairs_a_difference(world: World) -> None:
    begin = at("2026-03-02 09:00")
    make_recording(world.alice_device, world.alice, begin, begin + 30 * MINUTE)
    _activity(world, "2026-03-02 09:00", [world.alice])
    out = io.StringIO()
    call_command("aggregates_rebuild", "--check", stdout=out)
    report = json.loads(out.getvalue())
    assert report["coverage_monthly"]["equal"] and report["publication_tallies"]["equal"]
    assert report["coverage_monthly"]["rows"] == 2  # the unit's month, Alice's month
    # A kept row wrong (a path that forgot to follow): --check says which and exits 1.
    UnitMonth.objects.filter(unit=world.office).update(compliant=0)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("aggregates_rebuild", "--check", stdout=out)
    assert exit_code.value.code == 1
    report = json.loads(out.getvalue())
    [difference] = report["coverage_monthly"]["shown"]
    assert difference["key"] == ["2026-03-01", world.office.pk]
    assert (difference["kept"]["compliant"], difference["recounted"]["compliant"]) == (0, 1)
    # The rebuild replaces the rows with the recount and says what it found.
    out = io.StringIO()
    call_command("aggregates_rebuild", stdout=out)
    assert json.loads(out.getvalue())["coverage_monthly"]["differences"] == 1
    _proved()
    assert _unit(MARCH, world.office)["compliant"] == 1


def _many(world: World, count: int) -> None:
    """`count` activities over three months and two officers, judged by the bulk re-check
    (the verdict writer that keeps the monthly rows)."""
    now = timezone.now()
    activities = [
        Activity(
            category="行政检查",
            stage="现场检查",
            unit=world.office,
            started_at=now - datetime.timedelta(days=(index * 7) % 80, hours=1),
            stopped_at=now - datetime.timedelta(days=(index * 7) % 80, minutes=30),
            state="closed",
        )
        for index in range(count)
    ]
    Activity.objects.bulk_create(activities)
    ActivityOfficer.objects.bulk_create(
        [
            ActivityOfficer(activity=activity, officer=officer)
            for index, activity in enumerate(activities)
            for officer in ((world.alice, world.bob) if index % 3 else (world.alice,))
        ]
    )
    coverage_recheck_range(start=now - datetime.timedelta(days=90))


def _report_queries(world: World) -> tuple[int, str]:
    client = client_for(world.supervisor)
    client.get("/coverage/reports/")  # session and caches warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/coverage/reports/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_report_page_queries_do_not_grow_with_activities(world: World) -> None:
    _many(world, 10)
    few, html = _report_queries(world)
    assert "李明" in html.split('id="officer-table"', 1)[1]
    _many(world, 190)
    many, html = _report_queries(world)
    assert few == many <= 12, (few, many)
    summary = html.split('id="report-summary"', 1)[1]
    assert "<dd>200</dd>" in summary  # all 200 counted (default period: six whole months)
    _proved()


@pytest.mark.clock
def test_months_are_shanghai_months(world: World) -> None:
    """An activity started now counts in the local (Asia/Shanghai) month — at the year end,
    the UTC/local date change and 29 February alike — on the incremental path and in the
    recount, and the page's default period (whole months up to this one) shows it."""
    now = timezone.now()
    activity = Activity.objects.create(
        category="行政检查",
        stage="现场检查",
        unit=world.office,
        started_at=now,
        stopped_at=now + 30 * MINUTE,
        state="closed",
    )
    ActivityOfficer.objects.create(activity=activity, officer=world.alice)
    coverage_activity_refresh(activity.pk)
    month = timezone.localdate().replace(day=1)
    assert list(UnitMonth.objects.values_list("month", "activities")) == [(month, 1)]
    _proved()
    _count, html = _report_queries(world)
    assert "<dd>1</dd>" in html.split('id="report-summary"', 1)[1]
    assert f'<th scope="row">{month:%Y-%m}</th>' in html
