"""`manage.py fieldvault_worker`: the django-tasks-db worker loop plus the periodic re-drive.

The job loop is django-tasks-db's own ``Worker`` (claims jobs with SELECT … FOR UPDATE SKIP
LOCKED on PostgreSQL, so N workers on N machines never run one job twice). Because that
queue has no retries and keeps a job RUNNING forever when its worker is killed, a thread
re-drives every ``--redrive-seconds``: verified recordings not yet stored, and recordings
whose processing is due again (back-off passed, lease of a dead worker expired, job lost).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.db import connection
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from backend.footage.processing import recordings_redrive_processing
from backend.footage.services import recordings_redrive_storage
from ops.heartbeat import BEAT_SECONDS, Heartbeat

logger = logging.getLogger("backend.footage.worker")


def redrive_once() -> tuple[int, int]:
    """One re-drive pass; returns (recordings stored, recordings queued for processing)."""
    stored = recordings_redrive_storage()
    queued = recordings_redrive_processing()
    return len(stored), len(queued)


class HeartbeatThread(threading.Thread):
    """Touches this worker's heartbeat file (ops/heartbeat.py) while the process lives."""

    def __init__(self) -> None:
        super().__init__(name="fieldvault-heartbeat", daemon=True)
        self.heartbeat = Heartbeat("worker", settings.FV_STAGING_DIR)

    def run(self) -> None:
        while True:
            self.heartbeat.beat(force=True)
            time.sleep(BEAT_SECONDS)


class Redriver(threading.Thread):
    def __init__(self, every_seconds: float) -> None:
        super().__init__(name="fieldvault-redrive", daemon=True)
        self.every_seconds = every_seconds
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                stored, queued = redrive_once()
                if stored or queued:
                    logger.info("re-drive: %s stored, %s queued for processing", stored, queued)
            except Exception:  # the database or S3 may be down: try again next round
                logger.exception("re-drive pass failed")
            finally:
                connection.close()
            self.stop_event.wait(max(self.every_seconds - (time.monotonic() - started), 0.1))


class Command(DatabaseWorkerCommand):
    help = "Run a FieldVault worker: default, storage and media jobs, plus the periodic re-drive."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--redrive-seconds",
            type=float,
            default=float(settings.FV_WORKER_REDRIVE_SECONDS),
            help="Seconds between re-drive passes; 0 disables the re-drive (default: %(default)s)",
        )
        parser.set_defaults(
            queue_name="default,storage,media",
            reload=False,
            worker_id=f"{socket.gethostname()}-{os.getpid()}"[:64],
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = float(options.pop("redrive_seconds"))
        from sync.uploads import leases_release_at_start

        leases_release_at_start()
        beating = HeartbeatThread()
        beating.start()
        if every > 0:
            Redriver(every).start()
        try:
            super().handle(*args, **options)
        finally:
            beating.heartbeat.remove()
