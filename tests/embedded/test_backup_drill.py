"""Issue 28's drill, small: the real embedded stack (`make run`) with Litestream; the demo
camera syncs its clips (deleting each once told `stored`); the whole stack is killed with
SIGKILL (a power cut) at a random moment after, and the database file is deleted; the
database is restored from the continuous backup in S3 (`python -m ops.litestream restore`)
and reconciled against the originals bucket (`manage.py storage_reconcile`): every clip the
device was told `stored` is there and verified, and nothing else differs."""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops.seaweed import SeaweedServer
from tests.embedded.test_embedded_processes import (  # noqa: F401  (fixture)
    ROOT,
    Embedded,
    embedded_factory,
    wait_until_gone,
)

pytestmark = pytest.mark.integration


def _stack_env(stack: Embedded) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FV_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="backend.config.settings",
        FV_VAR_DIR=str(stack.var),
        FV_S3_ENDPOINT_URL=f"http://127.0.0.1:{stack.s3_port}",
        PYTHONPATH=str(ROOT),
    )
    return env


def test_kill_the_stack_delete_the_database_restore_and_reconcile_clean(
    tmp_path: Path,
    embedded_factory: list[Embedded],  # noqa: F811  (the fixture imported above)
) -> None:
    stack = Embedded(tmp_path)
    embedded_factory.append(stack)
    # The power cut comes within 1.5 s of the device being told `stored` for its last
    # clip: what Litestream had not shipped yet is lost with the disk.
    stack.wait_for_line(r"stored 6, deleted 6, kept \{\}", timeout=300)
    time.sleep(random.uniform(0, 1.5))
    told_stored = re.findall(r"upload (\S+) \(", stack.output)
    assert len(told_stored) == 6
    assert any("starting Litestream" in line for line in stack.lines)
    killed_at = time.time()
    stack.kill_everything()  # SIGKILL to the supervisor and every child: nothing shuts down
    assert wait_until_gone(stack.var) == {}

    database = stack.var / "fieldvault.sqlite3"
    assert database.exists()
    for path in stack.var.glob("fieldvault.sqlite3*"):
        path.unlink()  # the disk under the database is gone

    # SeaweedFS (the originals and the backup bucket) comes back on its own disk.
    weed = SeaweedServer(data_dir=stack.var / "seaweedfs", s3_port=stack.s3_port).start()
    try:
        env = _stack_env(stack)
        restored = subprocess.run(
            [sys.executable, "-m", "ops.litestream", "restore"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert restored.returncode == 0, restored.stderr
        assert "restored" in restored.stdout and database.exists()

        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            before = db.execute(
                "SELECT count(*), max(stored_at) FROM footage_recording WHERE state='stored'"
            ).fetchone()
        print(f"killed at {killed_at:.1f}; restored: {before[0]} stored, last at {before[1]}")

        reconciled = subprocess.run(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "storage_reconcile",
                "--trigger",
                "after_restore",
                "--rehash",
                "6",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        print(reconciled.stdout)
        assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
        assert "reconciliation clean" in reconciled.stdout
        counts = dict(re.findall(r"(\w+)=(\w+)", reconciled.stdout.splitlines()[0]))
        assert counts["objects_listed"] == "6" and counts["orphans"] == "0", counts
        # What the restore lost (if the cut beat Litestream) was re-attached from the
        # objects' metadata; nothing else differs.
        assert int(counts["ok"]) + int(counts["reattached"]) == 6, counts
        assert int(counts["reattached"]) == 6 - before[0], (counts, before)
        assert counts["audit_chain_intact"] == "True"

        with sqlite3.connect(database) as db:
            rows = db.execute(
                "SELECT clip_id, storage_key, storage_version_id, state FROM footage_recording"
            ).fetchall()
        by_clip = {row[0]: row for row in rows}
        # Every clip the device deleted (told `stored`) is known, stored, with key and version.
        assert set(told_stored) <= set(by_clip), (told_stored, rows)
        assert all(by_clip[c][1] and by_clip[c][2] for c in told_stored), rows
        assert all(by_clip[c][3] == "stored" for c in told_stored), rows

        # The monthly drill, from the continuous backup: restore into a scratch file,
        # integrity check, audit chain, head present in the live chain.
        drill = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "restore_drill", "--continuous"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert drill.returncode == 0, drill.stdout + drill.stderr
        assert "restore drill passed" in drill.stdout
    finally:
        weed.stop()
    print(json.dumps({"clips": len(told_stored)}))
