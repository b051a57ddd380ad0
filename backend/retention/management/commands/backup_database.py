from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backend.retention.backups import backup_database


class Command(BaseCommand):
    help = (
        "Back up the database (PostgreSQL: pg_dump custom format; SQLite: backup API) with "
        "a JSON manifest holding the dump's SHA-256 and the audit-chain head."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        manifest = backup_database(out_dir=options["out"], using=options["database"])
        data = json.loads(manifest.read_text(encoding="utf-8"))
        self.stdout.write(
            f"{manifest} sha256={data['sha256']} size={data['size']} "
            f"audit_head=#{data['audit_head']['sequence']}"
        )
