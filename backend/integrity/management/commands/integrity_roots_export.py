from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.integrity.services.publishing import PublicationConflict, roots_export


class Command(BaseCommand):
    help = (
        "Write every day statement, its RFC 3161 token and the TSA CA certificate into a "
        "directory (for a notary or a higher authority). Files already there are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["directory"]
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{directory} is not a directory")
        try:
            written = roots_export(directory)
        except PublicationConflict as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{len(written)} file(s) written to {directory}")
