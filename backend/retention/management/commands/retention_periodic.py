from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from backend.retention.periodic import DEFAULT_INTERVAL_SECONDS, retention_periodic

logger = logging.getLogger("backend.retention.periodic")


class Command(BaseCommand):
    help = (
        "Run the retention periodic pass (retention rows, recomputation after activity "
        "changes, lock extensions, paced fixity sweep, due destructions). Once (for cron: "
        "pass the cron spacing as --interval), or forever with --every (a systemd service)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=float,
            default=0,
            help="run in a loop, one pass every this many seconds (0: run once)",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=DEFAULT_INTERVAL_SECONDS,
            help="seconds between runs, used to pace the fixity sweep (default %(default)s)",
        )
        parser.add_argument("--fixity-limit", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        every = float(options["every"])
        interval = every or float(options["interval"])
        while True:
            started = time.monotonic()
            try:
                summary = retention_periodic(
                    fixity_limit=options["fixity_limit"], interval_seconds=interval
                )
                self.stdout.write(str(summary))
            except Exception:  # database or S3 down: log, try again next round
                if not every:
                    raise
                logger.exception("retention periodic pass failed")
            finally:
                connection.close()
            if not every:
                return
            time.sleep(max(every - (time.monotonic() - started), 1.0))
