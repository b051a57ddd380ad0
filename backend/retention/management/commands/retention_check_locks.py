from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backend.retention.services import retention_check_locks, retention_sync_locks


class Command(BaseCommand):
    help = "Report every object whose S3 lock date or legal hold disagrees with the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None)
        parser.add_argument(
            "--fix",
            action="store_true",
            help="extend locks / set legal holds that are behind, then re-check",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fix"]:
            report = retention_sync_locks(limit=options["limit"] or 100_000)
            self.stdout.write(
                f"extended {len(report.extended)}, holds changed "
                f"{len(report.holds_changed)}, failed {len(report.failed)}"
            )
        problems = retention_check_locks(limit=options["limit"])
        for p in problems:
            self.stdout.write(
                f"DISAGREE {p.key} recordings={','.join(p.recording_ids)} "
                f"db_until={p.database_until.isoformat()} "
                f"lock_until={p.object_until.isoformat() if p.object_until else '-'} "
                f"db_held={p.database_held} object_held={p.object_held}: {p.problem}"
            )
        self.stdout.write(f"{len(problems)} disagreement(s)")
        if problems:
            raise SystemExit(1)
