"""Soak: N devices sync for M minutes with random cuts; nothing lost, duplicated or wedged.

    .venv/bin/python tests/bench/bench_upload_soak.py [--devices 12] [--minutes 5]
        [--cut-fraction 0.25] [--min-mib 1] [--max-mib 8]

The full web app (`backend.config.asgi`, one uvicorn process) on a scratch PostgreSQL
database and a real SeaweedFS, storing verified clips in S3 from the web process. Each
device loops: a new clip, the manifest, tus PATCHes of the whole body, a quarter of them
cut mid-body at a random byte (then HEAD and resume). Reported: clips/s and MB/s
acknowledged (204 complete), the same total uploaded afterwards as one stream in the same
run (the reference), 423/507 counts, p95 resume latency (cut -> the resumed PATCH's 204),
split into the wait until the PATCH that succeeded began (with the 423/409 refusals on the
way) and that PATCH's own transfer (bandwidth-bound on a saturated machine),
web RSS at start and end with samples over the run (does it level off?), the web
process's PostgreSQL connections (sampled; they must stay within its pool), manifest
statuses (503 = database busy, retried after Retry-After; 500 never), how long after the
last acknowledgement every clip was `stored`, and a verification pass that re-hashes every
stored object from S3 and checks every acknowledged clip ends `stored` once
(lost / duplicated / wedged = 0).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

MiB = 1024 * 1024
PREFIX = "/api/sync/v1/uploads"


def full_app() -> Any:
    """uvicorn factory: the product's ASGI application (manifest, uploads, everything)."""
    from backend.config.asgi import application

    return application


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Totals:
    clips: int = 0
    bytes: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    resume_seconds: list[float] = field(default_factory=list)
    # Per resume: (seconds until the successful PATCH began, its own seconds, 423s, 409s).
    resume_parts: list[tuple[float, float, int, int]] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)  # clip id -> sha256
    errors: list[str] = field(default_factory=list)
    manifest_statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Device:
    def __init__(self, base_url: str, port: int, token: str, name: str) -> None:
        import requests

        self.session = requests.Session()
        self.base_url = base_url
        self.port = port
        self.token = token
        self.name = name
        self.auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}

    def manifest(
        self, clips: list[dict[str, Any]], totals: Totals | None = None
    ) -> list[dict[str, Any]]:
        for _attempt in range(30):
            response = self.session.post(
                self.base_url + "/api/sync/v1/manifest",
                json={
                    "device_time": datetime.datetime.now(datetime.UTC).isoformat(),
                    "clips": clips,
                },
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=60,
            )
            if totals is not None:
                with totals.lock:
                    totals.manifest_statuses[response.status_code] += 1
            if response.status_code == 503:  # the database is busy: as a device does
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            response.raise_for_status()
            answer: list[dict[str, Any]] = response.json()["clips"]
            return answer
        raise RuntimeError("manifest: 503 thirty times")

    def head(self, url: str) -> int:
        response = self.session.head(self.base_url + url, headers=self.auth, timeout=30)
        response.raise_for_status()
        return int(response.headers["Upload-Offset"])

    def patch(self, url: str, offset: int, body: bytes) -> int:
        response = self.session.patch(
            self.base_url + url,
            data=body,
            headers={
                **self.auth,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
            timeout=120,
        )
        return response.status_code

    def cut_patch(self, url: str, offset: int, body: bytes, cut_at: int) -> None:
        """A PATCH announcing the whole body whose connection drops after `cut_at` bytes."""
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            head = (
                f"PATCH {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                f"Authorization: Bearer {self.token}\r\nUpload-Offset: {offset}\r\n"
                "Content-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode() + body[:cut_at])


def clip_entry(clip_id: str, data: bytes, sha256: str) -> dict[str, Any]:
    begin = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    return {
        "clip_id": clip_id,
        "file_name": f"{clip_id}.mp4",
        "size": len(data),
        "sha256": sha256,
        "recorded_start": begin.isoformat(),
        "recorded_end": (begin + datetime.timedelta(minutes=1)).isoformat(),
        "media_kind": "video",
    }


def device_loop(device: Device, deadline: float, args: argparse.Namespace, totals: Totals) -> None:
    rng = random.Random(device.name)
    number = 0
    while time.monotonic() < deadline:
        number += 1
        data = os.urandom(rng.randint(args.min_mib * MiB, args.max_mib * MiB))
        sha256 = hashlib.sha256(data).hexdigest()
        clip_id = f"{device.name}-{number:05d}"
        entry = clip_entry(clip_id, data, sha256)
        try:
            url = None
            while url is None and time.monotonic() < deadline + 60:
                answer = device.manifest([entry], totals)[0]
                if answer["status"] == "insufficient_storage":
                    with totals.lock:
                        totals.statuses[507] += 1
                    time.sleep(1)
                    continue
                url = answer["upload_url"]
            if url is None:
                return
            offset, cut_started = 0, None
            refused: Counter[int] = Counter()
            while offset < len(data):
                if cut_started is None and rng.random() < args.cut_fraction:
                    cut_at = rng.randint(1, len(data) - offset - 1)
                    device.cut_patch(url, offset, data[offset:], cut_at)
                    cut_started = time.monotonic()
                    offset = device.head(url)
                    continue
                sent_at = time.monotonic()
                status = device.patch(url, offset, data[offset:])
                with totals.lock:
                    totals.statuses[status] += 1
                if status == 204:
                    if cut_started is not None:
                        done = time.monotonic()
                        with totals.lock:
                            totals.resume_seconds.append(done - cut_started)
                            totals.resume_parts.append(
                                (sent_at - cut_started, done - sent_at, refused[423], refused[409])
                            )
                    break
                if cut_started is not None:
                    refused[status] += 1
                if status in (409, 423, 507):
                    time.sleep(0.2)
                    offset = device.head(url)
                    continue
                raise RuntimeError(f"PATCH {url} -> {status}")
            with totals.lock:
                totals.clips += 1
                totals.bytes += len(data)
                totals.acknowledged[clip_id] = sha256
        except Exception as exc:  # counted and reported; the device goes on
            with totals.lock:
                totals.errors.append(f"{clip_id}: {exc}")
            time.sleep(0.5)


def single_stream(device: Device, total: int) -> tuple[float, str]:
    """The reference: one clip of the soak's total size, one PATCH, no cut. The body is
    generated while it is sent (a 30-minute soak acknowledges more than memory holds)."""
    block = MiB
    hasher = hashlib.sha256()
    # Hash first (the manifest needs it), from a seed, then send the same bytes again.
    seed = os.urandom(32)

    def body() -> Any:
        counter = 0
        left = total
        while left:
            piece = hashlib.shake_256(seed + counter.to_bytes(8, "big")).digest(min(block, left))
            counter += 1
            left -= len(piece)
            yield piece

    for piece in body():
        hasher.update(piece)
    sha256 = hasher.hexdigest()
    begin = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    entry = {
        "clip_id": "single-stream",
        "file_name": "single-stream.mp4",
        "size": total,
        "sha256": sha256,
        "recorded_start": begin.isoformat(),
        "recorded_end": (begin + datetime.timedelta(minutes=1)).isoformat(),
        "media_kind": "video",
    }
    url = device.manifest([entry])[0]["upload_url"]
    started = time.monotonic()
    response = device.session.patch(
        device.base_url + url,
        data=body(),
        headers={
            **device.auth,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=600,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 204, response.status_code
    return elapsed, sha256


@dataclass
class Sample:
    seconds: float
    rss_mib: float
    pg_connections: int
    clips: int


class Sampler(threading.Thread):
    """Every `every` seconds: the web process's RSS and the soak database's connections."""

    def __init__(self, pid: int, db_name: str, every: float, totals: Totals) -> None:
        super().__init__(name="soak-sampler", daemon=True)
        self.pid, self.db_name, self.every, self.totals = pid, db_name, every, totals
        self.samples: list[Sample] = []
        self.stopped = threading.Event()
        self.started_at = time.monotonic()

    def pg_connections(self) -> int:
        import psycopg
        from bench_stack import PG_URL

        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.db_name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def sample(self) -> None:
        self.samples.append(
            Sample(
                seconds=time.monotonic() - self.started_at,
                rss_mib=rss_mib(self.pid),
                pg_connections=self.pg_connections(),
                clips=self.totals.clips,
            )
        )

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.sample()
            except Exception as exc:  # a sample missed is reported, the soak goes on
                print(f"sample failed: {exc}", file=sys.stderr)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)
        self.sample()


def rss_trend(samples: list[Sample]) -> str:
    """RSS growth over the first and the second half of the run (MiB per minute)."""
    if len(samples) < 4:
        return "too few samples"
    half = len(samples) // 2
    first, second = samples[: half + 1], samples[half:]

    def slope(part: list[Sample]) -> float:
        minutes = (part[-1].seconds - part[0].seconds) / 60
        return (part[-1].rss_mib - part[0].rss_mib) / minutes if minutes else 0.0

    return f"first half {slope(first):+.2f} MiB/min, second half {slope(second):+.2f} MiB/min"


def stored_after(totals: Totals, wait_seconds: float) -> float:
    """Seconds until every acknowledged clip is `stored` (nan: not within wait_seconds)."""
    from backend.footage.models import Recording, RecordingState

    started = time.monotonic()
    ids = list(totals.acknowledged)
    while time.monotonic() - started < wait_seconds:
        stored = Recording.objects.filter(clip_id__in=ids, state=RecordingState.STORED).count()
        if stored == len(ids):
            return time.monotonic() - started
        time.sleep(0.5)
    return float("nan")


def verify(totals: Totals, wait_seconds: float) -> dict[str, int]:
    from django.conf import settings

    from backend.footage.models import Recording, RecordingState
    from backend.footage.storage import object_store
    from sync.models import Upload, UploadState

    deadline = time.monotonic() + wait_seconds
    ids = list(totals.acknowledged)
    while time.monotonic() < deadline:
        stored = Recording.objects.filter(clip_id__in=ids, state=RecordingState.STORED).count()
        if stored == len(ids):
            break
        time.sleep(1)
    store = object_store()
    lost = duplicated = corrupt = 0
    for clip_id, sha256 in totals.acknowledged.items():
        recordings = list(Recording.objects.filter(clip_id=clip_id))
        duplicated += max(len(recordings) - 1, 0)
        stored = [r for r in recordings if r.state == RecordingState.STORED]
        if not stored:
            lost += 1
            continue
        body = store.client.get_object(
            Bucket=settings.FV_ORIGINALS_BUCKET, Key=stored[0].storage_key
        )["Body"]
        hasher = hashlib.sha256()
        while block := body.read(MiB):
            hasher.update(block)
        if hasher.hexdigest() != sha256:
            corrupt += 1
    wedged = (
        Upload.objects.filter(state=UploadState.RECEIVING, lock_token__isnull=False).count()
        + Recording.objects.filter(state=RecordingState.RECEIVING, uploads__isnull=True).count()
    )
    return {"lost": lost, "duplicated": duplicated, "corrupt": corrupt, "wedged": wedged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=12)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--cut-fraction", type=float, default=0.25)
    parser.add_argument("--min-mib", type=int, default=1)
    parser.add_argument("--max-mib", type=int, default=8)
    parser.add_argument("--sample-seconds", type=float, default=15)
    args = parser.parse_args()

    from bench_stack import bench_stack

    work = Path(tempfile.mkdtemp(prefix="fv-bench-soak-", dir="/var/tmp"))
    with bench_stack("fv_bench_upload_soak"):
        from backend.audit.services import Actor
        from backend.devices.services import device_enroll
        from sync.tus.testing import UvicornServer

        env = {k: v for k, v in os.environ.items() if k.startswith(("FV_", "DATABASE", "DJANGO"))}
        env.update(
            DJANGO_SETTINGS_MODULE="backend.config.settings",
            FV_VAR_DIR=str(work / "var"),
            FV_STAGING_DIR=str(work / "staging"),
            FV_STORE_DISPATCH="thread",
            FV_LOG_LEVEL=os.environ.get("FV_SOAK_LOG_LEVEL", "WARNING"),
        )
        tokens = [
            device_enroll(kind="body_camera", serial=f"SOAK-{n:02d}", actor=Actor.system()).token
            for n in range(args.devices + 1)
        ]
        # The deployed layout: a worker re-drives what a web store thread could not finish.
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "fieldvault_worker", "--redrive-seconds", "5"],
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, **env},
            stdout=(work / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        with UvicornServer(
            factory="bench_upload_soak:full_app",
            env=env,
            app_dir=Path(__file__).resolve().parent,
            log_path=work / "web.log",
        ) as server:
            devices = [
                Device(server.url, server.port, token, f"D{n:02d}")
                for n, token in enumerate(tokens[:-1])
            ]
            rss_start = rss_mib(server.pid)
            totals = Totals()
            sampler = Sampler(server.pid, "fv_bench_upload_soak", args.sample_seconds, totals)
            sampler.sample()
            sampler.start()
            started = time.monotonic()
            deadline = started + args.minutes * 60
            threads = [
                threading.Thread(target=device_loop, args=(d, deadline, args, totals))
                for d in devices
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            rss_end = rss_mib(server.pid)
            stored_lag = stored_after(totals, wait_seconds=120)
            sampler.stop()
            checks = verify(totals, wait_seconds=0)
            report_soak(args, totals, elapsed, rss_start, rss_end, sampler, stored_lag, checks)
            print(f"web log                 {work / 'web.log'}", flush=True)
            single = Device(server.url, server.port, tokens[-1], "SINGLE")
            # One clip at most 8 GiB (below the 16 GiB upload limit; a 30-minute soak
            # acknowledges ~20 GB): the reference rate of one stream, same run.
            reference_bytes = min(totals.bytes, 8 * 1024 * MiB)
            single_seconds, single_sha = single_stream(single, reference_bytes)
            print(
                f"single stream, same run {reference_bytes / single_seconds / 1e6:.1f} MB/s "
                f"({reference_bytes / 1e6:.0f} MB in one PATCH; soak "
                f"{totals.bytes / elapsed / 1e6:.1f} MB/s, ratio "
                f"{(totals.bytes / elapsed) / (reference_bytes / single_seconds):.3f})",
                flush=True,
            )
            single_checks = verify(
                Totals(acknowledged={"single-stream": single_sha}), wait_seconds=600
            )
            print(
                f"single stream verified  {single_checks}; web RSS after it "
                f"{rss_mib(server.pid):.0f} MiB",
                flush=True,
            )
        worker.terminate()
        worker.wait(timeout=30)


def report_soak(
    args: argparse.Namespace,
    totals: Totals,
    elapsed: float,
    rss_start: float,
    rss_end: float,
    sampler: Sampler,
    stored_lag: float,
    checks: dict[str, int],
) -> None:
    resumes = sorted(totals.resume_seconds)
    p95 = resumes[int(0.95 * (len(resumes) - 1))] if resumes else float("nan")
    median = statistics.median(resumes) if resumes else float("nan")
    print(f"devices {args.devices}, {args.minutes:g} min, cut fraction {args.cut_fraction:g}")
    print(f"clips acknowledged      {totals.clips} ({totals.clips / elapsed:.2f} clips/s)")
    print(
        f"MB/s acknowledged       {totals.bytes / elapsed / 1e6:.1f} MB/s "
        f"(soak, {args.devices} devices)"
    )
    print(
        f"PATCH statuses          {dict(sorted(totals.statuses.items()))}  "
        f"(423: {totals.statuses[423]}, 507: {totals.statuses[507]})"
    )
    print(
        f"manifests               {dict(sorted(totals.manifest_statuses.items()))}  "
        f"(500: {totals.manifest_statuses[500]}, 503 retried: {totals.manifest_statuses[503]})"
    )
    print(f"resume after a cut      n={len(resumes)} median {median:.3f} s, p95 {p95:.3f} s")
    if totals.resume_parts:
        parts = totals.resume_parts
        waits = sorted(p[0] for p in parts)
        sends = sorted(p[1] for p in parts)
        print(
            f"  of which: waiting for the resumed PATCH p95 {waits[int(0.95 * (len(waits) - 1))]:.3f} s"
            f" (max {waits[-1]:.3f}), the resumed PATCH itself p95 "
            f"{sends[int(0.95 * (len(sends) - 1))]:.3f} s; refused on the way: "
            f"{sum(p[2] for p in parts)} x 423, {sum(p[3] for p in parts)} x 409"
        )
        for part in sorted(parts, reverse=True)[:5]:
            print(
                f"  slowest: wait {part[0]:.2f} s, PATCH {part[1]:.2f} s, 423 x{part[2]}, 409 x{part[3]}"
            )
    print(f"web RSS                 start {rss_start:.0f} MiB, end {rss_end:.0f} MiB")
    samples = sampler.samples
    print(f"RSS trend               {rss_trend(samples)}")
    print(
        f"PG connections          max {max(x.pg_connections for x in samples)} to the soak "
        f"database (web + worker + this script), sampled every {args.sample_seconds:g} s"
    )
    print("  t(s)   RSS MiB  PG conns  clips")
    step = max(1, len(samples) // 20)
    for sample in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        print(
            f"  {sample.seconds:6.0f} {sample.rss_mib:8.0f} {sample.pg_connections:9d}"
            f" {sample.clips:6d}"
        )
    print(f"all acknowledged stored {stored_lag:.1f} s after the soak's end")
    print(f"verification            {checks}")
    print(f"device errors           {len(totals.errors)} {totals.errors[:5]}", flush=True)


if __name__ == "__main__":
    main()
