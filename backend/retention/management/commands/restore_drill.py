from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.retention.backups import restore_drill, restore_drill_continuous


class Command(BaseCommand):
    help = (
        "Restore a backup into a scratch database and verify its hash and audit chain. "
        "Exits 1 when the backup is corrupted or the chain does not verify."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "backup", type=Path, nargs="?", help="the dump file or its .json manifest"
        )
        parser.add_argument(
            "--continuous",
            action="store_true",
            help="restore from the continuous backup (Litestream replica) instead of a dump",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["continuous"]:
            report = restore_drill_continuous()
        elif options["backup"] is None:
            raise CommandError("name a dump or its manifest, or pass --continuous")
        else:
            report = restore_drill(backup=options["backup"])
        self.stdout.write(
            f"hash_ok={report.hash_ok} restored={report.restored} "
            f"audit_events={report.events_checked} head_found={report.head_found}"
        )
        for problem in report.problems:
            self.stdout.write(f"PROBLEM {problem}")
        if not report.ok:
            raise SystemExit(1)
        self.stdout.write("restore drill passed")
