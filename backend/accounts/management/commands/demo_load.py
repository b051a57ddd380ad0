"""Load a small demo: the sample roster, units, one user per role, an enrolled body camera."""

import datetime
import json
import secrets
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from backend.accounts.models import Officer, Role, Unit, User
from backend.accounts.services import officers_import
from backend.audit.services import Actor
from backend.devices.services import device_assign, device_enroll

DEMO_CLIPS = 3


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print the demo device token and passwords as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--roster", type=Path, required=True)
        parser.add_argument(
            "--password", default="", help="password for every demo user (random if empty)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = officers_import(source=options["roster"], actor=Actor.system())
        bureau = Unit.objects.filter(parent__isnull=True).order_by("pk").first()
        password = options["password"] or secrets.token_urlsafe(9)
        users = {}
        for role in Role.values:
            username = f"demo-{role.replace('_', '-')}"
            user, _ = User.objects.get_or_create(
                username=username, defaults={"role": role, "unit": bureau}
            )
            user.set_password(password)
            user.is_staff = role == Role.SYSTEM_ADMIN
            user.is_superuser = role == Role.SYSTEM_ADMIN
            user.save()
            users[role] = username
        officer = Officer.objects.filter(certificate_number__isnull=False).order_by("pk").first()
        if officer is not None and officer.user is None:
            officer.user = User.objects.get(username=users[Role.FIELD_OFFICER])
            officer.save(update_fields=["user"])
        enrolment = device_enroll(
            kind="body_camera",
            serial="DEMO-DSJ-0001",
            model_name="DSJ-DEMO",
            actor=Actor.system(),
        )
        now = timezone.now()
        if officer is not None:
            # Handed out a week ago, so the clips it recorded today are attributed to him.
            device_assign(
                device=enrolment.device,
                officer=officer,
                starts_at=now - datetime.timedelta(days=7),
                actor=Actor.system(),
            )
        self.stdout.write(
            json.dumps(
                {
                    "officers_created": report.created,
                    "device_id": str(enrolment.device.pk),
                    "device_token": enrolment.token,
                    "users": users,
                    "password": password,
                    "clips": DEMO_CLIPS,
                    "clips_start": (now - datetime.timedelta(hours=2)).isoformat(),
                },
                ensure_ascii=False,
            )
        )
