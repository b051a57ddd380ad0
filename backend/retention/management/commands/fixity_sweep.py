from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backend.retention.fixity import fixity_sweep


class Command(BaseCommand):
    help = "Re-read due stored originals (oldest-checked first) and compare their SHA-256."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        report = fixity_sweep(limit=options["limit"])
        self.stdout.write(
            f"checked {report.checked}, ok {report.ok}, failed {len(report.failed)}, "
            f"{report.bytes_read / 1e6:.1f} MB in {report.seconds:.1f} s "
            f"({report.megabytes_per_second:.1f} MB/s), still due {report.overdue_remaining}"
        )
        for failure in report.failed:
            self.stdout.write(f"FAILED {failure}")
        if report.failed:
            raise SystemExit(1)
