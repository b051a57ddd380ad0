"""What the storage page tells about recovering from a lost database disk: the continuous
backup's last replicated position (embedded: Litestream's replica in S3; scale-out:
PostgreSQL's WAL archiver), the originals' second site and its replication lag, and the last
reconciliation of the database with the bucket."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from backend.footage.storage import backup_store
from backend.retention.models import StorageReconciliation
from backend.retention.replication import replication_lag

# Litestream 0.5 writes <path>/<level>/<min txid>-<max txid>.ltx; level 0 keeps the newest
# transactions for minutes, the compacted levels above it the older ones.
_LTX = re.compile(r"/(\d{4})/([0-9a-f]{16})-([0-9a-f]{16})\.ltx$")
_LEVELS = ("0000", "0001", "0002", "0003", "0009")


@dataclass(frozen=True)
class BackupPosition:
    engine: str
    target: str
    position: str = ""  # Litestream: the last replicated transaction; PostgreSQL: the last WAL
    at: datetime.datetime | None = None
    error: str = ""

    @property
    def age_seconds(self) -> int | None:
        return None if self.at is None else int((timezone.now() - self.at).total_seconds())


def _litestream_position() -> BackupPosition:
    bucket, path = settings.FV_BACKUP_BUCKET, settings.FV_BACKUP_PATH.strip("/")
    target = f"s3://{bucket}/{path} ({settings.FV_BACKUP_S3_ENDPOINT_URL})"
    store = backup_store()
    best: tuple[int, datetime.datetime] | None = None
    try:
        for level in _LEVELS:
            answer = store.client.list_objects_v2(
                Bucket=bucket, Prefix=f"{path}/{level}/", MaxKeys=1000
            )
            for item in answer.get("Contents", []):
                match = _LTX.search(item["Key"])
                if match:
                    txid = int(match.group(3), 16)
                    if best is None or txid > best[0]:
                        best = (txid, item["LastModified"])
            if best is not None and level == "0000":
                break  # the newest transactions are at level 0 when it has any
    except Exception as exc:  # the page still shows, saying why there is no position
        return BackupPosition(engine="sqlite", target=target, error=str(exc)[:300])
    if best is None:
        return BackupPosition(engine="sqlite", target=target, error="no backup in the bucket")
    return BackupPosition(engine="sqlite", target=target, position=f"{best[0]:016x}", at=best[1])


def _postgres_position() -> BackupPosition:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('archive_mode'), current_setting('archive_command'), "
            "last_archived_wal, last_archived_time, failed_count, last_failed_wal "
            "FROM pg_stat_archiver"
        )
        mode, command, wal, at, failed, failed_wal = cursor.fetchone()
    target = f"archive_mode={mode}; archive_command={command or '-'}"
    if mode == "off":
        return BackupPosition(engine="postgresql", target=target, error="archive_mode=off")
    error = f"{failed} failed, last {failed_wal}" if failed else ""
    return BackupPosition(
        engine="postgresql", target=target, position=wal or "", at=at, error=error
    )


def backup_position() -> BackupPosition:
    if connection.vendor == "postgresql":
        return _postgres_position()
    return _litestream_position()


def last_reconciliation() -> StorageReconciliation | None:
    return StorageReconciliation.objects.order_by("-finished_at", "-pk").first()


def continuity_summary() -> dict[str, Any]:
    return {
        "backup": backup_position(),
        "reconciliation": last_reconciliation(),
        "replication": replication_lag(),
    }
