"""Object-lock extension after a policy change: objects per second against a real
SeaweedFS, vs plain boto3 put_object_retention calls on the same objects in the same run.

    .venv/bin/python tests/bench/bench_lock_sync.py              # 1000 objects
    .venv/bin/python tests/bench/bench_lock_sync.py --count 300  # quicker

Starts its own `weed mini` and a scratch PostgreSQL database (fv_bench_lock_sync), stores
COUNT small originals under COMPLIANCE lock with their recordings and retention rows, then:
  sync       the policy date moves 1 day later for all rows; retention_sync_locks_for():
             HEAD + put_object_retention + an audit event + the row update, per object
  reference  plain boto3 put_object_retention (1 more day) on every object, nothing else
Prints objects/s of each, the ratio, and what that means for 1,000,000 objects. The
database side of a policy change is bench_retention.py; this is the S3 side that the
periodic pass does afterwards (FV_LOCK_SYNC_SECONDS per pass).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stack import bench_stack  # noqa: E402

DB_NAME = "fv_bench_lock_sync"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()

    with bench_stack(DB_NAME):
        from django.conf import settings
        from django.db.models import F
        from django.utils import timezone

        from backend.devices.models import Device
        from backend.footage.models import Recording
        from backend.footage.storage import object_store
        from backend.retention.models import RecordingRetention
        from backend.retention.services import retention_check_locks, retention_sync_locks_for

        store = object_store()
        bucket = settings.FV_ORIGINALS_BUCKET
        device = Device.objects.create(kind="body_camera", serial="BENCH-LOCK")
        retain = timezone.now().replace(microsecond=0) + datetime.timedelta(days=1)
        keys = []
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "clip"
            for index in range(args.count):
                data = os.urandom(1024)
                digest = hashlib.sha256(data).hexdigest()
                path.write_bytes(data)
                stored = store.put_original(
                    bucket=bucket, path=path, sha256_hex=digest, retain_until=retain
                )
                now = timezone.now()
                recording = Recording.objects.create(
                    device=device,
                    clip_id=f"c{index}",
                    file_name=f"c{index}.mp4",
                    size_bytes=len(data),
                    sha256=digest,
                    media_kind="video",
                    device_started_at=now,
                    device_ended_at=now,
                    started_at=now,
                    ended_at=now,
                    state="stored",
                    storage_key=stored.key,
                    stored_at=now,
                )
                RecordingRetention.objects.create(
                    recording=recording,
                    anchor_at=now,
                    policy_until=retain,
                    retention_until=retain,
                    reason="bench",
                    lock_floor_until=retain,
                    lock_until_applied=retain,
                )
                keys.append(stored.key)
        print(f"stored {args.count} objects in {time.perf_counter() - started:.1f} s")

        RecordingRetention.objects.update(
            retention_until=F("retention_until") + datetime.timedelta(days=1),
            policy_until=F("policy_until") + datetime.timedelta(days=1),
        )
        started = time.perf_counter()
        report = retention_sync_locks_for(seconds=3600)
        sync_s = time.perf_counter() - started
        assert len(report.extended) == args.count, (len(report.extended), report.failed)
        sync_rate = args.count / sync_s
        print(f"retention_sync_locks_for: {sync_rate:.0f} objects/s ({sync_s:.1f} s)")

        later = retain + datetime.timedelta(days=2)
        started = time.perf_counter()
        for key in keys:
            store.client.put_object_retention(
                Bucket=bucket,
                Key=key,
                Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later},
            )
        ref_s = time.perf_counter() - started
        ref_rate = args.count / ref_s
        print(f"reference plain put_object_retention: {ref_rate:.0f} objects/s ({ref_s:.1f} s)")
        print(
            f"ratio sync / reference: {sync_rate / ref_rate:.2f}; 1,000,000 objects: "
            f"{1e6 / sync_rate / 3600:.1f} h by the periodic pass "
            f"({1e6 / ref_rate / 3600:.1f} h for bare calls)"
        )
        # The database now trails the objects by a day (the reference moved them): the
        # check command sees every object as a disagreement; a sample proves it.
        assert len(retention_check_locks(limit=10)) == 10


if __name__ == "__main__":
    main()
