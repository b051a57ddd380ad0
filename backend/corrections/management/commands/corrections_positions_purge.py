"""Purge correction subjects' positions older than FV_POSITION_RETENTION_DAYS (daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backend.corrections.services import positions_purge


class Command(BaseCommand):
    help = (
        "Delete positions (行踪轨迹) recorded before the retention period "
        "(FV_POSITION_RETENTION_DAYS); audited; safe to repeat."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="override the setting")

    def handle(self, *args: Any, **options: Any) -> None:
        result = positions_purge(retention_days=options["days"])
        self.stdout.write(
            f"purged {result.purged} position(s) recorded before {result.cutoff.isoformat()}"
        )
