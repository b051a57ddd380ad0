"""Clock-proof runs: a test marked `@pytest.mark.clock` runs once on the real clock and
once at each instant below, with the process clock moved there by time-machine (it keeps
ticking). A date a test asserts must be computed the way the product computes it (the
local date in Asia/Shanghai, the working-day calendar as entered), so it passes at every
one of them.

The instants are derived from the real date, so the set keeps its meaning every year:
- 15:59 and 16:01 UTC today: just before and after the local date (UTC+8) changes, and
  20:00 UTC, when the two dates differ for hours;
- 23:59 local on 31 December and 00:01 local on 1 January: the year end;
- 29 February of the next leap year;
- 15 December of the last year the `chinesecalendar` package knows: its next year has no
  official arrangement, so every deadline crossing the year end is provisional.

Every instant lies in the future, at least SUITE_MARGIN after the suite starts: SeaweedFS,
like S3, refuses an Object Lock date already past on its own (real) clock, so a lock made
"60 s from now" at a moved instant earlier than the real time would be refused. When
today's 15:59 UTC is too close or past, tomorrow's is taken (the same date change);
when the last known year's 15 December has passed, the day after the suite starts is taken
(its next year is unknown as well).

S3 requests are still signed with the real time (SeaweedFS, like S3, refuses a request
signed more than 15 minutes off): only botocore's signing clock is kept real.
`FV_CLOCK=real` runs the marked tests on the real clock only.
"""

from __future__ import annotations

import calendar
import datetime
import os
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = datetime.UTC


def _next_leap_year(year: int) -> int:
    while not calendar.isleap(year):
        year += 1
    return year


# Longer than the suite takes (CI stops at 90 minutes): no instant falls into the past
# while the suite runs.
SUITE_MARGIN = datetime.timedelta(hours=3)


def _not_before(
    instant: datetime.datetime, earliest: datetime.datetime, step: str
) -> datetime.datetime:
    """The first occurrence of `instant` (repeating daily or yearly) not before `earliest`."""
    while instant < earliest:
        if step == "day":
            instant += datetime.timedelta(days=1)
        else:
            instant = instant.replace(year=instant.year + 1)
    return instant


def moved_instants(now: datetime.datetime | None = None) -> dict[str, datetime.datetime]:
    now = now or datetime.datetime.now(UTC)
    earliest = now + SUITE_MARGIN
    today_utc = now.astimezone(UTC).date()
    local_year = now.astimezone(SHANGHAI).year
    last_known = max(day.year for day in chinese_calendar.holidays)

    def utc_today(hour: int, minute: int) -> datetime.datetime:
        at = datetime.datetime.combine(today_utc, datetime.time(hour, minute), UTC)
        return _not_before(at, earliest, "day")

    leap_year = _next_leap_year(local_year)
    while datetime.datetime(leap_year, 2, 29, 10, 0, tzinfo=SHANGHAI) < earliest:
        leap_year = _next_leap_year(leap_year + 1)
    unknown_next = datetime.datetime(last_known, 12, 15, 10, 0, tzinfo=SHANGHAI)
    if unknown_next < earliest:
        unknown_next = (now + datetime.timedelta(days=1)).astimezone(SHANGHAI)
    return {
        "utc-15.59": utc_today(15, 59),
        "utc-16.01": utc_today(16, 1),
        # Well inside the evening (UTC) when the local date is already tomorrow: catches
        # data made a few hours before "now" (a recording that ended 2 hours ago).
        "utc-20.00": utc_today(20, 0),
        "dec31-23.59-local": _not_before(
            datetime.datetime(local_year, 12, 31, 23, 59, tzinfo=SHANGHAI), earliest, "year"
        ),
        "jan1-00.01-local": _not_before(
            datetime.datetime(local_year + 1, 1, 1, 0, 1, tzinfo=SHANGHAI), earliest, "year"
        ),
        "feb29-leap": datetime.datetime(leap_year, 2, 29, 10, 0, tzinfo=SHANGHAI),
        "next-year-unknown": unknown_next,
    }


INSTANTS = moved_instants()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("clock") is None:
        return
    ids = ["real-clock"]
    if os.environ.get("FV_CLOCK", "") != "real":
        ids += list(INSTANTS)
    metafunc.parametrize("moved_clock", ids, indirect=True)


@pytest.fixture(autouse=True)
def moved_clock(request: pytest.FixtureRequest) -> Iterator[datetime.datetime | None]:
    """The moved instant (None on the real clock). Autouse so that it is set up before the
    test's other function fixtures: their data is made at the moved time too."""
    name = getattr(request, "param", "real-clock")
    if name == "real-clock":
        yield None
        return
    instant = INSTANTS[name]
    offset = instant - datetime.datetime.now(UTC)
    import botocore.auth

    def real_signing_time(remove_tzinfo: bool = True) -> datetime.datetime:
        now = datetime.datetime.now(UTC) - offset
        return now.replace(tzinfo=None) if remove_tzinfo else now

    with pytest.MonkeyPatch.context() as patch, time_machine.travel(instant, tick=True):
        patch.setattr(botocore.auth, "get_current_datetime", real_signing_time)
        yield instant
