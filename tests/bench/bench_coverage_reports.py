"""The coverage reports page from the kept monthly rows vs the scan it replaces (issue 26
item 3), on ``scale_load`` county data, PostgreSQL, one run:

    FV_TEST_DB_SUFFIX=benchreport .venv/bin/python tests/bench/bench_coverage_reports.py \
        --fraction 0.1 --samples 9

Builds a throw-away database (test_fieldvault_<suffix>), loads a county (``--fraction`` of
its 20,000 activities), judges every activity with the bulk re-check (which keeps the
monthly rows), then, for a whole year and as the county's supervisor and the system
administrator:

- ``/coverage/reports/`` (the page, two grouped queries over the kept rows): p50/p95 and
  its query count;
- beside it, the same run's reference: the scan the page used to run — the report
  selectors over every evaluation and officer part of the period
  (``selectors.report_units`` + ``report_officers``, the data step alone, no rendering) —
  and that both give the same figures;
- the upkeep's price on the write path: the bulk re-check and 100 one-by-one re-checks,
  each with the monthly rows followed and with the following switched off (the same
  verdicts again, after a first judgement that resolved the rules and made the links);
- ``aggregates_rebuild --check`` (the proof), its time and its verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")
os.environ.setdefault("FV_TEST_DB_SUFFIX", "benchreport")

import django

django.setup()

import datetime  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from backend.accounts.models import Role, User  # noqa: E402
from backend.audit.services import Actor  # noqa: E402
from backend.coverage import selectors  # noqa: E402
from backend.coverage.services import (  # noqa: E402
    coverage_activity_refresh,
    coverage_recheck_range,
    evaluation,
    rechecks,
)
from backend.devices.models import ClockReading, Device  # noqa: E402
from backend.enforcement.models import Activity  # noqa: E402
from backend.enforcement.services import record_list_import  # noqa: E402
from backend.wiring.scale_load import ScaleSize, scale_load  # noqa: E402
from tests.paths import SHARED_DATA  # noqa: E402

YEAR = (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
URL = "/coverage/reports/?date_from=2026-01-01&date_to=2026-12-31"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(action: Callable[[], Any], samples: int) -> tuple[float, float, Any]:
    action()  # warm
    timings, result = [], None
    for _ in range(samples):
        begun = time.perf_counter()
        result = action()
        timings.append((time.perf_counter() - begun) * 1000)
    return statistics.median(timings), percentile(timings, 0.95), result


@contextlib.contextmanager
def upkeep_off() -> Iterator[None]:
    """The verdict writers without the monthly rows following (the reference)."""
    saved = evaluation.monthly_counts_follow, rechecks.monthly_counts_follow
    evaluation.monthly_counts_follow = rechecks.monthly_counts_follow = (  # type: ignore[assignment]
        lambda ids: contextlib.nullcontext()
    )
    try:
        yield
    finally:
        evaluation.monthly_counts_follow, rechecks.monthly_counts_follow = saved


def totals(rows: list[dict[str, Any]]) -> tuple[int, ...]:
    return tuple(
        sum(int(row[name]) for row in rows)
        for name in ("activities", "required", "recorded", "decided", "compliant", "with_gaps")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--samples", type=int, default=9)
    args = parser.parse_args()
    setup_test_environment()
    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"database {name}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    try:
        size = ScaleSize.county().scaled(args.fraction)
        # The shared record list, before the activities (an import re-checks the activities it
        # governs one by one): its rules make most activities required (no rule: every
        # verdict would be "not required" and the figures empty).
        record_list_import(
            source=SHARED_DATA / "record_list.csv",
            effective_from=datetime.date(2026, 1, 1),
            actor=Actor.system(),
        )
        report = scale_load(size, prefix="county", seed=26)
        print(f"scale_load: {report.total_rows:,} rows in {report.seconds:.1f} s ({size})")

        # Each camera's clock measured before its clips were written (as sync does): the
        # clips are placeable in time, the verdicts real.
        measured = datetime.datetime(2025, 12, 31, tzinfo=datetime.UTC)
        ClockReading.objects.bulk_create(
            ClockReading(device=device, device_time=measured, server_time=measured, offset_ms=0)
            for device in Device.objects.all()
        )
        begun = time.perf_counter()
        judged = coverage_recheck_range()
        print(
            f"first judgement of {judged:,} activities (rules resolved, links made): "
            f"{time.perf_counter() - begun:.1f} s"
        )
        begun = time.perf_counter()
        with upkeep_off():
            coverage_recheck_range()
        without = time.perf_counter() - begun
        begun = time.perf_counter()
        coverage_recheck_range()
        with_upkeep = time.perf_counter() - begun
        print(
            f"bulk re-check again: {with_upkeep:.1f} s with the monthly rows followed, "
            f"{without:.1f} s without (x{with_upkeep / without:.2f})"
        )
        some = list(Activity.objects.order_by("pk").values_list("pk", flat=True)[:100])
        begun = time.perf_counter()
        with upkeep_off():
            for activity_id in some:
                coverage_activity_refresh(activity_id)
        one_without = time.perf_counter() - begun
        begun = time.perf_counter()
        for activity_id in some:
            coverage_activity_refresh(activity_id)
        one_with = time.perf_counter() - begun
        print(
            f"100 one-by-one re-checks: {one_with * 10:.1f} ms each followed, "
            f"{one_without * 10:.1f} ms without (x{one_with / one_without:.2f})"
        )

        out = io.StringIO()
        begun = time.perf_counter()
        call_command("aggregates_rebuild", "--check", stdout=out)
        proof = json.loads(out.getvalue())["coverage_monthly"]
        print(
            f"aggregates_rebuild --check: {proof['rows']} rows, equal={proof['equal']}, "
            f"{time.perf_counter() - begun:.2f} s"
        )

        print(f"\n{'role':<13} {'what':<34} {'p50 ms':>8} {'p95 ms':>8} {'queries':>7}")
        for role in (Role.SUPERVISOR, Role.SYSTEM_ADMIN):
            user = User.objects.get(username=f"county-{role}")
            client = Client()
            client.force_login(user)
            page_p50, page_p95, response = timed(lambda c=client: c.get(URL), args.samples)
            assert response.status_code == 200, response.status_code
            with CaptureQueriesContext(connection) as page_queries:
                client.get(URL)

            def scan(u: User = user) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
                units = selectors.report_units(u, date_from=YEAR[0], date_to=YEAR[1])
                return units, selectors.report_officers(u, date_from=YEAR[0], date_to=YEAR[1])

            scan_p50, scan_p95, (unit_rows, officer_rows) = timed(scan, max(3, args.samples // 3))
            with CaptureQueriesContext(connection) as scan_queries:
                scan()
            kept = selectors.report_unit_months(user, date_from=YEAR[0], date_to=YEAR[1])
            kept_officers = selectors.report_officer_totals(
                user, date_from=YEAR[0], date_to=YEAR[1]
            )
            assert totals(kept) == totals(unit_rows), (totals(kept), totals(unit_rows))
            assert totals(kept_officers) == totals(officer_rows)
            print(
                f"{role:<13} {'page from the kept rows':<34} {page_p50:8.1f} {page_p95:8.1f} "
                f"{len(page_queries):7d}"
            )
            print(
                f"{role:<13} {'the scan it replaces (data only)':<34} {scan_p50:8.1f} "
                f"{scan_p95:8.1f} {len(scan_queries):7d}   page x{page_p50 / scan_p50:.3f} "
                f"of the scan; figures equal {totals(kept)}"
            )
    finally:
        creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
