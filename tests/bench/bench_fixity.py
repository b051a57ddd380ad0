"""Fixity sweep throughput against a real SeaweedFS, vs a plain boto3 download.

    .venv/bin/python tests/bench/bench_fixity.py                    # 32 objects x 8 MiB
    .venv/bin/python tests/bench/bench_fixity.py --count 16 --mib 4 # quicker

Starts its own `weed mini` and a scratch PostgreSQL database (fv_bench_fixity), stores
COUNT random originals under COMPLIANCE lock, creates their recordings and retention
rows, then in the same run:
  plain         plain boto3 get_object of every object, bytes read and discarded
  sweep-1       fixity_sweep(workers=1): GET + SHA-256 + a FixityCheck row per recording
  plain+sha256  sequential download + hashlib, what one thread can do
  sweep-2       fixity_sweep(workers=2)
interleaved over --rounds rounds (default 3); prints every round, the medians and the
ratio of the better sweep to the plain download.
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

DB_NAME = "fv_bench_fixity"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--mib", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with bench_stack(DB_NAME):
        from django.conf import settings
        from django.utils import timezone

        from backend.devices.models import Device
        from backend.footage.models import Recording
        from backend.footage.storage import object_store
        from backend.retention.fixity import fixity_sweep
        from backend.retention.models import FixityCheck, RecordingRetention

        store = object_store()
        device = Device.objects.create(kind="body_camera", serial="BENCH-FIXITY")
        keys = []
        size = args.mib * 1024 * 1024
        retain = timezone.now() + datetime.timedelta(days=1)
        with tempfile.TemporaryDirectory() as scratch:
            for index in range(args.count):
                data = os.urandom(size)
                digest = hashlib.sha256(data).hexdigest()
                path = Path(scratch) / "clip"
                path.write_bytes(data)
                stored = store.put_original(
                    bucket=settings.FV_ORIGINALS_BUCKET,
                    path=path,
                    sha256_hex=digest,
                    retain_until=retain,
                )
                now = timezone.now()
                recording = Recording.objects.create(
                    device=device,
                    clip_id=f"c{index}",
                    file_name=f"c{index}.mp4",
                    size_bytes=size,
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
                    lock_until_applied=retain,
                )
                keys.append(stored.key)
        total_mb = args.count * size / 1e6
        print(f"stored {args.count} x {args.mib} MiB = {total_mb:.0f} MB")

        def reference(*, hashing: bool = False) -> float:
            started = time.perf_counter()
            for key in keys:
                body = store.client.get_object(Bucket=settings.FV_ORIGINALS_BUCKET, Key=key)["Body"]
                digest = hashlib.sha256()
                for chunk in body.iter_chunks(1024 * 1024):
                    if hashing:
                        digest.update(chunk)
                body.close()
            return total_mb / (time.perf_counter() - started)

        import statistics

        def sweep(workers: int) -> float:
            RecordingRetention.objects.update(last_fixity_at=None)
            report = fixity_sweep(limit=args.count, workers=workers)
            assert report.checked == args.count and report.ok == args.count, report.failed
            FixityCheck.objects.all().delete()
            return report.bytes_read / 1e6 / report.seconds

        # Interleaved rounds: the machine is shared and noisy, and SeaweedFS and the page
        # cache warm up; every figure is taken in every round and the medians compared.
        figures: dict[str, list[float]] = {
            "plain": [],
            "plain+sha256": [],
            "sweep-1": [],
            "sweep-2": [],
        }
        for round_no in range(1, args.rounds + 1):
            figures["plain"].append(reference())
            figures["sweep-1"].append(sweep(1))
            figures["plain+sha256"].append(reference(hashing=True))
            figures["sweep-2"].append(sweep(2))
            print(
                f"round {round_no}: "
                + ", ".join(f"{name} {values[-1]:.1f}" for name, values in figures.items())
                + " MB/s"
            )
        medians = {name: statistics.median(values) for name, values in figures.items()}
        print("median MB/s: " + ", ".join(f"{name} {value:.1f}" for name, value in medians.items()))
        best = "sweep-1" if medians["sweep-1"] >= medians["sweep-2"] else "sweep-2"
        print(
            f"reference (plain boto3 download, same objects, same run): {medians['plain']:.1f} MB/s"
        )
        print(
            f"fixity sweep ({best}): {medians[best]:.1f} MB/s; "
            f"ratio sweep / plain download: {medians[best] / medians['plain']:.2f}; "
            f"sweep / download+sha256 in one thread: "
            f"{medians[best] / medians['plain+sha256']:.2f}"
        )


if __name__ == "__main__":
    main()
