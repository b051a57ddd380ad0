"""Run FieldVault's periodic passes at fixed intervals: one scheduler per installation.

    .venv/bin/python -m ops.scheduler [--once] [--interval-seconds N] [--pass COMMAND ...]

Each pass is an idempotent management command, safe to run twice or on two machines at
once (every pass takes its rows with leases or row locks), so a missed or doubled tick
loses nothing:

  * retention_periodic  every 15 min: lock dates follow policy, a fixity quota sized so
                        the whole archive is re-read within FV_FIXITY_PERIOD_DAYS.
  * fieldwork_periodic  every 15 min: overdue check-ins and visits, activity links,
                        cross-check re-runs, publication deadlines.
  * integrity_periodic  every 15 min: seal each finished local day's Merkle root, stamp
                        unstamped roots at the TSA (one that was down is retried), publish
                        them, re-verify a sample of days.
  * storage_reconcile   weekly (a no-op until the last one is 7 days old): the database
                        against the originals bucket; exit 1 (logged) unless clean.
  * replicate_originals every minute, when FV_ORIGINALS_REPLICA_BUCKET names a second
                        site: stored originals copied there under the same COMPLIANCE lock.

The interval is `--interval-seconds`, else FV_SCHEDULER_INTERVAL_SECONDS, else 900. A pass
that fails is logged and runs again at its next tick; the other passes run as planned.
SIGTERM or SIGINT stops the scheduler at once (exit code 0): a pass still running is sent
SIGTERM too (it is idempotent, so the next tick redoes what it did not finish).

The footage re-drive (stranded storage and processing) runs inside every worker
(`fieldvault_worker`), not here. cron or a systemd timer calling the same commands is
equivalent; ops/README.md shows both.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ops.heartbeat import Heartbeat, staging_dir_from_env

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("fieldvault.scheduler")

DEFAULT_INTERVAL_SECONDS = 15 * 60.0
INTERVAL_ENVIRONMENT = "FV_SCHEDULER_INTERVAL_SECONDS"
# How often the scheduler looks at the clock and at a stop request, and how long a pass
# told to stop may take to exit before it is killed.
POLL_SECONDS = 0.2
STOP_GRACE_SECONDS = 10.0


@dataclass
class Pass:
    command: list[str]
    every_seconds: float
    due_at: float = 0.0

    @property
    def name(self) -> str:
        return " ".join(self.command)


def interval_seconds_parse(raw: str) -> float:
    """A positive number of seconds (argparse type, also used for the environment value)."""
    try:
        seconds = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {raw!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"the interval must be positive, got {raw!r}")
    return seconds


def arguments_parse(argv: Sequence[str], environ: Mapping[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run every pass once and exit")
    parser.add_argument(
        "--interval-seconds",
        type=interval_seconds_parse,
        default=None,
        help=f"seconds between runs of each pass (default: {INTERVAL_ENVIRONMENT}, else 900)",
    )
    parser.add_argument(
        "--pass",
        dest="commands",
        action="append",
        default=None,
        metavar="COMMAND",
        help="a management command (with its arguments) to run as a pass; repeatable "
        "(default: retention_periodic, fieldwork_periodic and integrity_periodic)",
    )
    args = parser.parse_args(list(argv))
    if args.interval_seconds is None:
        raw = environ.get(INTERVAL_ENVIRONMENT, "").strip()
        try:
            args.interval_seconds = interval_seconds_parse(raw) if raw else DEFAULT_INTERVAL_SECONDS
        except argparse.ArgumentTypeError as exc:
            parser.error(f"{INTERVAL_ENVIRONMENT}: {exc}")
    return args


REPLICATION_SECONDS = 60.0


def passes_build(
    *,
    interval_seconds: float,
    commands: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Pass]:
    """The passes to run. retention_periodic is told the interval, since it sizes the fixity
    quota so that the whole archive is re-read within the fixity period at that pace."""
    if commands:
        return [Pass(shlex.split(command), interval_seconds) for command in commands]
    environ = os.environ if environ is None else environ
    passes = [
        Pass(["retention_periodic", "--interval", f"{interval_seconds:g}"], interval_seconds),
        Pass(["fieldwork_periodic"], interval_seconds),
        Pass(["integrity_periodic"], interval_seconds),
        Pass(["staging_reclaim_abandoned"], interval_seconds),
        Pass(["storage_reconcile", "--trigger", "scheduled", "--due-days", "7"], interval_seconds),
    ]
    if environ.get("FV_ORIGINALS_REPLICA_BUCKET"):
        # Originals to the second site: every minute, so the lag stays around a minute; the
        # alert fires above FV_ORIGINALS_REPLICA_LAG_ALERT_SECONDS. One site: no pass.
        passes.append(Pass(["replicate_originals"], min(REPLICATION_SECONDS, interval_seconds)))
    return passes


def passes_due(passes: Sequence[Pass], *, now: float) -> list[Pass]:
    return [scheduled for scheduled in passes if now >= scheduled.due_at]


def next_due_at(*, started_at: float, finished_at: float, every_seconds: float) -> float:
    """Ticks keep to the interval from the start of the previous run; a run that took
    longer than the interval is followed at once by one more, not by a burst of catch-ups."""
    return max(started_at + every_seconds, finished_at)


def seconds_until_due(passes: Sequence[Pass], *, now: float) -> float:
    return max(min(scheduled.due_at for scheduled in passes) - now, 0.0) if passes else 0.0


def run_pass(scheduled: Pass, *, stopping: Callable[[], bool] = lambda: False) -> int:
    """Run one pass to its end and return its exit code. When `stopping()` turns true the
    pass is sent SIGTERM and, after STOP_GRACE_SECONDS, killed."""
    began = time.monotonic()
    try:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *scheduled.command], cwd=ROOT
        )
    except OSError:
        logger.exception("%s could not start; it runs again at its next tick", scheduled.name)
        return 1
    told_to_stop_at: float | None = None
    while True:
        try:
            returncode = process.wait(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            pass
        if not stopping():
            continue
        if told_to_stop_at is None:
            logger.info("stopping: sending SIGTERM to %s", scheduled.name)
            process.terminate()
            told_to_stop_at = time.monotonic()
        elif time.monotonic() - told_to_stop_at > STOP_GRACE_SECONDS:
            process.kill()
    elapsed = time.monotonic() - began
    if returncode == 0:
        logger.info("%s finished in %.1f s", scheduled.name, elapsed)
    elif told_to_stop_at is not None:
        logger.info("%s stopped (exit code %s) after %.1f s", scheduled.name, returncode, elapsed)
    else:
        logger.error(
            "%s failed with exit code %s after %.1f s; it runs again at its next tick",
            scheduled.name,
            returncode,
            elapsed,
        )
    return returncode


class Scheduler:
    def __init__(self, passes: list[Pass]) -> None:
        self.passes = passes
        self.stop_requested = False
        self.heartbeat = Heartbeat("scheduler", staging_dir_from_env())

    def request_stop(self, *_: object) -> None:
        self.stop_requested = True

    def _beat_and_check_stop(self) -> bool:
        """Polled while a pass runs: the heartbeat goes on during long passes."""
        self.heartbeat.beat()
        return self.stop_requested

    def run_forever(self) -> None:
        while not self.stop_requested:
            for scheduled in passes_due(self.passes, now=time.monotonic()):
                if self.stop_requested:
                    break
                started_at = time.monotonic()
                try:
                    run_pass(scheduled, stopping=self._beat_and_check_stop)
                except Exception:  # whatever went wrong, the other passes still run
                    logger.exception("%s: the scheduler could not run it", scheduled.name)
                scheduled.due_at = next_due_at(
                    started_at=started_at,
                    finished_at=time.monotonic(),
                    every_seconds=scheduled.every_seconds,
                )
            # Sleep in short steps: a signal does not cut time.sleep short (PEP 475).
            wake_at = time.monotonic() + seconds_until_due(self.passes, now=time.monotonic())
            while not self.stop_requested and time.monotonic() < wake_at:
                self.heartbeat.beat()
                time.sleep(min(POLL_SECONDS, max(wake_at - time.monotonic(), 0.0)))
        self.heartbeat.remove()
        logger.info("scheduler stopped")


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments_parse(sys.argv[1:] if argv is None else argv, os.environ)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    passes = passes_build(interval_seconds=args.interval_seconds, commands=args.commands)
    if args.once:
        sys.exit(max(run_pass(scheduled) for scheduled in passes))
    scheduler = Scheduler(passes)
    signal.signal(signal.SIGTERM, scheduler.request_stop)
    signal.signal(signal.SIGINT, scheduler.request_stop)
    logger.info(
        "scheduler started: %s every %g s",
        ", ".join(scheduled.name for scheduled in passes),
        args.interval_seconds,
    )
    scheduler.run_forever()


if __name__ == "__main__":
    main()
