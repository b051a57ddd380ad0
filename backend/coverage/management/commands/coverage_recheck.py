import datetime
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from backend.coverage.services import RECHECK_CHUNK, coverage_recheck_range


class Command(BaseCommand):
    help = (
        "Re-link and re-check every activity that started between --from and --to "
        "(inclusive days, Asia/Shanghai), or every activity judged by --rule ID. "
        "In chunks of --chunk-size activities (one transaction each)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", type=datetime.date.fromisoformat)
        parser.add_argument("--to", dest="date_to", type=datetime.date.fromisoformat)
        parser.add_argument(
            "--rule", dest="rule_id", type=int, help="only activities judged by this rule"
        )
        parser.add_argument(
            "--chunk-size", type=int, default=RECHECK_CHUNK, help="activities per transaction"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rule_id"] is None and (
            options["date_from"] is None or options["date_to"] is None
        ):
            raise CommandError("give --from and --to, or --rule")
        if (
            options["date_from"]
            and options["date_to"]
            and options["date_to"] < options["date_from"]
        ):
            raise CommandError("--to is before --from")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        zone = timezone.get_default_timezone()
        start = (
            datetime.datetime.combine(options["date_from"], datetime.time.min, tzinfo=zone)
            if options["date_from"]
            else None
        )
        end = (
            datetime.datetime.combine(
                options["date_to"] + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
            )
            if options["date_to"]
            else None
        )
        began = time.monotonic()
        show = not options["no_progress"]

        def progress(done: int, total: int) -> None:
            if not show or (done % 20 and done != total):
                return
            width = 30
            filled = width * done // total
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r[{bar}] {done}/{total} ({time.monotonic() - began:.1f}s)")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

        count = coverage_recheck_range(
            start=start,
            end=end,
            rule_id=options["rule_id"],
            progress=progress,
            chunk_size=options["chunk_size"],
        )
        self.stdout.write(f"re-checked {count} activities in {time.monotonic() - began:.1f}s")
