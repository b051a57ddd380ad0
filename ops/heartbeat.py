"""Heartbeats of the background processes, for /readyz (backend/operations/services/readiness.py).

Each worker and the scheduler touch a file named after their role, host and pid in
`<FV_STAGING_DIR>/.heartbeats/` — the directory every web process and worker already share
(ops/README.md) — at most every BEAT_SECONDS. A web process is ready only when some worker and
some scheduler touched theirs recently. Django-free: the scheduler runs without Django.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

BEAT_SECONDS = 10.0
DIRECTORY = ".heartbeats"


def staging_dir_from_env(environ: dict[str, str] | None = None) -> Path:
    """FV_STAGING_DIR as the settings resolve it (backend/config/settings/base.py)."""
    env = os.environ if environ is None else environ
    if env.get("FV_STAGING_DIR"):
        return Path(env["FV_STAGING_DIR"])
    var = env.get("FV_VAR_DIR") or str(Path(__file__).resolve().parents[1] / "var")
    return Path(var) / "staging"


class Heartbeat:
    def __init__(self, role: str, staging_dir: Path) -> None:
        self.path = staging_dir / DIRECTORY / f"{role}-{socket.gethostname()}-{os.getpid()}"
        self.last = 0.0

    def beat(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < BEAT_SECONDS:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
            self.last = now
        except OSError:  # a full or missing disk must not stop the process; /readyz says so
            pass

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


def freshest_age(staging_dir: Path, role: str) -> float | None:
    """Seconds since the freshest heartbeat of `role` (None: none at all)."""
    directory = staging_dir / DIRECTORY
    try:
        stamps = [entry.stat().st_mtime for entry in directory.glob(f"{role}-*")]
    except OSError:
        return None
    return max(time.time() - max(stamps), 0.0) if stamps else None
