"""Recount every maintained aggregate from its raw rows and prove it equal to the kept rows:
the monthly coverage figures (coverage UnitMonth/OfficerMonth, read by the coverage
reports page) and the yearly publication tallies (PublicationTally, read by the yearly
report). Spans two apps, hence here (the composition root).

``--check`` only compares: prints the differences and exits 1 when there are any (for a
periodic job or a deploy step). Without it the kept rows are replaced by the recount and
the differences found before are printed (there should be none: a difference is a defect
of the path that should have kept the rows current). Output: one JSON object.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backend.coverage.services.aggregates import monthly_counts_check, monthly_counts_rebuild
from backend.publication.services.tallies import kept, recount, tallies_rebuild

SHOWN = 20


def _tally_differences() -> list[dict[str, Any]]:
    truth, have = recount(), kept()
    return [
        {"key": list(key), "kept": have.get(key, 0), "recounted": truth.get(key, 0)}
        for key in sorted(set(truth) | set(have))
        if have.get(key, 0) != truth.get(key, 0)
    ]


class Command(BaseCommand):
    help = (
        "Recount the maintained aggregates (coverage by month, publication tallies) and "
        "prove them equal to the kept rows; --check compares only and exits 1 on a difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="compare only; exit 1 on any difference"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["check"]:
            found, rows = monthly_counts_check()
            tallies = _tally_differences()
            tally_rows = len(recount())
        else:
            found, rows = monthly_counts_rebuild()
            tallies = _tally_differences()
            _equal, tally_rows = tallies_rebuild()
        report = {
            "mode": "check" if options["check"] else "rebuild",
            "coverage_monthly": {
                "rows": rows,
                "equal": not found,
                "differences": len(found),
                "shown": [d.as_dict() for d in found[:SHOWN]],
            },
            "publication_tallies": {
                "rows": tally_rows,
                "equal": not tallies,
                "differences": len(tallies),
                "shown": tallies[:SHOWN],
            },
            "seconds": round(time.monotonic() - started, 2),
        }
        self.stdout.write(json.dumps(report, ensure_ascii=False))
        if options["check"] and (found or tallies):
            raise SystemExit(1)
