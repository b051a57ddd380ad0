"""Run FieldVault's periodic passes at fixed intervals: one scheduler per installation.

    .venv/bin/python -m ops.scheduler [--once]

Each pass is an idempotent management command, safe to run twice or on two machines at
once (every pass takes its rows with leases or row locks), so a missed or doubled tick
loses nothing:

  * retention_periodic  every 15 min: lock dates follow policy, a fixity quota sized so
                        the whole archive is re-read within FV_FIXITY_PERIOD_DAYS.
  * fieldwork_periodic  every 15 min: overdue check-ins and visits, activity links,
                        cross-check re-runs, publication deadlines.

The footage re-drive (stranded storage and processing) runs inside every worker
(`fieldvault_worker`), not here. cron or a systemd timer calling the same commands is
equivalent; ops/README.md shows both.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("fieldvault.scheduler")


@dataclass
class Pass:
    command: list[str]
    every_seconds: float
    due_at: float = 0.0


PASSES = [
    Pass(["retention_periodic"], 15 * 60),
    Pass(["fieldwork_periodic"], 15 * 60),
]


def run_pass(scheduled: Pass) -> int:
    began = time.monotonic()
    # A failing pass is logged and runs again at its next tick.
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *scheduled.command], cwd=ROOT, check=False
    )
    logger.info(
        "%s finished with exit code %s in %.1f s",
        " ".join(scheduled.command),
        result.returncode,
        time.monotonic() - began,
    )
    return result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run every pass once and exit")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.once:
        sys.exit(max(run_pass(scheduled) for scheduled in PASSES))

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        now = time.monotonic()
        for scheduled in PASSES:
            if now >= scheduled.due_at and not stopping:
                run_pass(scheduled)
                scheduled.due_at = time.monotonic() + scheduled.every_seconds
        time.sleep(1)


if __name__ == "__main__":
    main()
