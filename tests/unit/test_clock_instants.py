"""The moved instants of tests/clock.py keep their meaning whenever the suite starts, and
never lie in the past while it runs (SeaweedFS refuses an Object Lock date already past)."""

from __future__ import annotations

import datetime

import chinese_calendar
import pytest

from tests.clock import SHANGHAI, SUITE_MARGIN, UTC, moved_instants

LAST_KNOWN = max(day.year for day in chinese_calendar.holidays)

STARTS = [
    datetime.datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
    datetime.datetime(2026, 12, 5, 16, 40, tzinfo=UTC),  # after today's date change
    datetime.datetime(2026, 12, 5, 14, 0, tzinfo=UTC),  # less than the margin before it
    datetime.datetime(2026, 12, 31, 15, 58, tzinfo=UTC),  # one minute before the local year end
    datetime.datetime(2028, 3, 1, 0, 0, tzinfo=UTC),  # just after a leap day
    datetime.datetime(LAST_KNOWN, 12, 20, 8, 0, tzinfo=UTC),  # after the last known 15 December
]


@pytest.mark.parametrize("start", STARTS, ids=lambda s: s.isoformat())
def test_every_instant_is_ahead_of_the_suite_and_keeps_its_meaning(
    start: datetime.datetime,
) -> None:
    instants = moved_instants(start)
    for name, instant in instants.items():
        assert instant >= start + SUITE_MARGIN, name
    before, after = instants["utc-15.59"], instants["utc-16.01"]
    assert (before.hour, before.minute, after.hour, after.minute) == (15, 59, 16, 1)
    assert after.astimezone(SHANGHAI).date() == before.astimezone(
        SHANGHAI
    ).date() + datetime.timedelta(days=1)
    evening = instants["utc-20.00"]
    assert evening.astimezone(SHANGHAI).date() != evening.astimezone(UTC).date()
    dec31 = instants["dec31-23.59-local"].astimezone(SHANGHAI)
    assert (dec31.month, dec31.day, dec31.hour, dec31.minute) == (12, 31, 23, 59)
    jan1 = instants["jan1-00.01-local"].astimezone(SHANGHAI)
    assert (jan1.month, jan1.day, jan1.hour, jan1.minute) == (1, 1, 0, 1)
    leap = instants["feb29-leap"].astimezone(SHANGHAI)
    assert (leap.month, leap.day) == (2, 29)
    unknown = instants["next-year-unknown"].astimezone(SHANGHAI)
    assert unknown.year + 1 > LAST_KNOWN
