"""The linking lookup run for every stored recording, on PostgreSQL: could one portable ORM
statement (a UNION ALL, the same on SQLite; the candidate, written out here) replace the
PostgreSQL-only raw statement of ``_linked_and_overlapped`` (the live one, the same-run
reference) and its SQLite twin? Measured 2026-12-05 (2,000 activities, 400 recordings,
shared 2-core machine): candidate 8,489 µs median, live raw statement 2,831 µs: 3.0x
slower, so the twin stays.

    FV_TEST_DB_SUFFIX=benchlinking .venv/bin/python tests/bench/bench_coverage_linking.py
    ... --activities 4000 --samples 400

Builds a throw-away database with the population of ``bench_coverage_incremental.populate``,
then for ``--samples`` recordings (alternating the two, same recordings) times each lookup and
checks both give the same answer. Prints median microseconds of each and the ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")
os.environ.setdefault("FV_TEST_DB_SUFFIX", "benchlinking")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import BooleanField, Q, Value  # noqa: E402

from backend.coverage.models import RecordingLink  # noqa: E402
from backend.coverage.services.evaluation import link_buffer  # noqa: E402
from backend.coverage.services.linking import _linked_and_overlapped  # noqa: E402
from backend.enforcement.models import ActivityOfficer  # noqa: E402
from backend.footage.models import Recording  # noqa: E402
from coverage_core.evaluation import OPEN_ACTIVITY_HORIZON  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coverage_incremental import populate  # noqa: E402


def portable_candidate(recording: Recording) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The same answer from one ORM UNION ALL (runs on PostgreSQL and SQLite alike)."""
    buffer = link_buffer()
    rows = RecordingLink.objects.filter(recording_id=recording.pk).values_list(
        "activity_id", Value(True, output_field=BooleanField())
    )
    overlapped = (
        ActivityOfficer.objects.filter(
            officer_id=recording.officer_id,
            activity__started_at__lte=recording.ended_at + buffer,
        )
        .filter(
            Q(activity__stopped_at__gte=recording.started_at - buffer)
            | Q(
                activity__stopped_at__isnull=True,
                activity__started_at__gte=recording.started_at - OPEN_ACTIVITY_HORIZON - buffer,
            )
        )
        .values_list("activity_id", Value(False, output_field=BooleanField()))
    )
    linked: set[uuid.UUID] = set()
    new: set[uuid.UUID] = set()
    for activity_id, is_link in rows.union(overlapped, all=True):
        (linked if is_link else new).add(activity_id)
    return linked, new


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=4000)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        populate(args.activities, random.Random(args.seed))
        recordings = list(
            Recording.objects.exclude(officer_id=None).only(
                "pk", "officer_id", "started_at", "ended_at", "state"
            )
        )
        sample = random.Random(args.seed).sample(recordings, min(args.samples, len(recordings)))
        portable: list[float] = []
        reference: list[float] = []
        for index, recording in enumerate(sample):
            order = (0, 1) if index % 2 else (1, 0)
            answers = {}
            for which in order:
                began = time.perf_counter()
                if which == 0:
                    answers[0] = portable_candidate(recording)
                    portable.append(time.perf_counter() - began)
                else:
                    answers[1] = _linked_and_overlapped(recording, look_for_new=True)
                    reference.append(time.perf_counter() - began)
            assert answers[0] == answers[1], recording.pk
        p = statistics.median(portable) * 1e6
        r = statistics.median(reference) * 1e6
        print(
            f"{len(sample)} recordings, {args.activities} activities: portable ORM candidate "
            f"{p:.0f} µs median, live raw PostgreSQL (reference) {r:.0f} µs; ratio {p / r:.2f}x"
        )
    finally:
        creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
