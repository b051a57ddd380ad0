import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.accounts.services import officers_import
from backend.audit.services import Actor
from backend.tabular import TableFormatError


class Command(BaseCommand):
    help = (
        "Import the officer roster (CSV or XLSX with Chinese headers, as shared/data/officers.csv)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            report = officers_import(source=path, actor=Actor.system())
        except TableFormatError as exc:
            raise CommandError(f"{exc} ({exc.code}) {exc.details}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(
            f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
            f"flagged {len(report.flagged)}, errors {len(report.errors)}"
        )
        for item in report.flagged:
            self.stdout.write(f"  flagged line {item['line']}: {item['name']} — {item['problem']}")
        for item in report.errors:
            self.stdout.write(f"  error line {item['line']}: {item['error']}")
