"""Manifest of 10,000 clips on PostgreSQL: p95 latency (goal ≤ 300 ms).

    FV_TEST_DB_SUFFIX=bench .venv/bin/python tests/bench/bench_manifest.py [--clips 10000] [--runs 20]

Runs against a scratch PostgreSQL database through Django's test client (the full request
path: auth, JSON parsing, validation, reconciliation, response). The first manifest of a
device creates every recording and upload; the repeats are what a docked camera sends on
every later sync. Same-run reference: serialising + parsing the same JSON body, and a plain
SELECT of the device's 10,000 recordings.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="cProfile one repeat sync")
    parser.add_argument("--no-gc", action="store_true", help="disable the cyclic GC (diagnosis)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import (  # noqa: F401
        get_runner,
        setup_databases,
        setup_test_environment,
        teardown_databases,
    )

    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from backend.footage.models import Recording
        from tests.factories import make_device

        device, token = make_device()
        start = datetime.datetime(2026, 11, 23, 1, 0, tzinfo=datetime.UTC)
        clips = [
            {
                "clip_id": f"CLIP{i:06d}",
                "file_name": f"DSJ_{i:06d}.MP4",
                "size": 1000 + i,
                "sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                "recorded_start": (start + datetime.timedelta(minutes=i)).isoformat(),
                "recorded_end": (start + datetime.timedelta(minutes=i, seconds=50)).isoformat(),
                "media_kind": "video",
            }
            for i in range(args.clips)
        ]
        client = Client()

        def send() -> float:
            body = json.dumps(
                {"device_time": datetime.datetime.now(datetime.UTC).isoformat(), "clips": clips}
            )
            began = time.perf_counter()
            response = client.post(
                "/api/sync/v1/manifest",
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )
            elapsed = time.perf_counter() - began
            assert response.status_code == 200, response.content[:300]
            return elapsed

        if args.no_gc:
            import gc

            gc.disable()
        first = send()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(send)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        repeats = [send() for _ in range(args.runs)]
        json_times = []
        select_times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            json.loads(json.dumps({"clips": clips}))
            json_times.append(time.perf_counter() - began)
            began = time.perf_counter()
            list(Recording.objects.filter(device=device).values_list("clip_id", "sha256", "state"))
            select_times.append(time.perf_counter() - began)
        p95 = percentile(repeats, 0.95)
        reference = statistics.median(json_times) + statistics.median(select_times)
        print(f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}")
        print(f"manifest of {args.clips} clips, first sync (creates all): {first * 1000:.0f} ms")
        print(
            f"manifest of {args.clips} clips, repeat syncs x{args.runs}: median "
            f"{statistics.median(repeats) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (goal <= 300 ms)"
        )
        print(
            f"same-run reference (JSON round trip {statistics.median(json_times) * 1000:.0f} ms + "
            f"SELECT of the device's recordings {statistics.median(select_times) * 1000:.0f} ms): "
            f"{reference * 1000:.0f} ms; ratio p95/reference = {p95 / reference:.1f}x"
        )
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
