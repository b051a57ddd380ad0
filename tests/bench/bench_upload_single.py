"""Benchmark: one 1 GiB tus upload by `curl -X PATCH -T file`, against same-run references.

    .venv/bin/python tests/bench/bench_upload_single.py [--size-mib 1024] [--rounds 3]

The server is the real endpoint (uvicorn subprocess, Django store on PostgreSQL, a
device enrolled and the clip announced through the manifest service). Each round runs
the three measurements back to back, so they see the same disk and page-cache state:

  * dd if=/dev/zero of=X bs=1M count=N conv=fdatasync   (write + flush reference)
  * hashlib SHA-256 over the upload file in 1 MiB reads  (hash reference)
  * the upload: curl PATCH of the whole file (written once, hashed, fsynced, verified)
  * the floor of the HTTP server itself: the same curl PATCH to a bare uvicorn app that
    reads and drops the body (no write, no hash)

It prints MB/s per round, the medians, the ratio of the upload to the slower reference
(goal >= 80 %), the server CPU seconds per GiB, and the server's RSS growth during the
upload (goal < 100 MB).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

MiB = 1024 * 1024
MB = 1_000_000
PREFIX = "/api/sync/v1/uploads"
DB_NAME = "fieldvault_bench_tus"


def _pg_url(name: str) -> str:
    return os.environ.get("FV_BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{name}")


def server_env(work: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "DATABASE_URL": _pg_url(DB_NAME),
        "FV_VAR_DIR": str(work / "var"),
        "FV_STAGING_DIR": str(work / "staging"),
        # Storage to S3 is not what is measured: a closed port makes it fail at once
        # (the recording stays verified and staged, as when S3 is down).
        "FV_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "FV_LOG_LEVEL": "ERROR",
    }


def django_setup(work: Path) -> None:
    """Point this process at the bench database (created and migrated if needed)."""
    os.environ.update(server_env(work))
    exists = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname='{DB_NAME}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def announce(files: list[Path]) -> tuple[str, list[str]]:
    """Enrol a device and announce the files as clips; (token, upload paths)."""
    from backend.audit.services import Actor
    from backend.devices.services import device_enroll
    from sync.schemas import ClipIn
    from sync.services import manifest_sync

    enrolment = device_enroll(
        kind="body_camera", serial=f"BENCH-{os.getpid()}-{time.time_ns()}", actor=Actor.system()
    )
    now = datetime.datetime.now(datetime.UTC)
    digests = {path: sha256_file(path)[0] for path in set(files)}
    clips = [
        ClipIn(
            clip_id=f"bench-{time.time_ns()}-{index}",
            file_name=path.name,
            size=path.stat().st_size,
            sha256=digests[path],
            recorded_start=now - datetime.timedelta(minutes=10),
            recorded_end=now - datetime.timedelta(minutes=5),
            media_kind="video",
        )
        for index, path in enumerate(files)
    ]
    answer = manifest_sync(device=enrolment.device, device_time=now, clips=clips)
    urls = [clip.upload_url for clip in answer.clips]
    assert all(urls), answer
    return enrolment.token, [str(url) for url in urls]


def upload_state(url: str) -> tuple[str, str, str]:
    """(upload state, received sha256, declared sha256) straight from the database."""
    import uuid

    from sync.models import Upload

    upload = Upload.objects.get(pk=uuid.UUID(url.rsplit("/", 1)[1]))
    return upload.state, upload.received_sha256, upload.declared_sha256


def drain_app() -> Any:
    """uvicorn factory: an ASGI app that only reads and drops request bodies (the floor)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def make_file(path: Path, size: int) -> Path:
    if path.exists() and path.stat().st_size == size:
        return path
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            block = os.urandom(min(8 * MiB, remaining))
            handle.write(block)
            remaining -= len(block)
    return path


def sha256_file(path: Path) -> tuple[str, float]:
    started = time.perf_counter()
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(MiB):
            hasher.update(block)
    return hasher.hexdigest(), time.perf_counter() - started


def dd_seconds(target: Path, size: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={size // MiB}", "conv=fdatasync"],
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def curl_patch(
    base_url: str, path: str, token: str, file: Path, offset: int = 0
) -> tuple[int, float]:
    """(HTTP status, seconds) of one PATCH of the whole file, streamed by curl."""
    completed = subprocess.run(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{time_total}",
            "-X",
            "PATCH",
            "-H",
            "Tus-Resumable: 1.0.0",
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            f"Upload-Offset: {offset}",
            "-H",
            "Content-Type: application/offset+octet-stream",
            "-H",
            "Expect:",
            "-T",
            str(file),
            base_url + path,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    status, seconds = completed.stdout.split()
    return int(status), float(seconds)


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        from sync.tus.testing import rss_kib

        while not self.stopped.is_set():
            self.peak = max(self.peak, rss_kib(self.pid)[0])
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    args = parser.parse_args()
    size = args.size_mib * MiB
    work = args.work or Path(tempfile.mkdtemp(prefix="fv-bench-upload-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    django_setup(work)
    from sync.tus.testing import UvicornServer, cpu_seconds, rss_kib

    source = make_file(work / "clip.bin", size)
    print(f"file: {source} ({size / MB:.0f} MB), rounds: {args.rounds}, scratch: {work}")
    token, urls = announce([source] * args.rounds)
    results: dict[str, list[float]] = {"dd": [], "sha256": [], "upload": [], "drain": []}
    cpu: dict[str, list[float]] = {"upload": [], "drain": []}
    rss_growth: list[float] = []
    drain = UvicornServer(
        factory="bench_upload_single:drain_app", env={}, app_dir=Path(__file__).parent
    )
    with (
        drain,
        UvicornServer(
            factory="sync.tus.app:django_app_factory",
            env=server_env(work),
            log_path=work / "server.log",
        ) as server,
    ):
        for round_index, url in enumerate(urls):
            dd = dd_seconds(work / "dd.bin", size)
            digest, hash_seconds = sha256_file(source)
            cpu_before = cpu_seconds(drain.pid)
            _status, drain_seconds = curl_patch(drain.url, "/", token, source)
            cpu["drain"].append((cpu_seconds(drain.pid) - cpu_before) / (size / 2**30))
            baseline = rss_kib(server.pid)[0]
            sampler = RssSampler(server.pid)
            sampler.start()
            cpu_before = cpu_seconds(server.pid)
            status, upload_seconds = curl_patch(server.url, url, token, source)
            cpu["upload"].append((cpu_seconds(server.pid) - cpu_before) / (size / 2**30))
            sampler.stopped.set()
            sampler.join()
            state, received, declared = upload_state(url)
            ok = status == 204 and state == "complete" and received == declared == digest
            growth = max(sampler.peak - baseline, 0) / 1024
            results["dd"].append(size / dd / MB)
            results["sha256"].append(size / hash_seconds / MB)
            results["upload"].append(size / upload_seconds / MB)
            results["drain"].append(size / drain_seconds / MB)
            rss_growth.append(growth)
            print(
                f"round {round_index + 1}: dd {results['dd'][-1]:6.1f} | sha256 "
                f"{results['sha256'][-1]:6.1f} | upload {results['upload'][-1]:6.1f} "
                f"(HTTP {status}, {state}, sha {'ok' if ok else 'WRONG'}, "
                f"{cpu['upload'][-1]:.2f} CPU-s/GiB) | bare-uvicorn drain "
                f"{results['drain'][-1]:6.1f} ({cpu['drain'][-1]:.2f} CPU-s/GiB) MB/s"
                f" | RSS +{growth:.1f} MB"
            )
            if not ok:
                raise SystemExit("upload failed or hash differs: see " + str(work / "server.log"))
            # Free the disk for the next round (verified copies stay staged otherwise).
            for staged in (work / "staging").rglob("*.part"):
                staged.unlink()
        hwm = rss_kib(server.pid)[1] / 1024
    medians = {name: statistics.median(values) for name, values in results.items()}
    slower = min(medians["dd"], medians["sha256"])
    ratio = medians["upload"] / slower
    print()
    print(f"median dd conv=fdatasync : {medians['dd']:7.1f} MB/s")
    print(f"median hashlib sha256     : {medians['sha256']:7.1f} MB/s")
    print(f"median upload (curl PATCH): {medians['upload']:7.1f} MB/s")
    print(f"upload / slower reference : {ratio * 100:5.1f} %  (goal >= 80 %)")
    print(
        f"bare uvicorn drain floor  : {medians['drain']:7.1f} MB/s; upload / floor "
        f"{medians['upload'] / medians['drain'] * 100:5.1f} %; server CPU per GiB: upload "
        f"{statistics.median(cpu['upload']):.2f} s, drain {statistics.median(cpu['drain']):.2f} s"
    )
    growth = max(rss_growth)
    print(f"server RSS growth (max)   : {growth:5.1f} MB  (goal < 100 MB); VmHWM {hwm:.0f} MB")


if __name__ == "__main__":
    main()
