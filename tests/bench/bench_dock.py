"""Benchmark: twelve cameras docked at once, the fieldvault-dock agent against the real
server, vs boto3 putting the same bytes into the same S3 (same run).

    .venv/bin/python tests/bench/bench_dock.py [--cameras 12] [--clips 2] [--mib 8]

Scaled to this 2-core machine (12 cameras x 2 clips x 8 MiB = 192 MiB by default; a
real shift is GBs). Starts its own `weed mini` and a scratch database (bench_stack), the
ASGI server under uvicorn (storing to S3 in its thread, as deployed), and then:

  reference  boto3 put_object of every clip file into the originals bucket, one thread
             per camera (12 at once), wall time from the first to the last put
  agent      `python -m dock_agent run --once` over a root with 12 camera volumes (one
             slot at a time each, 16 worker threads): wall time until every clip is
             `stored` and deleted from its camera (safe to delete) — hashing, manifest,
             tus upload, server verification and the S3 put with Object Lock included

Prints both MB/s, the ratio (goal >= 0.8) and the agent's CPU seconds per GB (its
process's user + system time / GB docked).
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stack import bench_stack  # noqa: E402

MiB = 1024 * 1024


def make_volumes(root: Path, cameras: int, clips: int, mib: int) -> int:
    start = datetime.datetime.now() - datetime.timedelta(hours=3)
    total = 0
    for camera in range(cameras):
        volume = root / f"SLOT{camera + 1:02d}"
        (volume / "DCIM").mkdir(parents=True)
        (volume / "DEVICE.ID").write_text(f"serial=BENCH-{camera:02d}\n")
        for clip in range(clips):
            moment = start + datetime.timedelta(minutes=10 * clip)
            path = volume / "DCIM" / f"{moment:%Y%m%d_%H%M%S}_{clip:04d}.MP4"
            with path.open("wb") as handle:
                for _ in range(mib):
                    handle.write(os.urandom(MiB))
            total += mib * MiB
    old = time.time() - 60
    for path in root.rglob("*.MP4"):
        os.utime(path, (old, old))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=12)
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--mib", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fv-bench-dock-", dir="/var/tmp"))
    with bench_stack("fv_bench_dock"):
        from django.conf import settings

        from backend.audit.services import Actor
        from backend.devices.services import device_enroll
        from backend.footage.models import Recording
        from backend.footage.storage import object_store
        from ops.ports import free_port
        from tests.factories import make_unit

        unit = make_unit("基准测试局")
        token = device_enroll(kind="dock", serial="WS-BENCH", unit=unit, actor=Actor.system()).token
        total = make_volumes(work / "mnt", args.cameras, args.clips, args.mib)
        files = sorted((work / "mnt").rglob("*.MP4"))
        gb = total / 1e9
        print(
            f"{args.cameras} cameras x {args.clips} clips x {args.mib} MiB = {total / 1e6:.0f} MB"
        )

        # Reference: the same bytes, put by boto3 into the same S3, 12 cameras at once.
        store = object_store()
        by_camera: dict[str, list[Path]] = {}
        for path in files:
            by_camera.setdefault(path.parts[-3], []).append(path)

        def put_camera(paths: list[Path]) -> None:
            for path in paths:
                with path.open("rb") as body:
                    store.client.put_object(
                        Bucket=settings.FV_ORIGINALS_BUCKET,
                        Key=f"bench-reference/{uuid.uuid4()}",
                        Body=body,
                    )

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(by_camera)) as pool:
            list(pool.map(put_camera, by_camera.values()))
        reference_s = time.perf_counter() - started

        port = free_port()
        env = {
            **os.environ,
            "FV_STAGING_DIR": str(work / "staging"),
            "FV_VAR_DIR": str(work / "var"),
            "FV_PROCESS_AFTER_STORE": "false",
            "FV_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "backend.config.asgi:application",
             "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
             "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        try:
            import requests

            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    requests.get(url + "/api/openapi.json", timeout=5)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
            config = work / "dock.toml"
            config.write_text(
                f'server = "{url}"\ntoken = "{token}"\nroots = ["{work / "mnt"}"]\n'
                f'journal = "{work / "journal.sqlite3"}"\nprogress = "{work / "progress.jsonl"}"\n'
                "delete_stored = true\nsettle_seconds = 0.2\nwait_stored_seconds = 300\n"
                "chunk_bytes = 8388608\n"
                '[[vendor]]\nname = "bench"\nid_files = ["DEVICE.ID"]\n'
                'id_regex = "serial=(?P<serial>\\\\S+)"\n[[vendor.time_pattern]]\n'
                'regex = "^(?P<start>\\\\d{8}_\\\\d{6})_"\nformat = "%Y%m%d_%H%M%S"\n'
            )
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            agent = subprocess.run(
                [sys.executable, "-m", "dock_agent", "run", "--config", str(config), "--once"],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                timeout=600,
            )
            agent_s = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        finally:
            server.terminate()
            server.wait(timeout=20)
        assert agent.returncode == 0, agent.stderr[-2000:]
        left = list((work / "mnt").rglob("*.MP4"))
        stored = Recording.objects.filter(state="stored").count()
        assert not left and stored == len(files), (len(left), stored, agent.stderr[-2000:])
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        reference = total / 1e6 / reference_s
        measured = total / 1e6 / agent_s
        print(f"reference  boto3 put_object, {len(by_camera)} at once: {reference:7.1f} MB/s")
        print(
            f"agent      docked until all safe to delete:  {measured:7.1f} MB/s ({agent_s:.1f} s)"
        )
        print(f"ratio      agent / reference = {measured / reference:.2f} (goal >= 0.8)")
        print(f"agent CPU  {cpu:.2f} s = {cpu / gb:.1f} CPU-s per GB")


if __name__ == "__main__":
    main()
