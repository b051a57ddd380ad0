from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.integrity.services.periodic import integrity_pass


class Command(BaseCommand):
    help = (
        "Seal each finished local day's Merkle root, timestamp unstamped roots (RFC 3161), "
        "publish them and verify a sample of days. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sample", type=int, default=3, help="days to re-verify (default 3)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["sample"] < 0:
            raise CommandError("--sample must be 0 or more")
        outcome = integrity_pass(sample=options["sample"])
        sealed = ", ".join(day.isoformat() for day in outcome.sealed) or "none"
        stamped = ", ".join(day.isoformat() for day in outcome.stamp.stamped) or "none"
        self.stdout.write(f"integrity: sealed {sealed}; stamped {stamped}")
        if outcome.stamp.waiting:
            waiting = ", ".join(day.isoformat() for day in outcome.stamp.waiting)
            self.stderr.write(f"not stamped yet ({outcome.stamp.error}): {waiting}")
        if outcome.published:
            self.stdout.write(f"published {len(outcome.published)} file(s)")
        if not outcome.verification.intact:
            for problem in outcome.verification.problems:
                self.stderr.write(problem)
            raise CommandError(f"integrity BROKEN: {len(outcome.verification.problems)} problem(s)")
