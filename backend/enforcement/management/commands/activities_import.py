import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.audit.services import Actor
from backend.config.errors import FieldVaultError
from backend.enforcement.services import activities_import


class Command(BaseCommand):
    help = "Import activities (CSV/XLSX; see enforcement.services.activities_import)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            report = activities_import(source=path, actor=Actor.system(), file_name=path.name)
        except FieldVaultError as exc:
            for error in exc.details.get("errors", []):
                self.stderr.write(f"  {error['message']}")
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(
            f"created {report.created}, existing {report.existing}, "
            f"flagged {len(report.flagged)}, errors {len(report.errors)}"
        )
        for error in report.errors:
            self.stdout.write(f"  error line {error['line']}: {error['message']}")
