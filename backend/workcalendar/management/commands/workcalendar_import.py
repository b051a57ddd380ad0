import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.config.errors import FieldVaultError
from backend.workcalendar.models import CalendarSource
from backend.workcalendar.services.entry import calendar_year_enter, rows_from_file


class Command(BaseCommand):
    help = (
        "Enter a year's official holiday arrangement (国务院办公厅关于XXXX年部分节假日安排的通知) "
        "from CSV (UTF-8/BOM/GBK) or XLSX with the columns 日期, 类型 (放假/上班), 名称. "
        "Every provisional deadline is recomputed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--year", required=True, type=int)
        parser.add_argument("--notice", default="", help="the notice's title or number")
        parser.add_argument("--replace", action="store_true", help="replace an entered year")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            report = calendar_year_enter(
                actor=None,
                year=options["year"],
                rows=rows_from_file(path),
                source=CalendarSource.IMPORT,
                notice=options["notice"],
                replace=options["replace"],
            )
        except FieldVaultError as exc:
            lines = [f"{exc.message} ({exc.code})"]
            lines += [str(e["message"]) for e in exc.details.get("errors", [])]
            if not exc.details.get("errors"):
                lines.append(json.dumps(exc.details, ensure_ascii=False))
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(
            f"{report.year}: {report.holidays} holidays, {report.workdays} make-up working days; "
            f"{report.recomputed} provisional deadlines recomputed"
        )
        for warning in report.warnings:
            self.stdout.write(f"  warning: {warning}")
