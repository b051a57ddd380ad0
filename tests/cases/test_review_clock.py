"""The review clock of 第八条 on the working-day calendar: 10 working days from receipt,
paused while waiting for supplementary material — across the New Year holiday and a year
end, provisional while the next year has no official arrangement — and a submission within
15 working days of the statutory deadline flagged."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from backend.accounts.models import Officer, Role
from backend.cases.models import ReviewState
from backend.cases.services import review_pause, review_resume, review_submit
from backend.workcalendar.selectors import working_calendar
from tests.cases.conftest import World, add_materials, open_case

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _certify_long(world: World) -> None:
    Officer.objects.update(certificate_valid_until=timezone.localdate() + datetime.timedelta(800))


@pytest.mark.clock
def test_a_pause_across_the_holiday_and_the_year_end_does_not_count(case_world: World) -> None:
    world = case_world
    _certify_long(world)
    year = timezone.localdate().year
    received = datetime.date(year, 12, 21)
    paused_on = datetime.date(year, 12, 24)
    resumed_on = datetime.date(year + 1, 1, 5)
    case = open_case(world)
    add_materials(world, case)
    officer, legal = world.users[Role.FIELD_OFFICER], world.users[Role.LEGAL_OFFICER]
    review = review_submit(actor=officer, case_id=case.pk, leader_agreed_by="李局长", on=received)
    calendar = working_calendar()
    assert review.due_on is not None and review.due_on > received
    unpaused_due = review.due_on
    review_pause(
        actor=legal, review_id=review.pk, reason="supplement", note="补充笔录", on=paused_on
    )
    review = review_resume(actor=legal, review_id=review.pk, on=resumed_on)
    assert review.state == ReviewState.SUBMITTED
    # Counted by hand, day by day: the working days after receipt that were not paused.
    paused = [
        paused_on + datetime.timedelta(days=n)
        for n in range(1, (resumed_on - paused_on).days + 1)
        if calendar.is_working_day(paused_on + datetime.timedelta(days=n))
    ]
    assert review.paused_working_days == len(paused)
    assert datetime.date(year + 1, 1, 1) not in paused  # New Year's Day never counts
    assert len(paused) < (resumed_on - paused_on).days  # weekends and the holiday skipped
    counted = 0
    day = received
    while counted < 10:
        day += datetime.timedelta(days=1)
        if calendar.is_working_day(day) and day not in paused:
            counted += 1
    assert review.due_on == day
    assert review.due_on > unpaused_due
    assert calendar.is_working_day(review.due_on)
    assert review.due_provisional == (not calendar.is_official(year + 1))


@pytest.mark.clock
def test_a_submission_within_15_working_days_of_the_deadline_is_flagged(
    case_world: World,
) -> None:
    world = case_world
    today = timezone.localdate()
    calendar = working_calendar()
    near = calendar.add_working_days(today, 14).date
    far = calendar.add_working_days(today, 15).date
    officer = world.users[Role.FIELD_OFFICER]
    flags = []
    for deadline in (near, far):
        case = open_case(world, statutory_deadline=deadline)
        add_materials(world, case)
        flags.append(
            review_submit(actor=officer, case_id=case.pk, leader_agreed_by="李局长").late_submission
        )
    assert flags == [True, False]
