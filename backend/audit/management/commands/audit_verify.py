from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backend.audit.services import audit_verify


class Command(BaseCommand):
    help = "Verify the audit hash chain; exits non-zero when an entry was edited or deleted."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if report.intact:
            self.stdout.write(
                self.style.SUCCESS(
                    f"audit chain intact: {report.checked} entries, head #{report.head_sequence} "
                    f"{report.head_hash}"
                )
            )
            return
        for problem in report.problems:
            self.stderr.write(problem)
        raise CommandError(
            f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.checked} entries"
        )
