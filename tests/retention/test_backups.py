"""Backups with the audit head beside them, and the restore drill (PostgreSQL and SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from backend.audit.models import AuditChainHead, AuditEvent
from backend.audit.services import Actor, audit_record
from backend.retention.backups import backup_database, restore_drill

ROOT = Path(__file__).resolve().parents[2]


def _events(count: int) -> None:
    for index in range(count):
        audit_record(
            actor=Actor.system(),
            action="test.backup",
            object_id=index,
            data={"index": index, "text": "备份演练"},
        )


@pytest.mark.django_db(transaction=True)
def test_postgres_backup_and_restore_drill(tmp_path: Path) -> None:
    _events(5)
    manifest_path = backup_database(out_dir=tmp_path)
    manifest = json.loads(manifest_path.read_text())
    head = AuditChainHead.objects.get()
    assert manifest["engine"] == "postgresql"
    assert manifest["audit_head"] == {"sequence": head.sequence, "entry_hash": head.entry_hash}
    report = restore_drill(backup=manifest_path)
    assert report.ok, report.problems
    assert report.events_checked == head.sequence and report.head_found

    # The command form, given the dump rather than the manifest.
    dump = manifest_path.parent / manifest["file"]
    call_command("restore_drill", str(dump))


@pytest.mark.django_db(transaction=True)
def test_corrupted_backup_is_detected(tmp_path: Path) -> None:
    _events(3)
    manifest_path = backup_database(out_dir=tmp_path)
    manifest = json.loads(manifest_path.read_text())
    dump = manifest_path.parent / manifest["file"]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    dump.write_bytes(bytes(data))
    report = restore_drill(backup=manifest_path)
    assert not report.ok and not report.hash_ok and not report.restored
    assert "corrupted" in report.problems[0]
    with pytest.raises(SystemExit):
        call_command("restore_drill", str(manifest_path))

    # Truncated, with the manifest's hash "fixed" to match: the restore itself fails.
    dump.write_bytes(bytes(data[: len(data) // 2]))
    import hashlib

    manifest["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    report = restore_drill(backup=manifest_path)
    assert report.hash_ok and not report.ok
    assert any("pg_restore failed" in p for p in report.problems)


@pytest.mark.django_db(transaction=True)
def test_drill_finds_a_tampered_audit_chain(tmp_path: Path) -> None:
    _events(4)
    # Tampering as a superuser would: around the append-only trigger, if there is one.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            AuditEvent.objects.filter(sequence=2).update(data={"index": 99})
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
    report = restore_drill(backup=backup_database(out_dir=tmp_path))
    assert report.hash_ok and report.restored and not report.ok
    assert any("entry #2: content was altered" in p for p in report.problems)


def test_sqlite_backup_and_restore_drill(tmp_path: Path) -> None:
    """The embedded stack's path, end to end through manage.py on a fresh SQLite file."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fv.sqlite3'}",
        "FV_VAR_DIR": str(tmp_path),
    }

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert manage("migrate", "-v", "0").returncode == 0
    _sqlite_register_is_append_only(tmp_path / "fv.sqlite3")
    out = tmp_path / "backups"
    done = manage("backup_database", "--out", str(out))
    assert done.returncode == 0, done.stderr
    manifest = next(out.glob("*.json"))
    assert json.loads(manifest.read_text())["engine"] == "sqlite"
    drill = manage("restore_drill", str(manifest))
    assert drill.returncode == 0 and "restore drill passed" in drill.stdout, drill.stdout
    dump = out / json.loads(manifest.read_text())["file"]
    dump.write_bytes(dump.read_bytes()[:-100])
    drill = manage("restore_drill", str(manifest))
    assert drill.returncode == 1 and "corrupted" in drill.stdout


def _sqlite_register_is_append_only(path: Path) -> None:
    """The destruction register is permanent on SQLite too: triggers refuse UPDATE/DELETE."""
    import sqlite3

    columns = (
        "recording_id, file_name, clip_id, media_kind, device_serial, officer_name, unit_name, "
        "sha256, size_bytes, recorded_started_at, recorded_ended_at, retention_until, "
        "categories, reason_due, batch_id_ref, prepared_by, prepared_at, approved_by, "
        "approved_at, destroyed_at, object_versions, derivatives, object_shared"
    )
    moment = "2026-01-01 00:00:00"
    values = (
        ["0" * 32, "a.mp4", "c1", "video", "S1", "", "", "f" * 64, 1]
        + [moment] * 3
        + [",default,", "due", 1, "admin", moment, "leader", moment, moment, "[]", "[]", 0]
    )
    with sqlite3.connect(str(path)) as db:
        db.execute(
            f"INSERT INTO retention_destructionregisterentry ({columns}) "
            f"VALUES ({', '.join('?' * len(values))})",
            values,
        )
    db = sqlite3.connect(str(path))
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE retention_destructionregisterentry SET sha256 = 'x'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM retention_destructionregisterentry")
        assert db.execute("SELECT sha256 FROM retention_destructionregisterentry").fetchone() == (
            "f" * 64,
        )
    finally:
        db.close()
