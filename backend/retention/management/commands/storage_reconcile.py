from __future__ import annotations

import argparse
import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from backend.retention.models import ReconciliationTrigger, StorageReconciliation
from backend.retention.reconcile import storage_reconcile


class Command(BaseCommand):
    help = (
        "Compare every stored recording (key, VersionId, SHA-256) with the originals bucket "
        "and list the objects no recording knows; verify the audit chain. Run it after every "
        "restore. Exits 1 unless the result is clean."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--trigger",
            choices=[choice.value for choice in ReconciliationTrigger],
            default=ReconciliationTrigger.MANUAL.value,
        )
        parser.add_argument(
            "--rehash", type=int, default=5, help="recordings re-read whole and re-hashed"
        )
        parser.add_argument(
            "--reattach",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="re-attach objects no recording knows (default: with --trigger after_restore)",
        )
        parser.add_argument(
            "--due-days",
            type=float,
            default=0,
            help="do nothing when a reconciliation finished less than this many days ago "
            "(the scheduler's weekly pass: --due-days 7)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["due_days"] > 0:
            since = timezone.now() - datetime.timedelta(days=options["due_days"])
            if StorageReconciliation.objects.filter(finished_at__gte=since).exists():
                self.stdout.write("reconciliation not due")
                return
        run = storage_reconcile(
            trigger=options["trigger"],
            rehash_sample=options["rehash"],
            reattach=options["reattach"],
        )
        self.stdout.write(
            f"recordings_checked={run.recordings_checked} ok={run.recordings_ok} "
            f"objects_listed={run.objects_listed} rehashed={run.rehashed} "
            f"missing={run.missing_count} mismatch={run.mismatch_count} "
            f"orphans={run.orphan_count} reattached={run.reattached_count} "
            f"audit_events={run.audit_events_checked} "
            f"audit_chain_intact={run.audit_chain_intact}"
        )
        for problem in run.problems:
            self.stdout.write(f"PROBLEM {problem}")
        for orphan in run.orphans:
            self.stdout.write(f"ORPHAN {orphan}")
        if not run.is_clean:
            raise SystemExit(1)
        self.stdout.write("reconciliation clean")
