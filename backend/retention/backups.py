"""Database backups with the audit-chain head beside them, and the restore drill.

A backup is a dump file plus `<dump>.json`: engine, the dump's SHA-256 and size, when it
was taken and the audit chain head (sequence, hash) read just before the dump. The drill
re-hashes the dump (a corrupted or swapped file is caught before anything is restored),
restores it into a scratch database (PostgreSQL: a temporary database; SQLite: a temp
file), verifies the whole audit chain there and that it contains the recorded head.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connections
from django.utils import timezone

from backend.audit.models import AuditChainHead, AuditEvent
from backend.audit.services import audit_verify_events

MANIFEST_FORMAT = "fieldvault-backup-1"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return env


def _pg_args(settings_dict: dict[str, Any]) -> list[str]:
    args = []
    if settings_dict.get("HOST"):
        args += ["-h", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["-p", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["-U", str(settings_dict["USER"])]
    return args


def backup_database(*, out_dir: Path, using: str = "default") -> Path:
    """Write a dump and its manifest into out_dir; returns the manifest path."""
    connection = connections[using]
    settings_dict = connection.settings_dict
    out_dir.mkdir(parents=True, exist_ok=True)
    head = AuditChainHead.objects.using(using).filter(singleton=1).first()
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    if connection.vendor == "postgresql":
        dump = out_dir / f"fieldvault-{stamp}.dump"
        subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                *_pg_args(settings_dict),
                "--file",
                str(dump),
                str(settings_dict["NAME"]),
            ],
            check=True,
            env=_pg_env(settings_dict),
            capture_output=True,
        )
    elif connection.vendor == "sqlite":
        dump = out_dir / f"fieldvault-{stamp}.sqlite3"
        source = sqlite3.connect(str(settings_dict["NAME"]))
        target = sqlite3.connect(str(dump))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        raise RuntimeError(f"backups of {connection.vendor} are not supported")
    manifest = {
        "format": MANIFEST_FORMAT,
        "engine": connection.vendor,
        "database": str(settings_dict["NAME"]),
        "file": dump.name,
        "sha256": file_sha256(dump),
        "size": dump.stat().st_size,
        "created_at": timezone.now().isoformat(),
        "audit_head": {
            "sequence": head.sequence if head else 0,
            "entry_hash": head.entry_hash if head else "0" * 64,
        },
    }
    manifest_path = dump.with_name(dump.name + ".json")
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest_path


@dataclass
class DrillReport:
    manifest: dict[str, Any] = field(default_factory=dict)
    hash_ok: bool = False
    restored: bool = False
    events_checked: int = 0
    head_found: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.hash_ok and self.restored and self.head_found and not self.problems


def _manifest_path(backup: Path) -> Path:
    return backup if backup.suffix == ".json" else backup.with_name(backup.name + ".json")


def restore_drill(*, backup: Path, using: str = "default") -> DrillReport:
    report = DrillReport()
    manifest_path = _manifest_path(backup)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.problems.append(f"manifest unreadable: {exc}")
        return report
    report.manifest = manifest
    dump = manifest_path.parent / str(manifest.get("file", ""))
    if manifest.get("format") != MANIFEST_FORMAT or not dump.is_file():
        report.problems.append(f"dump file missing or manifest invalid: {dump}")
        return report
    actual = file_sha256(dump)
    if actual != manifest.get("sha256"):
        report.problems.append(
            f"dump is corrupted: SHA-256 {actual} differs from the manifest's "
            f"{manifest.get('sha256')}"
        )
        return report
    report.hash_ok = True
    base = dict(connections[using].settings_dict)
    scratch_dir = Path(tempfile.mkdtemp(prefix="fv-restore-drill-"))
    scratch_name = f"fv_restore_drill_{uuid.uuid4().hex[:8]}"
    engine = manifest.get("engine")
    try:
        if engine == "postgresql":
            _pg_create(base, scratch_name)
            done = subprocess.run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--exit-on-error",
                    *_pg_args(base),
                    "-d",
                    scratch_name,
                    str(dump),
                ],
                env=_pg_env(base),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                report.problems.append(f"pg_restore failed: {done.stderr.strip()[:500]}")
                return report
            target = {**base, "NAME": scratch_name}
        elif engine == "sqlite":
            copy = scratch_dir / "restored.sqlite3"
            shutil.copyfile(dump, copy)
            try:
                with sqlite3.connect(str(copy)) as check:
                    result = check.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                report.problems.append(f"restored SQLite unreadable: {exc}")
                return report
            if result != "ok":
                report.problems.append(f"SQLite integrity_check: {result}")
                return report
            target = {**base, "ENGINE": "django.db.backends.sqlite3", "NAME": str(copy)}
        else:
            report.problems.append(f"unknown engine {engine!r}")
            return report
        report.restored = True
        try:
            rows, head = _read_chain(engine, target)
        except Exception as exc:  # tables missing or unreadable in the restored copy
            report.problems.append(f"audit tables unreadable after restore: {exc}")
            return report
        chain = audit_verify_events(rows, head=head)
        report.events_checked = chain.checked
        report.problems.extend(f"audit chain: {p}" for p in chain.problems)
        expected = manifest.get("audit_head", {})
        sequence = int(expected.get("sequence", 0))
        if sequence == 0:
            report.head_found = True
        else:
            found = next((e for e in rows if e.sequence == sequence), None)
            report.head_found = bool(found and found.entry_hash == expected.get("entry_hash"))
            if not report.head_found:
                report.problems.append(
                    f"audit entry #{sequence} recorded in the manifest is missing or differs"
                )
    finally:
        if engine == "postgresql":
            _pg_drop(base, scratch_name)
        shutil.rmtree(scratch_dir, ignore_errors=True)
    return report


def _pg_admin(base: dict[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(
        host=base.get("HOST") or None,
        port=base.get("PORT") or None,
        user=base.get("USER") or None,
        password=base.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


def _pg_create(base: dict[str, Any], name: str) -> None:
    with _pg_admin(base) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')


def _pg_drop(base: dict[str, Any], name: str) -> None:
    with _pg_admin(base) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_CHAIN_COLUMNS = (
    "sequence, occurred_at, actor_kind, actor_id, action, object_type, object_id, data, "
    "previous_hash, entry_hash"
)


def _read_chain(
    engine: str, target: dict[str, Any]
) -> tuple[list[AuditEvent], AuditChainHead | None]:
    """Read the restored audit tables with a plain driver connection (not a Django alias:
    the scratch database is not part of the project's configured databases)."""
    events_table = AuditEvent._meta.db_table
    head_table = AuditChainHead._meta.db_table
    if engine == "postgresql":
        import psycopg

        with psycopg.connect(
            host=target.get("HOST") or None,
            port=target.get("PORT") or None,
            user=target.get("USER") or None,
            password=target.get("PASSWORD") or None,
            dbname=target["NAME"],
        ) as conn:
            rows = conn.execute(
                f"SELECT {_CHAIN_COLUMNS} FROM {events_table} ORDER BY sequence"  # noqa: S608
            ).fetchall()
            head_row = conn.execute(
                f"SELECT sequence, entry_hash FROM {head_table} WHERE singleton = 1"  # noqa: S608
            ).fetchone()
    else:
        lite = sqlite3.connect(str(target["NAME"]))
        try:
            raw = lite.execute(
                f"SELECT {_CHAIN_COLUMNS} FROM {events_table} ORDER BY sequence"  # noqa: S608
            ).fetchall()
            head_row = lite.execute(
                f"SELECT sequence, entry_hash FROM {head_table} WHERE singleton = 1"  # noqa: S608
            ).fetchone()
        finally:
            lite.close()
        rows = [(r[0], _sqlite_datetime(r[1]), *r[2:7], json.loads(r[7]), r[8], r[9]) for r in raw]
    events = [
        AuditEvent(
            sequence=r[0],
            occurred_at=r[1],
            actor_kind=r[2],
            actor_id=r[3],
            action=r[4],
            object_type=r[5],
            object_id=r[6],
            data=r[7],
            previous_hash=r[8],
            entry_hash=r[9],
        )
        for r in rows
    ]
    head = AuditChainHead(sequence=head_row[0], entry_hash=head_row[1]) if head_row else None
    return events, head


def _sqlite_datetime(value: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def restore_drill_continuous(
    *, timestamp: datetime.datetime | None = None, using: str = "default"
) -> DrillReport:
    """The drill from the continuous backup (embedded SQLite, ops/litestream.py): the replica
    is restored into a scratch file (latest point, or `timestamp`), checked with
    `PRAGMA integrity_check`, its whole audit chain verified, and its chain head must be an
    entry of the live chain with the same hash (the backup is a prefix of what is live)."""
    from django.conf import settings

    from ops.litestream import BackupTarget, restore

    report = DrillReport()
    connection = connections[using]
    if connection.vendor != "sqlite":
        report.problems.append("the continuous-backup drill is for the embedded SQLite")
        return report
    target = BackupTarget(
        db_path=Path(str(connection.settings_dict["NAME"])).resolve(),
        bucket=settings.FV_BACKUP_BUCKET,
        path=settings.FV_BACKUP_PATH,
        endpoint_url=settings.FV_BACKUP_S3_ENDPOINT_URL,
        region=settings.FV_S3_REGION,
        access_key=settings.FV_BACKUP_S3_ACCESS_KEY,
        secret_key=settings.FV_BACKUP_S3_SECRET_KEY,
    )
    scratch_dir = Path(tempfile.mkdtemp(prefix="fv-continuous-drill-"))
    try:
        copy = scratch_dir / "restored.sqlite3"
        try:
            result = restore(target, output=copy, timestamp=timestamp)
        except RuntimeError as exc:
            report.problems.append(str(exc)[:500])
            return report
        report.hash_ok = True  # Litestream verifies each LTX file's checksum as it applies it
        report.manifest = {
            "source": f"s3://{target.bucket}/{target.path}",
            "seconds": round(result.seconds, 2),
        }
        with sqlite3.connect(str(copy)) as check:
            verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            report.problems.append(f"SQLite integrity_check: {verdict}")
            return report
        report.restored = True
        rows, head = _read_chain("sqlite", {"NAME": str(copy)})
        chain = audit_verify_events(rows, head=head)
        report.events_checked = chain.checked
        report.problems.extend(f"audit chain: {p}" for p in chain.problems)
        if chain.head_sequence == 0:
            report.head_found = True
        else:
            live = AuditEvent.objects.using(using).filter(sequence=chain.head_sequence).first()
            report.head_found = bool(live and live.entry_hash == chain.head_hash)
            if not report.head_found:
                report.problems.append(
                    f"restored audit entry #{chain.head_sequence} differs from the live one"
                )
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    return report
