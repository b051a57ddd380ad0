"""The local journal (SQLite): what was hashed, what the server answered, what was deleted.

It makes restarts cheap and safe: a file is hashed again only when its size or mtime
changed; a clip the server answered `stored` is never uploaded again; a clip is deleted
from a camera at most once (the row is marked before the file is unlinked and checked
before any deletion), and never when its bytes differ from those the server stored.
"""

from __future__ import annotations

import datetime
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS clip (
    kind TEXT NOT NULL,
    serial TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    recorded_start TEXT NOT NULL,
    recorded_end TEXT NOT NULL,
    time_source TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    recording_id TEXT NOT NULL DEFAULT '',
    upload_url TEXT NOT NULL DEFAULT '',
    stored_at TEXT,
    deleting_at TEXT,
    deleted_at TEXT,
    synced_at TEXT,
    error TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, serial, clip_id)
);
CREATE TABLE IF NOT EXISTS event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    serial TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    what TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
"""


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


@dataclass
class Row:
    kind: str
    serial: str
    clip_id: str
    size: int
    mtime_ns: int
    sha256: str
    recorded_start: str
    recorded_end: str
    time_source: str
    status: str
    recording_id: str
    upload_url: str
    stored_at: str | None
    deleting_at: str | None
    deleted_at: str | None
    synced_at: str | None


class Journal:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a deletion mark survives a power cut
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def get(self, kind: str, serial: str, clip_id: str) -> Row | None:
        with self._lock:
            row = self._db.execute(
                "SELECT kind, serial, clip_id, size, mtime_ns, sha256, recorded_start, "
                "recorded_end, time_source, status, recording_id, upload_url, stored_at, "
                "deleting_at, deleted_at, synced_at FROM clip "
                "WHERE kind=? AND serial=? AND clip_id=?",
                (kind, serial, clip_id),
            ).fetchone()
        return Row(*row) if row else None

    def hashed(
        self,
        *,
        kind: str,
        serial: str,
        clip_id: str,
        size: int,
        mtime_ns: int,
        sha256: str,
        recorded_start: str,
        recorded_end: str,
        time_source: str,
    ) -> None:
        """The file as hashed now; a different content than journalled starts afresh."""
        with self._lock:
            self._db.execute(
                "INSERT INTO clip (kind, serial, clip_id, size, mtime_ns, sha256, "
                "recorded_start, recorded_end, time_source, updated_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (kind, serial, clip_id) DO UPDATE SET "
                "status = CASE WHEN clip.sha256 = excluded.sha256 THEN clip.status ELSE 'new' END, "
                "stored_at = CASE WHEN clip.sha256 = excluded.sha256 THEN clip.stored_at END, "
                "deleting_at = CASE WHEN clip.sha256 = excluded.sha256 THEN clip.deleting_at END, "
                "deleted_at = CASE WHEN clip.sha256 = excluded.sha256 THEN clip.deleted_at END, "
                "synced_at = CASE WHEN clip.sha256 = excluded.sha256 THEN clip.synced_at END, "
                "size=excluded.size, mtime_ns=excluded.mtime_ns, sha256=excluded.sha256, "
                "recorded_start=excluded.recorded_start, recorded_end=excluded.recorded_end, "
                "time_source=excluded.time_source, updated_at=excluded.updated_at",
                (
                    kind,
                    serial,
                    clip_id,
                    size,
                    mtime_ns,
                    sha256,
                    recorded_start,
                    recorded_end,
                    time_source,
                    _now(),
                ),
            )

    def answered(
        self,
        kind: str,
        serial: str,
        clip_id: str,
        *,
        sha256: str,
        status: str,
        recording_id: str,
        upload_url: str | None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE clip SET status=?, recording_id=?, upload_url=?, updated_at=?, "
                "stored_at = CASE WHEN ?='stored' THEN COALESCE(stored_at, ?) ELSE stored_at END "
                "WHERE kind=? AND serial=? AND clip_id=? AND sha256=?",
                (
                    status,
                    recording_id,
                    upload_url or "",
                    _now(),
                    status,
                    _now(),
                    kind,
                    serial,
                    clip_id,
                    sha256,
                ),
            )

    def claim_deletion(self, kind: str, serial: str, clip_id: str, sha256: str) -> bool:
        """Mark the clip as being deleted; False when it was already (never delete twice)
        or its journalled content is not what the server stored."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE clip SET deleting_at=?, updated_at=? WHERE kind=? AND serial=? AND "
                "clip_id=? AND sha256=? AND status='stored' AND deleting_at IS NULL "
                "AND deleted_at IS NULL",
                (_now(), _now(), kind, serial, clip_id, sha256),
            )
            return cursor.rowcount == 1

    def deleted(self, kind: str, serial: str, clip_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE clip SET deleted_at=?, updated_at=? "
                "WHERE kind=? AND serial=? AND clip_id=?",
                (_now(), _now(), kind, serial, clip_id),
            )

    def synced(self, kind: str, serial: str, clip_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE clip SET synced_at=COALESCE(synced_at, ?), updated_at=? "
                "WHERE kind=? AND serial=? AND clip_id=?",
                (_now(), _now(), kind, serial, clip_id),
            )

    def event(self, kind: str, serial: str, clip_id: str, what: str, detail: str = "") -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO event (at, kind, serial, clip_id, what, detail) VALUES (?,?,?,?,?,?)",
                (_now(), kind, serial, clip_id, what, detail),
            )

    def events(self, what: str) -> list[tuple[str, str, str]]:
        with self._lock:
            return self._db.execute(
                "SELECT kind, serial, clip_id FROM event WHERE what=? ORDER BY id", (what,)
            ).fetchall()
