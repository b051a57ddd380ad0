"""The `stored` commit is synced (synchronous=FULL) on the embedded SQLite database, every
other commit keeps NORMAL: checked on a real SQLite connection through manage.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from django.db import connection, transaction
from backend.footage.durability import durable_atomic

def level():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        return cursor.fetchone()[0]

seen = {"before": level()}
with durable_atomic():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS probe (i INTEGER)")
        cursor.execute("INSERT INTO probe VALUES (1)")
    seen["inside"] = level()
seen["after"] = level()
with transaction.atomic():
    with durable_atomic():  # nested: the outer transaction's commit decides, no error
        seen["nested"] = level()
try:
    with durable_atomic():
        raise RuntimeError("rolled back")
except RuntimeError:
    pass
seen["after_error"] = level()
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM probe")
    seen["rows"] = cursor.fetchone()[0]
print(json.dumps(seen))
"""


def test_stored_commits_with_full_and_everything_else_with_normal(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fv.sqlite3'}",
        "FV_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # SQLite's levels: 1 NORMAL, 2 FULL.
    assert seen == {
        "before": 1,
        "inside": 2,
        "after": 1,
        "nested": 1,
        "after_error": 1,
        "rows": 1,
    }
