"""`manage.py staging_reclaim_abandoned`: free the staging space of abandoned uploads.

Terminates receiving uploads that made no progress for FV_STAGING_ABANDON_DAYS (or
`--days`) and uploads past their expiry, and deletes their staged bytes. A complete
upload (verified or stored clip) is never touched. Run by the scheduler every interval.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sync.uploads import staging_reclaim_abandoned, uploads_expire


class Command(BaseCommand):
    help = "Reclaim the staging space of abandoned and expired partial uploads."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help="Idle days (default FV_STAGING_ABANDON_DAYS)"
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        reclaimed = staging_reclaim_abandoned(days=days)
        expired = uploads_expire()
        report = {"abandoned_reclaimed": len(reclaimed), "expired": expired}
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(
                f"reclaimed {len(reclaimed)} abandoned and {expired} expired partial uploads"
            )
