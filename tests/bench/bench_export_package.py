"""Export package streaming (issue 6, item 9) against a real SeaweedFS, vs a plain download.

    .venv/bin/python tests/bench/bench_export_package.py                  # 4 x 64 MiB
    .venv/bin/python tests/bench/bench_export_package.py --count 2 --mib 16

Issue 6 names no figure for exports; this measures what the streamed ZIP costs over
reading the same originals. Starts its own `weed mini` and a scratch PostgreSQL database
(fv_bench_export), stores COUNT random originals, files a staff copy request, approves it
and makes one export (no watermarked proxies: those are an ffmpeg transcode, measured by
bench_transcode.py). Then, interleaved over --rounds rounds, in the same run:
  plain+sha256  boto3 get_object of every original + hashlib SHA-256 (the reference:
                the package must read and hash every byte once)
  export        backend.review.packaging.export_stream: originals copied into a
                stored ZIP with SHA-256 checked, manifest, audit extract, SHA256SUMS
Prints every round, the medians, the ratio export / reference, and the time to the first
byte of the package. The first round's package is checked: every original in it hashes to
the recorded SHA-256.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stack import bench_stack  # noqa: E402

DB_NAME = "fv_bench_export"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with bench_stack(DB_NAME):
        from django.conf import settings
        from django.utils import timezone

        from backend.accounts.models import Role, UnitKind
        from backend.footage.models import Recording
        from backend.footage.storage import object_store
        from backend.review import services
        from backend.review.models import ApprovalAuthority, Approver
        from backend.review.packaging import export_stream
        from tests.factories import make_device, make_officer, make_unit, make_user

        store = object_store()
        bureau = make_unit("基准司法局", kind=UnitKind.BUREAU)
        other = make_unit("他县司法局", kind=UnitKind.BUREAU)
        officer = make_officer(bureau, name="基准执法")
        device, _token = make_device(officer=officer)
        head = make_user(role=Role.SUPERVISOR, unit=bureau, username="bench-head")
        Approver.objects.create(user=head, authority=ApprovalAuthority.BUREAU_HEAD, unit=bureau)
        requester = make_user(role=Role.SUPERVISOR, unit=other, username="bench-requester")
        size = args.mib * 1024 * 1024
        retain = timezone.now() + datetime.timedelta(days=1)
        recordings = []
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
                recordings.append(
                    Recording.objects.create(
                        device=device,
                        officer=officer,
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
                )
        request = services.access_request_create(
            requester=requester,
            requester_kind="staff",
            purpose="基准测试",
            recording_ids=[str(r.pk) for r in recordings],
            want_copy=True,
        )
        grant = services.access_request_approve(request_id=request.pk, approver=head)
        export = services.export_create(grant=grant, user=requester)
        total_mb = args.count * size / 1e6
        print(f"stored {args.count} x {args.mib} MiB = {total_mb:.0f} MB")

        def reference() -> float:
            started = time.perf_counter()
            for recording in recordings:
                body = store.client.get_object(
                    Bucket=settings.FV_ORIGINALS_BUCKET, Key=recording.storage_key
                )["Body"]
                digest = hashlib.sha256()
                for chunk in body.iter_chunks(1024 * 1024):
                    digest.update(chunk)
                body.close()
            return total_mb / (time.perf_counter() - started)

        def package(keep: bool) -> tuple[float, float, bytes]:
            kept = io.BytesIO()
            started = time.perf_counter()
            first = 0.0
            for piece in export_stream(export):
                if piece and not first:
                    first = time.perf_counter() - started
                if keep:
                    kept.write(piece)
            return total_mb / (time.perf_counter() - started), first, kept.getvalue()

        figures: dict[str, list[float]] = {"plain+sha256": [], "export": []}
        first_bytes: list[float] = []
        for round_no in range(1, args.rounds + 1):
            figures["plain+sha256"].append(reference())
            rate, first, body = package(keep=round_no == 1)
            figures["export"].append(rate)
            first_bytes.append(first)
            if body:
                with zipfile.ZipFile(io.BytesIO(body)) as archive:
                    for recording in recordings:
                        name = next(
                            n
                            for n in archive.namelist()
                            if n.startswith(f"originals/{str(recording.pk)[:8]}")
                        )
                        assert hashlib.sha256(archive.read(name)).hexdigest() == recording.sha256
                    sums = archive.read("SHA256SUMS").decode()
                    assert all(r.sha256 in sums for r in recordings)
                print("package checked: every original hashes to its recorded SHA-256")
            print(
                f"round {round_no}: "
                + ", ".join(f"{name} {values[-1]:.1f}" for name, values in figures.items())
                + f" MB/s; first byte {first * 1000:.0f} ms"
            )
        medians = {name: statistics.median(values) for name, values in figures.items()}
        print("median MB/s: " + ", ".join(f"{name} {value:.1f}" for name, value in medians.items()))
        print(
            f"reference (download + SHA-256 of the same originals, same run): "
            f"{medians['plain+sha256']:.1f} MB/s"
        )
        print(
            f"export package stream: {medians['export']:.1f} MB/s; "
            f"ratio export / reference: {medians['export'] / medians['plain+sha256']:.2f}; "
            f"median first byte {statistics.median(first_bytes) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
