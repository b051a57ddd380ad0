"""Rebuild the yearly publication tallies from the items and say whether the kept counts
equalled the recount (they should: a difference is a defect to report)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from backend.publication.services.tallies import tallies_rebuild


class Command(BaseCommand):
    help = "Rebuild the publication tallies (统计年报) and prove them equal to a recount."

    def handle(self, *args: Any, **options: Any) -> None:
        equal, rows = tallies_rebuild()
        self.stdout.write(json.dumps({"equal_before": equal, "rows": rows}))
