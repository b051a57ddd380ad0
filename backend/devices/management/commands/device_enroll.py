import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.accounts.models import Officer, Unit
from backend.audit.services import Actor
from backend.config.errors import FieldVaultError
from backend.devices.models import DeviceKind
from backend.devices.services import device_enroll, tls_ca_pem


class Command(BaseCommand):
    help = "Enrol a device and print its credential (shown once; only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=list(DeviceKind.values))
        parser.add_argument("--serial", required=True)
        parser.add_argument("--officer", help="certificate number of the officer who holds it")
        parser.add_argument(
            "--unit",
            help="the unit's exact name (a dock, 采集工作站, must belong to one: it syncs "
            "that unit's cameras only)",
        )
        parser.add_argument("--model", default="")
        parser.add_argument("--firmware", default="")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        officer = None
        if options["officer"]:
            officer = Officer.objects.filter(certificate_number=options["officer"]).first()
            if officer is None:
                raise CommandError(f"no officer with certificate number {options['officer']}")
        unit = None
        if options["unit"]:
            units = list(Unit.objects.filter(name=options["unit"])[:2])
            if len(units) != 1:
                raise CommandError(f"no single unit named {options['unit']}")
            unit = units[0]
        if options["kind"] == DeviceKind.DOCK and unit is None and officer is None:
            raise CommandError("a dock must belong to a unit: pass --unit")
        try:
            enrolment = device_enroll(
                kind=options["kind"],
                serial=options["serial"],
                officer=officer,
                unit=unit,
                model_name=options["model"],
                firmware=options["firmware"],
                actor=Actor.system(),
            )
        except FieldVaultError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        result = {"device_id": str(enrolment.device.pk), "token": enrolment.token}
        if options["json"]:
            # The installer hands the device the CA to pin too (null: none configured).
            self.stdout.write(json.dumps({**result, "tls_ca_pem": tls_ca_pem()}))
        else:
            self.stdout.write(
                f"device {result['device_id']} enrolled; token (shown once): {result['token']}"
            )
