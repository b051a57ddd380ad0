from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from backend.retention.periodic import retention_periodic


class Command(BaseCommand):
    help = "Run the retention periodic pass once (locks, fixity, due destructions)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(str(retention_periodic()))
