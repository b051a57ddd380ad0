"""A county's or a province's data, deterministic, fast (issue 26): ``manage.py scale_load``.

Sizes: ``county`` is one bureau of ten justice offices, 50 officers each with their own
camera, a year of 20,000 activities and 80,000 recordings (the shape the issue timed);
``province`` is 100 such bureaus with 1 M activities and 10 M recordings, ``fraction``
taking a part of the activities and recordings (0.1: a tenth). The same seed gives the
same rows (ids included); two loads into one database need two seeds (the ids would
collide).

What is consistent with the product: every activity has its crew (``ActivityOfficer``);
half of each crew member's activities are recorded as two split files overlapping the
activity, linked to it for that officer (``RecordingLink``, source auto) — the links
coverage makes; the rest of the recordings are patrol footage outside any activity, of
the same officer and their own camera; recordings are ``stored`` with their device times
equal to the corrected times (clock offset 0). What it does not write: coverage verdicts
(the activities show "未检查" until ``coverage_recheck_range`` runs over them), audit
events (the chain is left as it was, so it stays valid), retention facts, correction
subjects and inspections.

The big tables are written with PostgreSQL ``COPY … FROM STDIN`` through psycopg's
``write_row`` (every column of the model, its defaults filled in Python), then
``ANALYZE``d; other databases get ``bulk_create`` in batches.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.coverage.models import LinkSource, RecordingLink
from backend.devices.models import Device
from backend.enforcement.models import Activity, ActivityOfficer, ActivityState
from backend.footage.models import Recording, RecordingState

YEAR_START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
YEAR_SECONDS = 365 * 24 * 3600
STAGES = (("行政处罚", "调查取证", 2), ("行政检查", "现场检查", 1), ("行政处罚", "送达", 1))
USER_ROLES = (
    Role.SUPERVISOR,
    Role.LEGAL_OFFICER,
    Role.FIELD_OFFICER,
    Role.STORAGE_ADMIN,
    Role.AUDITOR,
    Role.SYSTEM_ADMIN,
    Role.CORRECTION_OFFICER,
)


@dataclass(frozen=True)
class ScaleSize:
    bureaus: int
    offices_per_bureau: int
    officers_per_bureau: int
    activities: int
    recordings: int

    @classmethod
    def county(cls) -> ScaleSize:
        return cls(1, 10, 50, 20_000, 80_000)

    @classmethod
    def province(cls, fraction: float = 1.0) -> ScaleSize:
        return cls(100, 10, 50, round(1_000_000 * fraction), round(10_000_000 * fraction))

    def scaled(self, fraction: float) -> ScaleSize:
        return ScaleSize(
            self.bureaus,
            self.offices_per_bureau,
            self.officers_per_bureau,
            max(1, round(self.activities * fraction)),
            max(1, round(self.recordings * fraction)),
        )


@dataclass
class ScaleReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0


Progress = Callable[[str, int, int], None]


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [
        f
        for f in model._meta.local_concrete_fields
        if not (f.primary_key and isinstance(f, models.AutoField | models.BigAutoField))
    ]


def _row_values(
    fields: list[models.Field[Any, Any]], values: dict[str, Any], now: datetime.datetime
) -> tuple[Any, ...]:
    out = []
    for f in fields:
        if f.attname in values:
            value = values[f.attname]
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default():
            value = f.get_default()
        elif f.null:
            value = None
        else:
            value = ""
        out.append(f.get_db_prep_save(value, connection))
    return tuple(out)


def copy_rows(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    *,
    progress: Progress | None = None,
    expected: int = 0,
) -> int:
    """Write ``rows`` (attname → value) into ``model``'s table: ``COPY`` on PostgreSQL."""
    fields = _columns(model)
    now = timezone.now()
    written = 0
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(f.column or f.attname) for f in fields)
        with connection.cursor() as wrapper:
            raw = wrapper.cursor  # psycopg's own cursor: COPY is not in the DB-API
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for values in rows:
                    copy.write_row(_row_values(fields, values, now))
                    written += 1
                    if progress and written % 50_000 == 0:
                        progress(model._meta.db_table, written, expected)
    else:
        batch: list[models.Model] = []
        for values in rows:
            batch.append(model(**values))
            written += 1
            if len(batch) >= 2_000:
                model._default_manager.bulk_create(batch)
                batch = []
        model._default_manager.bulk_create(batch)
    if progress:
        progress(model._meta.db_table, written, expected)
    return written


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass
class _Org:
    bureaus: list[Unit]
    officers: list[Officer]  # officers[i] carries devices[i]
    devices: list[Device]
    officers_of_bureau: list[list[int]]  # indexes into officers


def _organisation(size: ScaleSize, rng: random.Random, prefix: str) -> _Org:
    bureaus: list[Unit] = []
    officers: list[Officer] = []
    devices: list[Device] = []
    groups: list[list[int]] = []
    for b in range(size.bureaus):
        bureau = Unit.objects.create(name=f"{prefix}司法局{b:03d}", kind=UnitKind.BUREAU)
        bureau.path = f"/{bureau.pk}/"
        bureau.save(update_fields=["path"])
        offices = []
        for o in range(size.offices_per_bureau):
            office = Unit.objects.create(
                name=f"{prefix}司法所{b:03d}-{o:02d}", kind=UnitKind.OFFICE, parent=bureau
            )
            office.path = f"{bureau.path}{office.pk}/"
            office.save(update_fields=["path"])
            offices.append(office)
        bureaus.append(bureau)
        members = []
        for i in range(size.officers_per_bureau):
            members.append(len(officers))
            officers.append(
                Officer(
                    name=f"{prefix}人员{b:03d}-{i:03d}",
                    unit=offices[i % len(offices)],
                    certificate_number=f"{prefix[:12]}{b:03d}{i:05d}",
                    certificate_valid_until=datetime.date(2030, 1, 1),
                )
            )
            devices.append(
                Device(
                    id=_uuid(rng),
                    kind="body_camera",
                    serial=f"{prefix.upper() or 'SC'}-{b:03d}-{i:04d}",
                    unit=offices[i % len(offices)],
                    last_clock_offset_ms=0,
                )
            )
        groups.append(members)
    Officer.objects.bulk_create(officers)
    Device.objects.bulk_create(devices)
    return _Org(bureaus, officers, devices, groups)


def _users(org: _Org, prefix: str) -> None:
    """One user per role at the first bureau (``<prefix>-<role>``, no usable password),
    the field officer being the first officer: the crawler signs in as each."""
    bureau = org.bureaus[0]
    for role in USER_ROLES:
        user = User(username=f"{prefix}-{role}", role=role, unit=bureau)
        user.set_unusable_password()
        user.save()
        if role == Role.FIELD_OFFICER:
            Officer.objects.filter(pk=org.officers[0].pk).update(user=user)


def _recording(
    rng: random.Random,
    device_id: uuid.UUID,
    officer_id: int,
    start: datetime.datetime,
    end: datetime.datetime,
    serial: int,
) -> dict[str, Any]:
    clip = f"C{serial:09d}"
    return {
        "id": _uuid(rng),
        "device_id": device_id,
        "clip_id": clip,
        "file_name": f"{clip}.mp4",
        "size_bytes": rng.randint(20_000_000, 400_000_000),
        "sha256": hashlib.sha256(clip.encode()).hexdigest(),
        "media_kind": "video",
        "device_started_at": start,
        "device_ended_at": end,
        "clock_offset_ms": 0,
        "started_at": start,
        "ended_at": end,
        "officer_id": officer_id,
        "state": RecordingState.STORED,
        "stored_at": end + datetime.timedelta(hours=6),
    }


RECORDED_SHARE = 0.75  # of a crew member's activities, the share they recorded
CHUNK = 20_000  # activities per round of COPYs: memory stays bounded at any size


def scale_load(
    size: ScaleSize,
    *,
    seed: int = 26,
    prefix: str = "scale",
    progress: Progress | None = None,
) -> ScaleReport:
    """Write ``size``'s organisation, activities, crews, recordings and links in one
    transaction; returns the rows written per table and the time taken."""
    rng = random.Random(seed)
    begun = time.perf_counter()
    report = ScaleReport(rows=dict.fromkeys(("activities", "crews", "recordings", "links"), 0))

    def flush(batch: dict[str, list[dict[str, Any]]]) -> None:
        for name, model in (
            ("activities", Activity),
            ("crews", ActivityOfficer),
            ("recordings", Recording),
            ("links", RecordingLink),
        ):
            if batch[name]:
                report.rows[name] += copy_rows(model, batch[name])
                batch[name] = []
        if progress:
            progress("recordings", report.rows["recordings"], size.recordings)

    with transaction.atomic():
        org = _organisation(size, rng, prefix)
        _users(org, prefix)
        report.rows["units"] = size.bureaus * (1 + size.offices_per_bureau)
        report.rows["officers"] = report.rows["devices"] = len(org.officers)
        batch: dict[str, list[dict[str, Any]]] = {
            "activities": [],
            "crews": [],
            "recordings": [],
            "links": [],
        }
        serial = 0
        per_bureau = max(1, size.activities // size.bureaus)
        for index in range(size.activities):
            members = org.officers_of_bureau[min(index // per_bureau, size.bureaus - 1)]
            category, stage, crew = rng.choice(STAGES)
            begin = YEAR_START + datetime.timedelta(seconds=rng.randrange(YEAR_SECONDS))
            end = begin + datetime.timedelta(minutes=rng.randint(10, 90))
            chosen = rng.sample(members, crew)
            activity_id = _uuid(rng)
            batch["activities"].append(
                {
                    "id": activity_id,
                    "external_ref": f"{prefix.upper()}-{index:08d}",
                    "category": category,
                    "stage": stage,
                    "unit_id": org.officers[chosen[0]].unit_id,
                    "started_at": begin,
                    "stopped_at": end,
                    "state": ActivityState.CLOSED,
                    "closed_at": end,
                }
            )
            for position in chosen:
                officer, device = org.officers[position], org.devices[position]
                batch["crews"].append({"activity_id": activity_id, "officer_id": officer.pk})
                if rng.random() >= RECORDED_SHARE or serial + 2 > size.recordings:
                    continue  # this officer recorded nothing of it
                middle = begin + (end - begin) / 2
                for start, stop in (
                    (begin - datetime.timedelta(seconds=10), middle),
                    (middle + datetime.timedelta(seconds=1), end),
                ):
                    serial += 1
                    row = _recording(rng, device.pk, officer.pk, start, stop, serial)
                    batch["recordings"].append(row)
                    batch["links"].append(
                        {
                            "activity_id": activity_id,
                            "recording_id": row["id"],
                            "officer_id": officer.pk,
                            "source": LinkSource.AUTO,
                        }
                    )
            if len(batch["activities"]) >= CHUNK:
                flush(batch)
        while serial < size.recordings:  # patrol footage outside any activity
            position = rng.randrange(len(org.officers))
            officer, device = org.officers[position], org.devices[position]
            start = YEAR_START + datetime.timedelta(seconds=rng.randrange(YEAR_SECONDS))
            serial += 1
            batch["recordings"].append(
                _recording(
                    rng,
                    device.pk,
                    officer.pk,
                    start,
                    start + datetime.timedelta(seconds=rng.randint(30, 1800)),
                    serial,
                )
            )
            if len(batch["recordings"]) >= 4 * CHUNK:
                flush(batch)
        flush(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The small tables too: an unanalysed unit table makes the planner guess one
            # unit under a path prefix, and sort a whole bureau's activities per page.
            for model in (
                Unit,
                Officer,
                Device,
                Activity,
                ActivityOfficer,
                Recording,
                RecordingLink,
            ):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    report.seconds = time.perf_counter() - begun
    return report
