import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.accounts.models import Unit
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
        parser.add_argument(
            "--unit",
            help="unit (name) of rows that name none, as in the roster printed in seed 003",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        default_unit = None
        if options["unit"]:
            default_unit = Unit.objects.filter(name=options["unit"]).first()
            if default_unit is None:
                raise CommandError(f"no such unit: {options['unit']}")
        try:
            report = officers_import(source=path, actor=Actor.system(), default_unit=default_unit)
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
            self.stdout.write(f"  error {item['where']}: {item['error']}")
        for warning in report.warnings:
            self.stdout.write(f"  warning: {warning}")
        if report.default_unit_used:
            self.stdout.write(
                f"  rows without 单位 imported into: {', '.join(report.default_unit_used)}"
            )
        if report.errors:
            raise CommandError("nothing imported: the file has errors (see above)")
