from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.retention.replication import (
    originals_replicate,
    replica_target_label,
    replication_configured,
    replication_lag,
)
from media.object_store import ObjectStoreError


class Command(BaseCommand):
    help = (
        "Copy every stored original not yet at the second site there, under the same "
        "COMPLIANCE lock, and let the replicas' locks and legal holds follow the originals'. "
        "Does nothing when FV_ORIGINALS_REPLICA_BUCKET is empty (one site). Exits 1 when a "
        "copy failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="originals per pass")
        parser.add_argument("--seconds", type=float, default=50, help="time budget per pass")

    def handle(self, *args: Any, **options: Any) -> None:
        if not replication_configured():
            self.stdout.write("originals kept on one site (FV_ORIGINALS_REPLICA_BUCKET empty)")
            return
        try:
            report = originals_replicate(limit=options["limit"], seconds=options["seconds"])
        except ObjectStoreError as exc:
            raise CommandError(str(exc)) from exc
        lag = replication_lag()
        self.stdout.write(
            f"replicated to {replica_target_label()}: copied={report.copied} "
            f"already_present={report.already_present} locks_extended={report.locks_extended} "
            f"holds_changed={report.holds_changed} failed={len(report.failed)} "
            f"pending={lag.pending} lag_seconds={lag.lag_seconds:g}"
        )
        for failure in report.failed[:20]:
            self.stdout.write(f"  failed: {failure}")
        if report.failed:
            raise CommandError(f"{len(report.failed)} originals not replicated")
