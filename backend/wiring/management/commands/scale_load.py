"""``manage.py scale_load --county`` / ``--province [--fraction 0.1]``: see
backend/wiring/scale_load.py for what is written and what is not."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.wiring.scale_load import ScaleSize, scale_load


class Command(BaseCommand):
    help = "Load a county's or a province's data (deterministic seed) through COPY."

    def add_arguments(self, parser: CommandParser) -> None:
        size = parser.add_mutually_exclusive_group(required=True)
        size.add_argument("--county", action="store_true", help="1 bureau, 80,000 recordings")
        size.add_argument("--province", action="store_true", help="100 bureaus, 10 M recordings")
        parser.add_argument("--fraction", type=float, default=1.0, help="take this part (0-1]")
        parser.add_argument("--seed", type=int, default=26)
        parser.add_argument("--prefix", default="scale", help="names of units, users, serials")

    def handle(self, *args: Any, **options: Any) -> None:
        fraction = options["fraction"]
        if not 0 < fraction <= 1:
            raise CommandError("--fraction must be in (0, 1]")
        size = ScaleSize.province() if options["province"] else ScaleSize.county()
        size = size.scaled(fraction)
        self.stdout.write(
            f"scale_load: {size.bureaus} bureaus, {size.activities:,} activities, "
            f"{size.recordings:,} recordings (seed {options['seed']})"
        )

        def progress(table: str, done: int, expected: int) -> None:
            width = 30
            filled = int(width * done / expected) if expected else width
            sys.stderr.write(f"\r  {table:<12} [{'#' * filled:<{width}}] {done:,}/{expected:,}")
            sys.stderr.flush()

        report = scale_load(size, seed=options["seed"], prefix=options["prefix"], progress=progress)
        sys.stderr.write("\n")
        for table, rows in report.rows.items():
            self.stdout.write(f"  {table:<12} {rows:>12,}")
        self.stdout.write(
            f"scale_load: {report.total_rows:,} rows in {report.seconds:.1f} s "
            f"({report.rows_per_second:,.0f} rows/s)"
        )
