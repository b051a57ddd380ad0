"""Incremental coverage re-check on PostgreSQL: one newly stored recording.

    FV_TEST_DB_SUFFIX=benchcov .venv/bin/python tests/bench/bench_coverage_incremental.py
    ... --activities 4000 --samples 200 --keepdb

Builds a throw-away database (test_fieldvault_<suffix>), populates it with a year of
activities (1-2 officers; evidence collection with 2), their recordings (split files,
late starts, gaps, patrol footage outside any activity), links them and stores every
verdict through the real services. Then, ``--samples`` times: a new stored recording of
a participant overlapping a random activity is inserted (untimed), and
``coverage_on_recording_stored`` — the AFTER_STORED_HOOKS entry: find the activities,
link, re-check each, store verdicts, audit — is timed. Goal: median <= 20 ms.

Same-run references, taken right after each sample (same load): the median round trip
of ``SELECT 1``, of a single-row primary key fetch (``Recording.objects.get(pk=…)``)
and of a one-row UPDATE with its COMMIT, with the ratios.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")
os.environ.setdefault("FV_TEST_DB_SUFFIX", "benchcov")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from backend.accounts.models import Officer, UnitKind  # noqa: E402
from backend.accounts.services import unit_create  # noqa: E402
from backend.audit.services import Actor  # noqa: E402
from backend.coverage.models import CoverageEvaluation, RecordingLink  # noqa: E402
from backend.coverage.services import (  # noqa: E402
    coverage_on_recording_stored,
    coverage_recheck_range,
)
from backend.devices.models import ClockReading, Device  # noqa: E402
from backend.enforcement.models import (  # noqa: E402
    Activity,
    ActivityMoment,
    ActivityOfficer,
    ActivityState,
)
from backend.enforcement.services import record_list_import  # noqa: E402
from backend.footage.models import Recording, RecordingState  # noqa: E402

SHARED = Path(__file__).resolve().parents[1] / "data" / "official" / "record_list.csv"
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
STAGES = (("行政处罚", "调查取证", 2), ("行政检查", "现场检查", 1), ("行政处罚", "送达", 1))
SECOND = datetime.timedelta(seconds=1)


def recording(
    device_id: uuid.UUID, officer_id: int, start: datetime.datetime, end: datetime.datetime
) -> Recording:
    clip = uuid.uuid4().hex
    return Recording(
        device_id=device_id,
        clip_id=clip,
        file_name=f"{clip}.mp4",
        size_bytes=1,
        sha256=hashlib.sha256(clip.encode()).hexdigest(),
        media_kind="video",
        device_started_at=start,
        device_ended_at=end,
        clock_offset_ms=0,
        started_at=start,
        ended_at=end,
        officer_id=officer_id,
        state=RecordingState.STORED,
    )


def populate(
    activity_count: int, rng: random.Random
) -> tuple[list[Activity], dict[int, uuid.UUID]]:
    record_list_import(
        source=SHARED, effective_from=datetime.date(2025, 1, 1), actor=Actor.system()
    )
    bureau = unit_create(name="基准司法局", kind=UnitKind.BUREAU)
    offices = [
        unit_create(name=f"基准所{i}", kind=UnitKind.OFFICE, parent=bureau) for i in range(10)
    ]
    officer_count = max(20, activity_count // 20)
    officers = Officer.objects.bulk_create(
        [
            Officer(
                name=f"人员{i}",
                unit=offices[i % 10],
                certificate_number=f"B{i:08d}",
                certificate_valid_until=datetime.date(2030, 1, 1),
            )
            for i in range(officer_count)
        ]
    )
    devices = Device.objects.bulk_create(
        [
            Device(
                kind="body_camera",
                serial=f"BENCH-{i}",
                unit=offices[i % 10],
                last_clock_offset_ms=0,
            )
            for i in range(officer_count)
        ]
    )
    now = timezone.now()
    ClockReading.objects.bulk_create(
        [ClockReading(device=d, device_time=now, server_time=now, offset_ms=0) for d in devices]
    )
    device_of = {o.pk: d.pk for o, d in zip(officers, devices, strict=True)}
    activities: list[Activity] = []
    participants: list[ActivityOfficer] = []
    moments: list[ActivityMoment] = []
    recordings: list[Recording] = []
    for _ in range(activity_count):
        category, stage, crew = rng.choice(STAGES)
        begin = START + datetime.timedelta(seconds=rng.randrange(365 * 24 * 3600))
        end = begin + datetime.timedelta(minutes=rng.randint(10, 90))
        crew_members = rng.sample(officers, crew)
        activity = Activity(
            category=category,
            stage=stage,
            unit=crew_members[0].unit,
            started_at=begin,
            stopped_at=end,
            state=ActivityState.CLOSED,
            closed_at=end,
        )
        activities.append(activity)
        moments.append(
            ActivityMoment(activity=activity, code="site_enter", occurred_at=begin, source="tablet")
        )
        moments.append(
            ActivityMoment(activity=activity, code="site_leave", occurred_at=end, source="tablet")
        )
        for officer in crew_members:
            participants.append(ActivityOfficer(activity=activity, officer=officer))
            pattern = rng.random()
            device_id = device_of[officer.pk]
            if pattern < 0.5:  # on time, two split files
                middle = begin + (end - begin) / 2
                recordings.append(recording(device_id, officer.pk, begin - 10 * SECOND, middle))
                recordings.append(recording(device_id, officer.pk, middle + SECOND, end))
            elif pattern < 0.7:  # late start
                recordings.append(recording(device_id, officer.pk, begin + 120 * SECOND, end))
            elif pattern < 0.85:  # gap
                recordings.append(
                    recording(device_id, officer.pk, begin, begin + (end - begin) / 3)
                )
                recordings.append(recording(device_id, officer.pk, begin + (end - begin) / 2, end))
            # else: nothing
    for _ in range(activity_count * 2):  # patrol footage outside any activity
        officer = rng.choice(officers)
        begin = START + datetime.timedelta(seconds=rng.randrange(365 * 24 * 3600))
        recordings.append(
            recording(
                device_of[officer.pk],
                officer.pk,
                begin,
                begin + datetime.timedelta(minutes=rng.randint(1, 20)),
            )
        )
    Activity.objects.bulk_create(activities, batch_size=2000)
    ActivityOfficer.objects.bulk_create(participants, batch_size=2000)
    ActivityMoment.objects.bulk_create(moments, batch_size=2000)
    Recording.objects.bulk_create(recordings, batch_size=2000)
    began = time.perf_counter()
    coverage_recheck_range(
        start=START - datetime.timedelta(days=1), end=START + datetime.timedelta(days=400)
    )
    print(
        f"populated: {len(activities):,} activities, {Recording.objects.count():,} "
        f"recordings, {RecordingLink.objects.count():,} links, "
        f"{CoverageEvaluation.objects.count():,} verdicts "
        f"(linking + checking all took {time.perf_counter() - began:.1f} s)"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return activities, device_of


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=4000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--keepdb", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print the SQL of one call")
    parser.add_argument("--cprofile", action="store_true", help="cProfile one call")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(
        f"database {name} on {connection.settings_dict.get('HOST')} "
        f"(PostgreSQL {connection.cursor().connection.info.server_version})"
    )
    try:
        activities, device_of = populate(args.activities, rng)
        timed: list[float] = []
        cpu: list[float] = []
        touched: list[int] = []
        select_one: list[float] = []
        fetch_row: list[float] = []
        commit_row: list[float] = []
        print(f"load average before sampling: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for _ in range(args.samples):
            activity = rng.choice(activities)
            officer_id = ActivityOfficer.objects.filter(activity=activity).values_list(
                "officer_id", flat=True
            )[0]
            start = activity.started_at + datetime.timedelta(minutes=rng.randint(0, 5))
            new = recording(
                device_of[officer_id],
                officer_id,
                start,
                start + datetime.timedelta(minutes=rng.randint(2, 20)),
            )
            new.save()
            if args.profile:
                args.profile = False
                from django.test.utils import CaptureQueriesContext

                with CaptureQueriesContext(connection) as queries:
                    coverage_on_recording_stored(new.pk)
                for query in queries.captured_queries:
                    print(f"  {query['time']}s {query['sql'][:160]}")
                print(f"  {len(queries.captured_queries)} queries")
                continue
            if args.cprofile and len(timed) == 5:
                args.cprofile = False  # one profiled call, then carry on timing
                import cProfile
                import pstats

                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                coverage_on_recording_stored(new.pk)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
                continue
            began = time.perf_counter()
            cpu_began = time.process_time()
            affected = coverage_on_recording_stored(new.pk)
            cpu.append(time.process_time() - cpu_began)
            timed.append(time.perf_counter() - began)
            touched.append(len(affected))
            # References right after each sample, so that both see the same machine load.
            with connection.cursor() as cursor:
                began = time.perf_counter()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                select_one.append(time.perf_counter() - began)
            began = time.perf_counter()
            Recording.objects.get(pk=new.pk)
            fetch_row.append(time.perf_counter() - began)
            began = time.perf_counter()
            with transaction.atomic():
                Recording.objects.filter(pk=new.pk).update(trigger_reason="bench")
            commit_row.append(time.perf_counter() - began)
        ms = median_ms(timed)
        print(
            f"incremental re-check per new recording: median {ms:.2f} ms, "
            f"p90 {statistics.quantiles(timed, n=10)[-1] * 1000:.2f} ms, "
            f"max {max(timed) * 1000:.2f} ms over {len(timed)} recordings "
            f"(activities re-checked per recording: mean {statistics.mean(touched):.2f}, "
            f"max {max(touched)})"
        )
        print(
            f"  of which CPU time in this process (Python: ORM + check): median "
            f"{median_ms(cpu):.2f} ms; load average now {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} CPUs"
        )
        print(
            f"reference SELECT 1 round trip: median {median_ms(select_one):.3f} ms "
            f"-> ratio {ms / median_ms(select_one):.0f}x"
        )
        print(
            f"reference single-row pk fetch (ORM): median {median_ms(fetch_row):.3f} ms "
            f"-> ratio {ms / median_ms(fetch_row):.1f}x"
        )
        print(
            f"reference one-row UPDATE + COMMIT (ORM): median {median_ms(commit_row):.3f} ms "
            f"-> ratio {ms / median_ms(commit_row):.1f}x"
        )
        print(f"goal <= 20 ms: {'met' if ms <= 20 else 'NOT met'}")
    finally:
        if not args.keepdb:
            creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
