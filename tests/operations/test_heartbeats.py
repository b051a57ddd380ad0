"""/readyz names the worker and the scheduler: the real `manage.py fieldvault_worker` and
`python -m ops.scheduler` touch their heartbeats in the shared staging directory while they
run; none, or only stale ones, make the web process not ready with a precise reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from ops.heartbeat import Heartbeat, freshest_age

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


def _checks() -> dict[str, Any]:
    body: dict[str, Any] = Client().get("/readyz").json()
    return body["checks"]


def _wait(predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("not reached in time")


def test_stale_or_missing_heartbeats_are_named(staging_dir: Path, settings: Any) -> None:
    assert _checks()["worker"]["reason"] == "no_worker_heartbeat"
    beat = Heartbeat("scheduler", staging_dir)
    beat.beat(force=True)
    assert _checks()["scheduler"]["ok"] is True
    old = time.time() - settings.FV_READY_HEARTBEAT_SECONDS - 5
    os.utime(beat.path, (old, old))
    assert _checks()["scheduler"]["reason"] == "scheduler_heartbeat_stale"
    assert str(staging_dir) not in str(_checks())


def test_real_worker_and_scheduler_beat_and_stop(staging_dir: Path, tmp_path: Path) -> None:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        "FV_STAGING_DIR": str(staging_dir),
        "FV_VAR_DIR": str(tmp_path / "var"),
        "FV_S3_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "fieldvault_worker", "--redrive-seconds", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "ops.scheduler", "--interval-seconds", "3600", "--pass", "check"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: freshest_age(staging_dir, "worker") is not None)
        _wait(lambda: freshest_age(staging_dir, "scheduler") is not None)
        checks = _checks()
        assert checks["worker"]["ok"] and checks["scheduler"]["ok"], checks
    finally:
        for process in (worker, scheduler):
            process.send_signal(signal.SIGTERM)
        for process in (worker, scheduler):
            process.wait(timeout=60)
    # A process that stops takes its heartbeat with it: not ready at once, not in a minute.
    checks = _checks()
    assert checks["worker"]["reason"] == "no_worker_heartbeat", checks
    assert checks["scheduler"]["reason"] == "no_scheduler_heartbeat", checks
