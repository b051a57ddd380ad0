"""Concurrent re-checks of the same activities neither deadlock nor lose a recording."""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Callable

import pytest
from django.db import connection

from backend.audit.models import AuditEvent
from backend.coverage.models import CoverageEvaluation, RecordingLink, UnitMonth
from backend.coverage.services import coverage_activity_refresh, coverage_on_recording_stored
from backend.coverage.services.aggregates import differences, kept, recount
from tests.coverage_integration.conftest import (
    World,
    at,
    client_for,
    create_activity,
    make_recording,
)

MINUTE = datetime.timedelta(minutes=1)


def run_together(jobs: list[Callable[[], object]]) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def wrap(job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_stores_and_refresh(world: World) -> None:
    client = client_for(world.supervisor)
    ids: list[uuid.UUID] = []
    for start in ("2026-03-02 09:00", "2026-03-02 09:10"):
        response = create_activity(
            client,
            officers=[world.alice, world.bob],
            start=at(start),
            stop=at(start) + 20 * MINUTE,
            unit_id=world.office.pk,
        )
        assert response.status_code == 201
        ids.append(uuid.UUID(response.json()["id"]))
    # Stored after the activities were checked: the store hooks and the refreshes race to
    # link the same (activity, recording) pairs.
    begin = at("2026-03-02 08:59")
    recordings = [
        make_recording(world.alice_device, world.alice, begin, begin + 32 * MINUTE),
        make_recording(world.bob_device, world.bob, begin, begin + 32 * MINUTE),
    ]
    jobs: list[Callable[[], object]] = [
        lambda: coverage_on_recording_stored(recordings[0].pk),
        lambda: coverage_on_recording_stored(recordings[1].pk),
        lambda: coverage_activity_refresh(ids[0]),
        lambda: coverage_activity_refresh(ids[1]),
    ]
    assert run_together(jobs) == []
    assert RecordingLink.objects.count() == 4
    # Each link audited exactly once, whichever path inserted it.
    assert AuditEvent.objects.filter(action="coverage.link_added").count() == 4
    for activity_id in ids:
        evaluation = CoverageEvaluation.objects.get(activity_id=activity_id)
        assert evaluation.verdict == "compliant", evaluation.reasons_zh
    # The monthly rows all four writers added to (one unit, one month, two officers) equal
    # a recount: no increment lost, no deadlock (rows are locked in key order).
    assert differences(kept(), recount()) == []
    [month] = UnitMonth.objects.filter(unit=world.office)
    assert (month.activities, month.compliant) == (2, 2)
