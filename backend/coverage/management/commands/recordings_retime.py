"""`manage.py recordings_retime --device SERIAL --from ISO --to ISO --offset-seconds N
--reason TEXT [--user USERNAME] [--dry-run]`.

Corrects the times of every recording of one device whose *device-reported* start lies in
``[--from, --to)`` (the wrong clock's own readings: the time burnt into the footage), by
``--offset-seconds`` (e.g. 10800 for a camera found to have run 3 hours slow). The
device-reported times and the original files never change; each recording gets a history
row and an audit event, and the coverage check re-links it and re-checks the activities
on both sides, all in one transaction. ``--dry-run`` does the same work and rolls it back:
it prints what would change and writes nothing. Without ``--user`` the correction is
filed as made at the server console (system actor); with it, that user's scope and role
apply exactly as in the API.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backend.accounts.models import User
from backend.config.errors import FieldVaultError
from backend.coverage.retime import recordings_retime
from backend.devices.models import Device
from backend.footage.management.commands.recordings_reprocess import parse_since
from backend.footage.services import time_correction_offset


class Command(BaseCommand):
    help = "Correct the times of a device's recordings in a period (clock found to be wrong)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--device", required=True, help="device serial number")
        parser.add_argument("--kind", default=None, help="device kind, when the serial is shared")
        parser.add_argument(
            "--from", dest="start", required=True, help="device-reported start, ISO (inclusive)"
        )
        parser.add_argument(
            "--to", dest="end", required=True, help="device-reported start, ISO (exclusive)"
        )
        parser.add_argument(
            "--offset-seconds",
            type=float,
            required=True,
            help="seconds to add to the corrected times (negative moves them earlier)",
        )
        parser.add_argument("--reason", required=True)
        parser.add_argument("--user", default=None, help="file the correction as this user")
        parser.add_argument("--dry-run", action="store_true", help="show, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        devices = Device.objects.filter(serial=options["device"])
        if options["kind"]:
            devices = devices.filter(kind=options["kind"])
        found = list(devices[:2])
        if not found:
            raise CommandError(f"no device with serial {options['device']!r}")
        if len(found) > 1:
            raise CommandError(f"serial {options['device']!r} is shared by kinds: give --kind")
        device = found[0]
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {options['user']!r}")
        start = parse_since(options["start"])
        end = parse_since(options["end"])
        try:
            result = recordings_retime(
                actor_user=user,
                device=device,
                start=start,
                end=end,
                offset=time_correction_offset(options["offset_seconds"]),
                reason=options["reason"],
                dry_run=options["dry_run"],
            )
        except FieldVaultError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        prefix = "dry run, nothing written: " if result.dry_run else ""
        self.stdout.write(
            f"{prefix}{len(result.recording_ids)} recording(s) corrected by "
            f"{options['offset_seconds']:+g} s; {len(result.activity_ids)} activit(y/ies) "
            f"re-checked, {len(result.verdict_changes)} verdict(s) changed"
        )
        for change in result.verdict_changes:
            self.stdout.write(f"  activity {change.activity_id}: {change.before} -> {change.after}")
        if not result.dry_run and result.recording_ids:
            self.stdout.write(f"batch {result.batch_id}")
