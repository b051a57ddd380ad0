"""Load the demo (idempotent): the sample roster, one user per role, an enrolled body camera
held by the demo field officer, and the work backend/demo.py describes. Prints JSON: the
device token, users, password, the start times of the clips the camera is to sync, and one
line per piece of work. `--access-request` (after the camera's sync) files the legal
officer's request for the demo clips."""

import datetime
import json
import secrets
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.accounts.models import Role, Unit, User
from backend.accounts.services import officers_import
from backend.audit.services import Actor
from backend.demo import LEADERS, demo_access_request, demo_build
from backend.devices.models import Device
from backend.devices.services import device_assign, device_enroll, device_reenrol


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print the demo device token and passwords as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--roster", type=Path)
        parser.add_argument(
            "--password", default="", help="password for every demo user (random if empty)"
        )
        parser.add_argument(
            "--access-request",
            action="store_true",
            help="after the demo camera's sync: the legal officer asks to copy its clips",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["access_request"]:
            try:
                request_id = demo_access_request()
            except (RuntimeError, User.DoesNotExist) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(json.dumps({"access_request": request_id}))
            return
        if options["roster"] is None:
            raise CommandError("--roster FILE is required")
        report = officers_import(source=options["roster"], actor=Actor.system())
        bureau = Unit.objects.filter(parent__isnull=True).order_by("pk").first()
        password = options["password"] or secrets.token_urlsafe(9)
        users: dict[str, User] = {}
        for role in Role.values:
            username = f"demo-{role.replace('_', '-')}"
            user, _ = User.objects.get_or_create(
                username=username, defaults={"role": role, "unit": bureau}
            )
            users[role] = user
        admin = users[Role.SYSTEM_ADMIN]
        admin.is_staff = admin.is_superuser = True
        admin.save(update_fields=["is_staff", "is_superuser"])
        assert bureau is not None
        demo = demo_build(bureau=bureau, users=users)
        for user in users.values():
            user.set_password(password)
            user.save(update_fields=["password"])
        from backend.demo import demo_officers

        officer, _colleague = demo_officers()
        known = Device.objects.filter(kind="body_camera", serial="DEMO-DSJ-0001").first()
        if known is not None:  # a second `make run` on the same var/: a fresh demo token
            enrolment = device_reenrol(device=known, actor=Actor.system(), reason="demo_load")
        else:
            enrolment = device_enroll(
                kind="body_camera",
                serial="DEMO-DSJ-0001",
                model_name="DSJ-DEMO",
                actor=Actor.system(),
            )
        # Handed out before the clips were recorded, so they are attributed to the officer.
        device_assign(
            device=enrolment.device,
            officer=officer,
            starts_at=min(demo.clip_starts) - datetime.timedelta(days=7),
            actor=Actor.system(),
        )
        self.stdout.write(
            json.dumps(
                {
                    "officers_created": report.created,
                    "device_id": str(enrolment.device.pk),
                    "device_token": enrolment.token,
                    "officer": officer.name,
                    "users": {role: users[role].username for role in Role.values},
                    "leaders": [name for name, _title in LEADERS],
                    "password": password,
                    "clip_starts": [start.isoformat() for start in demo.clip_starts],
                    "work": demo.work,
                },
                ensure_ascii=False,
            )
        )
