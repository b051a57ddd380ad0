import datetime
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.audit.services import Actor
from backend.config.errors import FieldVaultError
from backend.enforcement.services import record_list_import


class Command(BaseCommand):
    help = (
        "Import a record list version (音像记录事项清单, CSV UTF-8/BOM/GBK or XLSX in the "
        "official columns, as shared/data/record_list.csv) in force from --effective-from."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--effective-from",
            required=True,
            type=datetime.date.fromisoformat,
            help="YYYY-MM-DD: activities from this day on are judged by this version",
        )
        parser.add_argument("--name", default="")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            report = record_list_import(
                source=path,
                effective_from=options["effective_from"],
                actor=Actor.system(),
                name=options["name"],
            )
        except FieldVaultError as exc:
            if options["json"]:
                self.stdout.write(json.dumps(exc.as_body(), ensure_ascii=False))
            raise CommandError(
                f"{exc.message} ({exc.code}) {json.dumps(exc.details, ensure_ascii=False)}"
            ) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(
            f"record list {report.record_list_id} from {report.effective_from}: "
            f"{report.rules_created} rules, {len(report.row_errors)} row errors, "
            f"{len(report.warnings)} warnings"
        )
        for issue in report.row_errors:
            self.stdout.write(f"  error line {issue.get('line')}: {issue.get('message')}")
        for issue in report.warnings:
            self.stdout.write(f"  warning line {issue.get('line')}: {issue.get('message')}")
