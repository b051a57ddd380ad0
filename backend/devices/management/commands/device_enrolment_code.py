import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.accounts.models import Officer
from backend.audit.services import Actor
from backend.config.errors import FieldVaultError
from backend.devices.models import DeviceKind
from backend.devices.services import enrolment_code_issue


class Command(BaseCommand):
    help = "Issue a one-time enrolment code that a device redeems at POST /api/sync/v1/enrol."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=list(DeviceKind.values))
        parser.add_argument(
            "--serial",
            default="",
            help="the one device it enrols (default: any device of the kind not yet registered)",
        )
        parser.add_argument("--officer", help="certificate number of the officer who holds it")
        parser.add_argument("--hours", type=int, default=24)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        officer = None
        if options["officer"]:
            officer = Officer.objects.filter(certificate_number=options["officer"]).first()
            if officer is None:
                raise CommandError(f"no officer with certificate number {options['officer']}")
        try:
            code = enrolment_code_issue(
                kind=options["kind"],
                serial=options["serial"],
                officer=officer,
                actor=Actor.system(),
                valid_for=datetime.timedelta(hours=options["hours"]),
            )
        except FieldVaultError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        if options["json"]:
            self.stdout.write(json.dumps({"code": code, "expires_in_hours": options["hours"]}))
        else:
            self.stdout.write(f"enrolment code (single use, {options['hours']} h): {code}")
