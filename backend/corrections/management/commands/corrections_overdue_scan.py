"""Raise overdue alerts for scheduled check-ins, visits, talks and phone reports (daily)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backend.corrections.services import overdue_scan


class Command(BaseCommand):
    help = "Raise overdue alerts (逾期提醒) for missed scheduled contacts; safe to repeat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", type=datetime.date.fromisoformat, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        raised = overdue_scan(today=options["today"])
        self.stdout.write(f"raised {len(raised)} alert(s)")
