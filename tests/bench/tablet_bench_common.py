"""Shared set-up of the tablet sync benchmarks: bench database, seeding, a real uvicorn."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DB_NAME = "fieldvault_bench_field"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"


def server_env(work: Path) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "tests.bench.tablet_bench_settings",
        "DATABASE_URL": DB_URL,
        "FV_VAR_DIR": str(work / "var"),
        "FV_STAGING_DIR": str(work / "staging"),
        "FV_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "FV_LOG_LEVEL": "ERROR",
    }


def django_setup(work: Path) -> None:
    """Point this process at the bench database (created and migrated when needed)."""
    os.environ.update(server_env(work))
    exists = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
         f"SELECT 1 FROM pg_database WHERE datname='{DB_NAME}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if exists != "1":
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
    except Exception as exc:  # another app's migration in progress must not stop the bench
        print(f"WARNING: migrate failed ({str(exc)[:120]}); using the schema as it is")


@dataclass
class SeededOffice:
    unit_id: int
    subject_ids: list[str]
    tokens: list[str]


def seed_office(*, bureau: Any, name: str, subjects: int, tablets: int) -> SeededOffice:
    """An office with `tablets` officers (each with an enrolled tablet) and `subjects`
    subjects with the usual schedule, created through the services."""
    import datetime

    from backend.accounts.models import Officer, Role, UnitKind, User
    from backend.accounts.services import unit_create
    from backend.audit.services import Actor
    from backend.corrections.services import ScheduleInput, subject_create
    from backend.devices.services import device_enroll

    office = unit_create(name=name, kind=UnitKind.OFFICE, parent=bureau)
    officers = [
        Officer.objects.create(
            name=f"矫正员{i}",
            unit=office,
            certificate_number=uuid.uuid4().hex[:12],
            certificate_valid_until=datetime.date(2030, 1, 1),
        )
        for i in range(max(1, tablets))
    ]
    actor = User.objects.create_user(
        username=f"sup-{uuid.uuid4().hex[:8]}", role=Role.SUPERVISOR, unit=bureau
    )
    today = datetime.date.today()
    subject_ids = [
        str(
            subject_create(
                actor=actor,
                name=f"对象{i:03d}",
                sentence_kind="probation",
                term_start=today - datetime.timedelta(days=100),
                term_end=today + datetime.timedelta(days=300),
                office=office,
                responsible_officer=officers[i % len(officers)],
                id_number=f"{110101199001010000 + i}",
                address=f"青山镇{i}号",
                schedules=[
                    ScheduleInput("check_in", "monthly"),
                    ScheduleInput("home_visit", "quarterly"),
                    ScheduleInput("phone_report", "weekly"),
                ],
            ).pk
        )
        for i in range(subjects)
    ]
    tokens = [
        device_enroll(
            kind="tablet",
            serial=f"TAB-{uuid.uuid4().hex[:10]}",
            officer=officer,
            actor=Actor.system(),
        ).token
        for officer in officers[:tablets]
    ]
    return SeededOffice(office.pk, subject_ids, tokens)


def make_bureau(name: str) -> Any:
    from backend.accounts.models import UnitKind
    from backend.accounts.services import unit_create

    return unit_create(name=name, kind=UnitKind.BUREAU)


class Server:
    """`uvicorn backend.config.asgi:application` with N worker processes."""

    def __init__(self, work: Path, workers: int):
        self.port = free_port()
        self.work = work
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        log = (self.work / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "backend.config.asgi:application",
             "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
             "--lifespan", "off", "--workers", str(self.workers),
             "--timeout-graceful-shutdown", "2",
             # httpx keeps connections; uvicorn's default 5 s keep-alive closes idle ones
             # and a request racing that close fails with ReadError (a bench artefact).
             "--timeout-keep-alive", "120"],
            cwd=ROOT, env={**os.environ, **server_env(self.work)}, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    time.sleep(1.5 if self.workers > 1 else 0.2)  # all workers booted
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"uvicorn did not start; see {self.work / 'server.log'}")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"n={len(values)} p50={percentile(values, 50) * 1000:.0f} ms "
        f"p95={percentile(values, 95) * 1000:.0f} ms max={max(values) * 1000:.0f} ms "
        f"mean={statistics.fmean(values) * 1000:.0f} ms"
    )
