"""The capacity projection follows the measured growth rate (issue 27 item 4): before, a
line fitted to the cumulative totals ran below today's total whenever the holdings began
within the year, and the forecast came out equal to today's total."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from backend.footage.models import Recording
from backend.retention.selectors import DAYS_PER_MONTH, capacity_report
from tests.factories import make_device, make_officer, make_stored_original, make_unit, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

GB = 1024**3


def _stored(officer, device, *, days_ago: int, size: int) -> Recording:  # type: ignore[no-untyped-def]
    recording = make_stored_original(officer=officer, device=device, payload=b"x" * 64, put=False)
    Recording.objects.filter(pk=recording.pk).update(
        size_bytes=size, stored_at=timezone.now() - datetime.timedelta(days=days_ago)
    )
    return recording


@pytest.fixture
def holdings(s3: object) -> None:
    officer = make_officer(make_unit())
    device, _token = make_device(officer=officer)
    # 10 GB stored 90, 60 and 30 days ago and today: 40 GB in 91 days.
    for days_ago in (90, 60, 30, 0):
        _stored(officer, device, days_ago=days_ago, size=10 * GB)


def test_projection_grows_from_today_at_the_measured_rate(holdings: None) -> None:
    report = capacity_report()
    assert report.total_bytes == 40 * GB
    assert report.rate_days == 91 and report.rate_bytes == 40 * GB
    per_month = 40 * GB / 91 * DAYS_PER_MONTH
    assert report.bytes_per_month == pytest.approx(per_month)
    totals = [p["total_bytes"] for p in report.projection]
    # Strictly above today's total and rising every month (the old fit gave today's total).
    assert totals[0] > report.total_bytes
    assert all(b > a for a, b in itertools.pairwise(totals))
    # At the end of the twelfth month ahead: today's total plus the rate for the days to it.
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 + 13
    month_end = datetime.date(index // 12, index % 12 + 1, 1) - datetime.timedelta(days=1)
    expected = 40 * GB + 40 * GB / 91 * (month_end - today).days
    assert report.projected_12_months_bytes == pytest.approx(expected, abs=1)


def test_capacity_page_chart_has_axes_units_and_a_table(holdings: None) -> None:
    admin = make_user(role=Role.STORAGE_ADMIN)
    client = Client()
    client.force_login(admin)
    html = client.get("/retention/capacity/").content.decode()
    assert 'class="axis"' in html and "容量（GB）" in html and "月份（月末）" in html
    assert 'aria-describedby="capacity-chart-table"' in html and 'id="capacity-chart-table"' in html
    assert 'class="bar proj"' in html and 'class="bar actual"' in html
    assert "增长速度按实测计算" in html and "91 天" in html
    assert "style=" not in html.split("<main>")[1]  # the CSP forbids inline style


def test_a_first_day_says_the_measurement_is_short(s3: object) -> None:
    officer = make_officer(make_unit())
    device, _token = make_device(officer=officer)
    _stored(officer, device, days_ago=0, size=GB)
    report = capacity_report()
    assert report.rate_days == 1
    assert report.projection[0]["total_bytes"] > GB
    admin = make_user(role=Role.STORAGE_ADMIN)
    client = Client()
    client.force_login(admin)
    assert "实测期只有 1 天" in client.get("/retention/capacity/").content.decode()
