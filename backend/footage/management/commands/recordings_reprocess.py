"""`manage.py recordings_reprocess [--state damaged|failed|ready|all] [--since DATE] [--queue]`.

Processes stored recordings again (after a media library fix, a new profile, a salvage
reference that now exists). Derivative keys are deterministic, so a re-run replaces
nothing that is identical and duplicates nothing. Runs inline with a progress bar, or with
``--queue`` hands the recordings to the workers.
"""

from __future__ import annotations

import datetime
import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from backend.footage.models import ProcessingState
from backend.footage.processing import recordings_for_reprocess, recordings_reprocess

STATES = ["damaged", "failed", "ready", "pending", "all"]


def parse_since(text: str) -> datetime.datetime:
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise CommandError(f"--since: not a date or date-time: {text!r}")
        moment = datetime.datetime.combine(day, datetime.time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class Command(BaseCommand):
    help = "Process stored recordings again, by processing state and storage date."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--state", choices=STATES, default=ProcessingState.DAMAGED.value)
        parser.add_argument("--since", type=str, default=None, help="YYYY-MM-DD or ISO date-time")
        parser.add_argument(
            "--queue", action="store_true", help="queue for the workers instead of running here"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = parse_since(options["since"]) if options["since"] else None
        ids = recordings_for_reprocess(state=options["state"], since=since)
        total = len(ids)
        self.stdout.write(f"{total} recording(s) to re-process (state={options['state']})")

        def on_progress(done: int, recording_id: uuid.UUID, outcome: str) -> None:
            self.stdout.write(f"{progress_bar(done, total)} {recording_id} {outcome}")
            self.stdout.flush()

        counts = recordings_reprocess(
            recording_ids=ids, inline=not options["queue"], on_progress=on_progress
        )
        summary = ", ".join(f"{word}: {count}" for word, count in sorted(counts.items()))
        self.stdout.write(f"done. {summary or 'nothing to do'}")
