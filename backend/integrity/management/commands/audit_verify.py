from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backend.audit.services import audit_verify
from backend.integrity.services.verification import integrity_verify


class Command(BaseCommand):
    help = (
        "Verify the audit hash chain and every sealed day root (recomputed from the database "
        "and checked against its timestamp); exits non-zero when anything was edited."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        days = integrity_verify()
        if report.intact:
            self.stdout.write(
                self.style.SUCCESS(
                    f"audit chain intact: {report.checked} entries, head #{report.head_sequence} "
                    f"{report.head_hash}"
                )
            )
        for problem in report.problems:
            self.stderr.write(problem)
        if days.unstamped:
            self.stdout.write("day roots not timestamped yet: " + ", ".join(days.unstamped))
        if days.intact:
            self.stdout.write(
                self.style.SUCCESS(f"day roots intact: {days.days} days, {days.leaves} leaves")
            )
        for problem in days.problems:
            self.stderr.write(problem)
        if not report.intact or not days.intact:
            raise CommandError(
                f"audit chain BROKEN: {len(report.problems)} problem(s) in {report.checked} "
                f"entries; day roots: {len(days.problems)} problem(s)"
            )
