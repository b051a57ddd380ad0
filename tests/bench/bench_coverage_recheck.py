"""``coverage_recheck`` over a year of activities on PostgreSQL: chunked bulk vs one by one.

    FV_TEST_DB_SUFFIX=benchrecheck .venv/bin/python tests/bench/bench_coverage_recheck.py
    ... --activities 5000 --rounds 2

Builds a throw-away database (test_fieldvault_<suffix>) with the population of
``bench_coverage_incremental.populate`` (1-2 officers per activity, split files, late
starts, gaps, patrol footage; linked and checked once). Then, alternating, per round:

- **bulk** (now): ``manage.py coverage_recheck --from … --to … --no-progress`` — chunks
  of 2,000 activities, set-based queries, ``evaluate_many``, bulk upserts;
- **one by one** (before, the same-run reference): ``coverage_activity_refresh`` for
  each activity in start order, one transaction each — exactly what the command did
  before this change.

Both re-link (nothing new to link) and re-check every activity and store every verdict.
Prints wall seconds of each, the ratio one-by-one / bulk, and a ``SELECT 1`` round trip.

First, once: **first-time linking** — every automatic link is deleted and the bulk
re-check links them all again (one audit event per new link, appended to the chain in
one statement per chunk), against the same-run reference of round 1's bulk re-check
with nothing new to link.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")
os.environ.setdefault("FV_TEST_DB_SUFFIX", "benchrecheck")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from backend.audit.models import AuditEvent  # noqa: E402
from backend.coverage.models import CoverageEvaluation, LinkSource, RecordingLink  # noqa: E402
from backend.coverage.services import coverage_activity_refresh  # noqa: E402
from backend.enforcement.models import Activity  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coverage_incremental import START, populate  # noqa: E402


def verdicts() -> dict[str, str]:
    return {str(a): v for a, v in CoverageEvaluation.objects.values_list("activity_id", "verdict")}


def select_one_ms() -> float:
    samples = []
    with connection.cursor() as cursor:
        for _ in range(200):
            began = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def recheck(first: datetime.date, last: datetime.date) -> None:
    """The bulk path: `manage.py coverage_recheck --from FIRST --to LAST`."""
    with open(os.devnull, "w") as quiet:
        call_command(
            "coverage_recheck",
            "--from",
            first.isoformat(),
            "--to",
            last.isoformat(),
            "--no-progress",
            stdout=quiet,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(
        f"database {name} (PostgreSQL {connection.cursor().connection.info.server_version}), "
        f"{os.cpu_count()} CPUs"
    )
    try:
        populate(args.activities, random.Random(args.seed))
        first, last = (
            START.date() - datetime.timedelta(days=1),
            START.date().replace(year=START.year + 1),
        )
        ids = list(Activity.objects.order_by("started_at", "pk").values_list("pk", flat=True))
        before = verdicts()
        auto = RecordingLink.objects.filter(source=LinkSource.AUTO)
        link_count, events_before = auto.count(), AuditEvent.objects.count()
        auto.delete()
        began = time.perf_counter()
        recheck(first, last)
        first_link = time.perf_counter() - began
        relinked, audited = auto.count(), AuditEvent.objects.count() - events_before
        print(
            f"first-time linking: {relinked:,} of {link_count:,} automatic links re-created and"
            f" {audited:,} events audited in {first_link:.2f} s; same verdicts:"
            f" {verdicts() == before}"
        )
        for round_no in range(1, args.rounds + 1):
            load = os.getloadavg()[0]
            began = time.perf_counter()
            recheck(first, last)
            bulk = time.perf_counter() - began
            after_bulk = verdicts()
            began = time.perf_counter()
            for activity_id in ids:
                coverage_activity_refresh(activity_id)
            single = time.perf_counter() - began
            after_single = verdicts()
            same = after_bulk == after_single
            ping = select_one_ms()
            print(
                f"round {round_no} (load {load:.1f}→{os.getloadavg()[0]:.1f}): "
                f"{len(ids):,} activities — bulk {bulk:.2f} s "
                f"({bulk / len(ids) * 1000:.2f} ms/activity), "
                f"one by one {single:.2f} s ({single / len(ids) * 1000:.2f} ms/activity), "
                f"ratio {single / bulk:.1f}×; SELECT 1 {ping:.3f} ms "
                f"(bulk = {bulk / len(ids) / (ping / 1000):.1f} round trips/activity); "
                f"same verdicts: {same}"
            )
            if round_no == 1:
                print(
                    f"first-time linking / re-check with nothing new to link ="
                    f" {first_link / bulk:.2f}×"
                )
    finally:
        connection.close()
        creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
