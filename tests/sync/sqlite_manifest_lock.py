"""Run by tests/sync/test_manifest_sqlite_lock.py in a process of its own, on a fresh SQLite
file (the embedded stack's database): a 20,000-clip manifest while another connection (the
worker's part) writes every few milliseconds. Prints what the writer waited, as JSON.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 FV_VAR_DIR=/tmp python -m tests.sync.sqlite_manifest_lock
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import sys
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.base")


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from backend.devices.models import Device
    from sync.schemas import ClipIn
    from sync.services import manifest_sync

    assert connection.vendor == "sqlite"
    call_command("migrate", verbosity=0)
    clips_count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    writer_timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    device = Device.objects.create(kind="body_camera", serial="SQLITE-LOCK", state="active")
    start = datetime.datetime(2026, 3, 1, 9, tzinfo=datetime.UTC)
    clips = [
        ClipIn(
            clip_id=f"clip-{i:05d}",
            file_name=f"clip-{i:05d}.mp4",
            size=1000 + i,
            sha256=f"{i:064x}",
            recorded_start=start + datetime.timedelta(minutes=i),
            recorded_end=start + datetime.timedelta(minutes=i, seconds=30),
            media_kind="video",
        )
        for i in range(clips_count)
    ]
    path = connection.settings_dict["NAME"]
    stop = threading.Event()
    waits: list[float] = []
    errors: list[str] = []

    def writer() -> None:
        # A separate connection, as the worker's process has: a short write per round.
        db = sqlite3.connect(path, timeout=writer_timeout, isolation_level=None)
        try:
            while not stop.is_set():
                began = time.monotonic()
                try:
                    db.execute("BEGIN IMMEDIATE")
                    db.execute(
                        "UPDATE devices_device SET last_seen_at = ? WHERE id = ?",
                        (datetime.datetime.now(datetime.UTC).isoformat(), device.pk.hex),
                    )
                    db.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    errors.append(str(exc))
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                waits.append(time.monotonic() - began)
                time.sleep(0.005)
        finally:
            db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.2)
    began = time.monotonic()
    answer = manifest_sync(
        device=device, device_time=datetime.datetime.now(datetime.UTC), clips=clips
    )
    manifest_seconds = time.monotonic() - began
    stop.set()
    thread.join()
    print(
        json.dumps(
            {
                "clips": len(answer.clips),
                "missing": sum(1 for c in answer.clips if c.status == "missing"),
                "manifest_seconds": round(manifest_seconds, 3),
                "writer_rounds": len(waits),
                "writer_max_wait_seconds": round(max(waits), 3),
                "writer_errors": errors[:3],
            }
        )
    )


if __name__ == "__main__":
    main()
