"""The scale-out drill's machinery, shared by tests/retention/test_pg_drill.py (fast, in the
suite) and tests/bench/bench_pg_drill.py (county-sized, with figures).

A private PostgreSQL cluster (initdb, Unix socket only: the machine's shared PostgreSQL is
never touched) archives its WAL to S3 with Barman's cloud commands (ops/pg_pitr.py); the
FieldVault schema is the migrated test database's (pg_dump --schema-only, with the data the
migrations seed); the project runs against it in subprocesses (DATABASE_URL on the socket),
stores originals in the real SeaweedFS with the metadata footage writes, and reconciles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ops.pg_pitr import BARMAN_BIN, PitrTarget, base_backup, restore

ROOT = Path(__file__).resolve().parents[2]


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL's server binaries are missing: apt-get install postgresql")
    return found[-1].parent


def barman_present() -> bool:
    return (BARMAN_BIN / "barman-cloud-wal-archive").exists()


class PrivateCluster:
    """A throw-away PostgreSQL cluster run as the postgres user, on a Unix socket only."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.data = root / "data"
        self.socket = root / "socket"
        self.env = env
        self.bin = pg_bin()

    @classmethod
    def make_root(cls) -> Path:
        root = Path(tempfile.mkdtemp(prefix="fv-pgdrill-"))
        (root / "socket").mkdir()
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(root / "socket", "postgres", "postgres")
        return root

    def as_postgres(
        self, *command: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        envs = [f"{k}={v}" for k, v in self.env.items()]
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", "env", *envs, *command],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=900,
            check=False,
        )

    def initdb(self, settings: str) -> None:
        done = self.as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres"
        )
        if done.returncode:
            raise RuntimeError(done.stderr)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nlisten_addresses = ''\nunix_socket_directories = '{self.socket}'\n")
            conf.write("fsync = on\nsynchronous_commit = on\n")
            conf.write(settings + "\n")

    def start(self) -> None:
        done = self.as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-w", "-t", "300", "start",
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(done.stderr + (self.root / "log").read_text()[-3000:])

    def stop(self, mode: str = "fast") -> None:
        self.as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def power_cut(self) -> None:
        """SIGKILL the postmaster and every backend: nothing is flushed or archived after."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            subprocess.run(["pkill", "-KILL", "-P", str(pid)], check=False)
            subprocess.run(["kill", "-KILL", str(pid)], check=False)
        time.sleep(0.5)

    def sql(self, statement: str, database: str = "postgres") -> str:
        done = self.as_postgres(
            str(self.bin / "psql"), "-h", str(self.socket), "-U", "postgres", "-d", database,
            "-At", "-v", "ON_ERROR_STOP=1", "-c", statement,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(done.stderr)
        return done.stdout.strip()

    def load_schema_of(self, source_url: str, database: str) -> None:
        """The migrated schema (and what migrations seed) of another database, into ours."""
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "--no-owner", "--no-privileges", source_url],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if dump.returncode:
            raise RuntimeError(dump.stderr)
        self.sql(f"CREATE DATABASE {database}")
        done = self.as_postgres(
            str(self.bin / "psql"), "-h", str(self.socket), "-U", "postgres", "-d", database,
            "-q", "-v", "ON_ERROR_STOP=1", stdin=dump.stdout,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(done.stderr[-3000:])

    def switch_and_wait_archived(self, timeout: float = 120) -> str:
        segment = self.sql("SELECT pg_walfile_name(pg_switch_wal())")
        deadline = time.monotonic() + timeout
        archived = ""
        while time.monotonic() < deadline:
            failed, archived = self.sql(
                "SELECT failed_count, coalesce(last_archived_wal, '') FROM pg_stat_archiver"
            ).split("|")
            if archived >= segment:
                return segment
            time.sleep(0.3)
        raise RuntimeError(f"WAL {segment} not archived (last {archived}, failed {failed})")

    def restore_and_start(self, target: PitrTarget) -> float:
        """Destroyed data directory → PITR restore of the latest point → PostgreSQL
        promoted. Returns the seconds it took."""
        started = time.monotonic()
        restore(target, data_dir=self.data)
        subprocess.run(["chown", "-R", "postgres:postgres", str(self.data)], check=True)
        self.data.chmod(0o700)
        self.start()
        deadline = time.monotonic() + 600
        while self.sql("SELECT pg_is_in_recovery()") == "t" and time.monotonic() < deadline:
            time.sleep(0.2)
        return time.monotonic() - started


def pitr_target(endpoint_url: str, bucket: str) -> PitrTarget:
    return PitrTarget(s3_url=f"s3://{bucket}/pitr", server="fv-drill", endpoint_url=endpoint_url)


def aws_env(access_key: str, secret_key: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def take_base_backup(cluster: PrivateCluster, target: PitrTarget) -> str:
    return base_backup(
        target, host=str(cluster.socket), port=5432, user="postgres", immediate_checkpoint=True
    )


def project_env(cluster: PrivateCluster, database: str, s3: dict[str, str]) -> dict[str, str]:
    """The environment the project runs with against the private cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FV_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="backend.config.settings",
        DATABASE_URL=f"postgres://postgres@/{database}?host={cluster.socket}",
        FV_DB_POOL_MAX="0",
        PYTHONPATH=str(ROOT),
        **s3,
    )
    return env


# Runs in the project against the private cluster: what a device's sync leaves for each
# clip it is told `stored` — the original in S3 under its COMPLIANCE lock, with the metadata
# footage writes (backend/footage/storage.py original_metadata), and the row committed
# `stored` with its key and VersionId. One JSON line per acknowledged `stored`.
INGEST = r"""
import datetime, json, os, sys, tempfile, uuid
from pathlib import Path
import django
django.setup()
from django.conf import settings
from django.utils import timezone
from backend.footage.models import Recording
from backend.footage.storage import object_store, original_metadata, storage_ensure_buckets
from backend.devices.models import Device
from tests.factories import make_device, make_officer, make_stored_original, make_unit

storage_ensure_buckets()
count, device_id = int(sys.argv[1]), sys.argv[2]
if device_id == "-":
    officer = make_officer(make_unit())
    device, _token = make_device(officer=officer)
    print(json.dumps({"device": str(device.pk)}), flush=True)
else:
    device = Device.objects.get(pk=device_id)
    officer = Recording.objects.filter(device=device).first().officer
for index in range(count):
    payload = os.urandom(4096) + uuid.uuid4().bytes
    recording = make_stored_original(officer=officer, device=device, payload=payload, put=False)
    with tempfile.NamedTemporaryFile() as handle:
        Path(handle.name).write_bytes(payload)
        stored = object_store().put_original(
            bucket=settings.FV_ORIGINALS_BUCKET, path=Path(handle.name),
            sha256_hex=recording.sha256,
            retain_until=timezone.now() + datetime.timedelta(hours=6),
            metadata=original_metadata(recording),
        )
    Recording.objects.filter(pk=recording.pk).update(
        storage_key=stored.key, storage_version_id=stored.version_id or "",
        stored_at=timezone.now(),
    )
    print(json.dumps({"stored": recording.clip_id, "at": timezone.now().timestamp()}), flush=True)
"""


def ingest(env: dict[str, str], count: int, device: str = "-") -> tuple[str, list[dict[str, Any]]]:
    done = subprocess.run(
        [sys.executable, "-c", INGEST, str(count), device],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    device_id = next((str(line["device"]) for line in lines if "device" in line), device)
    return device_id, [line for line in lines if "stored" in line]


def reconcile(env: dict[str, str]) -> tuple[int, dict[str, str], str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "storage_reconcile",
         "--trigger", "after_restore", "--rehash", "3"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    import re

    first = (done.stdout.splitlines() or [""])[0]
    return done.returncode, dict(re.findall(r"(\w+)=(\w+)", first)), done.stdout + done.stderr
