"""持证上岗 against the database: a participant whose certificate had expired on the
activity's day does not count toward the rule's minimum officers, in the one-by-one
check and in the bulk re-check alike, and the stored verdict names them."""

from __future__ import annotations

import datetime

import pytest

from backend.accounts.models import Officer
from backend.coverage.models import CoverageEvaluation
from backend.coverage.services import coverage_recheck_range
from tests.coverage_integration.conftest import World, at, make_recording
from tests.coverage_integration.test_coverage_check import MINUTE, closed_activity

pytestmark = pytest.mark.django_db


def test_an_officer_whose_certificate_expired_does_not_make_the_second(world: World) -> None:
    Officer.objects.filter(pk=world.bob.pk).update(
        certificate_valid_until=datetime.date(2026, 3, 1)  # the day before the activity
    )
    start = at("2026-03-02 09:00")
    make_recording(world.alice_device, world.alice, start, start + 30 * MINUTE)
    make_recording(world.bob_device, world.bob, start, start + 30 * MINUTE)
    activity_id = closed_activity(world)  # 调查取证: at least two officers
    result = CoverageEvaluation.objects.get(activity_id=activity_id)
    assert result.verdict == "insufficient_officers", result.reasons_zh
    assert any("王芳" in r and "无有效执法证件" in r for r in result.reasons_zh)
    assert any("王芳" in r and "certificate" in r for r in result.reasons_en)
    assert result.covered_fraction == 1.0  # his footage still covers the window

    CoverageEvaluation.objects.filter(activity_id=activity_id).delete()
    coverage_recheck_range()
    again = CoverageEvaluation.objects.get(activity_id=activity_id)
    assert (again.verdict, again.reasons_zh) == (result.verdict, result.reasons_zh)


def test_both_certified_on_the_day_is_compliant(world: World) -> None:
    start = at("2026-03-02 09:00")
    make_recording(world.alice_device, world.alice, start, start + 30 * MINUTE)
    make_recording(world.bob_device, world.bob, start, start + 30 * MINUTE)
    result = CoverageEvaluation.objects.get(activity_id=closed_activity(world))
    assert result.verdict == "compliant", result.reasons_zh
