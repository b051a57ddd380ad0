import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.audit.services import Actor
from backend.devices.models import Device, DeviceKind
from backend.devices.services import device_reenrol


class Command(BaseCommand):
    help = (
        "Replace a known device's credential (the old token stops at once; a revoked device "
        "becomes active again). Audited with the reason. Prints the new token once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=list(DeviceKind.values))
        parser.add_argument("--serial", required=True)
        parser.add_argument("--reason", required=True, help="why (kept in the audit chain)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        device = Device.objects.filter(kind=options["kind"], serial=options["serial"]).first()
        if device is None:
            raise CommandError(f"no {options['kind']} with serial {options['serial']}")
        if not options["reason"].strip():
            raise CommandError("--reason must not be empty")
        enrolment = device_reenrol(device=device, actor=Actor.system(), reason=options["reason"])
        result = {"device_id": str(enrolment.device.pk), "token": enrolment.token}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"device {result['device_id']} re-enrolled; token (shown once): {result['token']}"
            )
