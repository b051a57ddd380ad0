"""Continuous backup of the embedded SQLite database (Litestream → SeaweedFS), measured.

    .venv/bin/python tests/bench/bench_backup.py                 # full
    .venv/bin/python tests/bench/bench_backup.py --quick         # smaller sizes, fewer cuts

Starts its own `weed mini` and, in the same run:

1. Durability cost: the ingest-shaped transaction (insert a recording-sized row, update it
   to `stored` with its key and version, append an audit row) committed one by one on a
   WAL SQLite file with synchronous=NORMAL (before) and FULL (now); ratio FULL/NORMAL.
2. Recovery point: a writer commits a timestamped row every 50 ms while `python -m
   ops.litestream replicate` ships the WAL; at a random moment both are SIGKILLed (power
   cut) and the database file is deleted; restore; RPO = the cut - the last commit restored.
   Repeated --cuts times; the acknowledged commits lost are counted too.
1b. The same with the S3 PUT of a 1 MiB original before each ingest's commits (what the
   ingest really pays before `stored`): the ratio of the durability change on ingest.
3. Recovery time against the database size: `python -m ops.litestream restore` of databases
   of growing size, beside the same-run reference of a plain file copy of the same file.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ops.litestream import BackupTarget, restore  # noqa: E402
from ops.seaweed import SeaweedServer  # noqa: E402

SCHEMA = """
CREATE TABLE recording (id TEXT PRIMARY KEY, sha256 TEXT, size INTEGER, state TEXT,
  storage_key TEXT, storage_version_id TEXT, stored_at REAL, blob BLOB);
CREATE TABLE audit (seq INTEGER PRIMARY KEY, action TEXT, at REAL, data TEXT);
"""


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


def _ingest_one(
    db: sqlite3.Connection, index: int, blob: bytes = b"", *, stored_full: bool = False
) -> float:
    rid = uuid.uuid4().hex
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "INSERT INTO recording VALUES (?, ?, 2048, 'verified', '', '', NULL, ?)",
        (rid, f"{index:064x}", blob),
    )
    db.execute("COMMIT")
    now = time.time()
    if stored_full:  # what backend/footage/durability.py does around the `stored` commit
        db.execute("PRAGMA synchronous=FULL")
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "UPDATE recording SET state='stored', storage_key=?, storage_version_id=?, "
        "stored_at=? WHERE id=?",
        (f"originals/sha256/{index:064x}", uuid.uuid4().hex, now, rid),
    )
    db.execute("INSERT INTO audit (action, at, data) VALUES ('recording.stored', ?, ?)", (now, rid))
    db.execute("COMMIT")
    if stored_full:
        db.execute("PRAGMA synchronous=NORMAL")
    return now


MODES = {
    "NORMAL everywhere (before)": ("NORMAL", False),
    "FULL for the stored commit (now)": ("NORMAL", True),
    "FULL everywhere (reference)": ("FULL", False),
}


def durability_cost(directory: Path, count: int) -> None:
    print(f"\n1. durability: {count} ingest transactions (2 commits each), one by one")
    results: dict[str, list[float]] = {name: [] for name in MODES}
    for _round in range(3):
        for index_mode, (name, (level, stored_full)) in enumerate(MODES.items()):
            path = directory / f"durability-{index_mode}.sqlite3"
            for leftover in directory.glob(f"{path.name}*"):
                leftover.unlink()
            db = _connect(path, level)
            db.executescript(SCHEMA)
            started = time.perf_counter()
            for index in range(count):
                _ingest_one(db, index, stored_full=stored_full)
            results[name].append(count / (time.perf_counter() - started))
            db.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    before = medians["NORMAL everywhere (before)"]
    for name, value in medians.items():
        rounds = ", ".join(f"{v:.0f}" for v in results[name])
        print(
            f"   {name:34} {value:8.0f} ingests/s  ratio to before {value / before:.2f}  [{rounds}]"
        )


def durability_cost_with_put(directory: Path, weed: SeaweedServer, count: int) -> None:
    """The same two commits, each ingest preceded by what ingest really does before its
    `stored` commit: the COMPLIANCE-locked PUT of the original (1 MiB) to the S3 server."""
    import datetime
    import hashlib

    from media.object_store import ObjectStore, ObjectStoreConfig

    print(f"\n1b. durability with the S3 PUT of a 1 MiB original per ingest ({count} each)")
    store = ObjectStore(
        ObjectStoreConfig(
            endpoint_url=weed.endpoint_url,
            access_key=weed.access_key,
            secret_key=weed.secret_key,
            region="us-east-1",
        )
    )
    bucket = f"bench-originals-{uuid.uuid4().hex[:8]}"
    store.ensure_bucket(bucket, object_lock=True)
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    original = directory / "original.bin"
    results: dict[str, list[float]] = {name: [] for name in MODES}
    for _round in range(3):
        for index_mode, (name, (level, stored_full)) in enumerate(MODES.items()):
            path = directory / f"durability-put-{index_mode}.sqlite3"
            for leftover in directory.glob(f"{path.name}*"):
                leftover.unlink()
            db = _connect(path, level)
            db.executescript(SCHEMA)
            started = time.perf_counter()
            for index in range(count):
                payload = os.urandom(1 << 20)
                original.write_bytes(payload)
                store.put_original(
                    bucket=bucket,
                    path=original,
                    sha256_hex=hashlib.sha256(payload).hexdigest(),
                    retain_until=until,
                )
                _ingest_one(db, index, stored_full=stored_full)
            results[name].append(count / (time.perf_counter() - started))
            db.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    before = medians["NORMAL everywhere (before)"]
    for name, value in medians.items():
        rounds = ", ".join(f"{v:.1f}" for v in results[name])
        print(
            f"   {name:34} {value:8.1f} ingests/s  ratio to before {value / before:.2f}  [{rounds}]"
        )


def _target(directory: Path, weed: SeaweedServer, name: str) -> tuple[BackupTarget, dict[str, str]]:
    env = {
        "FV_VAR_DIR": str(directory),
        "DATABASE_URL": f"sqlite:///{directory / name}",
        "FV_S3_ENDPOINT_URL": weed.endpoint_url,
        "FV_BACKUP_PATH": f"bench-{uuid.uuid4().hex[:8]}",
        "FV_BACKUP_SNAPSHOT_INTERVAL": "1h",
    }
    return BackupTarget.from_env(env), {**os.environ, **env, "PYTHONPATH": str(ROOT)}


def _replicator(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ops.litestream", "replicate"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


WRITER = """
import sqlite3, sys, time, uuid
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
i = 0
while True:
    i += 1
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO audit (action, at, data) VALUES ('tick', ?, ?)", (time.time(), str(i)))
    db.execute("COMMIT")
    print(i, flush=True)
    time.sleep(0.05)
"""


def recovery_point(directory: Path, weed: SeaweedServer, cuts: int) -> None:
    print(f"\n2. recovery point: {cuts} power cuts at random moments, writer at 20 commits/s")
    rpos: list[float] = []
    lost_counts: list[int] = []
    for cut in range(cuts):
        name = f"rpo-{cut}.sqlite3"
        target, env = _target(directory, weed, name)
        db = _connect(target.db_path, "FULL")
        db.executescript(SCHEMA)
        db.close()
        replicator = _replicator(env)
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target.db_path)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        time.sleep(random.uniform(4, 9))  # the moment of the cut
        os.killpg(writer.pid, signal.SIGKILL)
        os.killpg(replicator.pid, signal.SIGKILL)
        cut_at = time.time()
        acknowledged = len((writer.communicate()[0] or "").split())
        replicator.wait()
        for leftover in directory.glob(f"{name}*"):
            leftover.unlink()
        restore(target)
        with sqlite3.connect(target.db_path) as restored:
            count, last = restored.execute(
                "SELECT count(*), max(at) FROM audit WHERE action='tick'"
            ).fetchone()
        rpo = cut_at - (last or cut_at)
        rpos.append(rpo)
        lost_counts.append(acknowledged - count)
        print(
            f"   cut {cut + 1}: acknowledged {acknowledged}, restored {count}, "
            f"lost {acknowledged - count}, last restored commit {rpo:.2f}s before the cut"
        )
    print(
        f"   RPO median {statistics.median(rpos):.2f}s, max {max(rpos):.2f}s; "
        f"acknowledged commits lost: median {statistics.median(lost_counts)}, "
        f"max {max(lost_counts)} (Litestream sync-interval 1s)"
    )


def restore_time(directory: Path, weed: SeaweedServer, sizes_mib: list[int]) -> None:
    print("\n3. recovery time vs database size (restore vs a plain file copy, same run)")
    for mib in sizes_mib:
        name = f"size-{mib}.sqlite3"
        target, env = _target(directory, weed, name)
        db = _connect(target.db_path, "NORMAL")
        db.executescript(SCHEMA)
        blob = os.urandom(4096)
        rows = mib * 1024 * 1024 // 4200
        db.execute("BEGIN")
        for index in range(rows):
            db.execute(
                "INSERT INTO recording VALUES (?, ?, 2048, 'stored', 'k', 'v', 0, ?)",
                (uuid.uuid4().hex, f"{index:064x}", blob),
            )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        seconds, copy_seconds, size = _replicate_and_restore(directory, weed, target, env, mib)
        with sqlite3.connect(directory / f"restored-{mib}.sqlite3") as restored:
            assert restored.execute("SELECT count(*) FROM recording").fetchone() == (rows,)
        print(
            f"   {size / 2**20:7.1f} MiB ({rows} rows): restore {seconds:6.2f}s, "
            f"file copy {copy_seconds:6.3f}s, ratio {seconds / max(copy_seconds, 1e-3):.1f}x"
        )
        output = directory / f"restored-{mib}.sqlite3"
        for path in (output, directory / "copy.sqlite3", target.db_path):
            path.unlink(missing_ok=True)


def _replicate_and_restore(
    directory: Path, weed: SeaweedServer, target: BackupTarget, env: dict[str, str], tag: object
) -> tuple[float, float, int]:
    """Litestream ships the database's first snapshot; then restore it beside a plain copy of
    the same file (the same-run reference). Returns (restore s, copy s, bytes)."""
    target.ensure_bucket()  # before the listing below (the replicator creates it too)
    replicator = _replicator(env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # wait for the first snapshot to be in S3
        listed = weed_client(weed).list_objects_v2(Bucket=target.bucket, Prefix=f"{target.path}/")
        if listed.get("KeyCount", 0) > 0:
            break
        time.sleep(0.5)
    time.sleep(2)
    os.killpg(replicator.pid, signal.SIGTERM)
    replicator.wait()
    size = target.db_path.stat().st_size
    started = time.perf_counter()
    shutil.copyfile(target.db_path, directory / "copy.sqlite3")
    os.sync()
    copy_seconds = time.perf_counter() - started
    result = restore(target, output=directory / f"restored-{tag}.sqlite3")
    return result.seconds, copy_seconds, size


def county_restore_time(directory: Path, weed: SeaweedServer, fraction: float = 1.0) -> None:
    """The county of the province-scale generator (manage.py scale_load --county: 80,000
    recordings, 20,000 activities) in the embedded SQLite database, restored by Litestream."""
    print(f"\n4. recovery time for the county's data x{fraction:g} (embedded SQLite, Litestream)")
    name = "county.sqlite3"
    target, env = _target(directory, weed, name)
    env = {k: v for k, v in env.items() if not k.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = "backend.config.settings"
    load = ["scale_load", "--county", "--fraction", f"{fraction:g}"]
    for args in (["migrate", "--no-input"], load):
        started = time.monotonic()
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=1800,
        )
        print(f"   manage.py {args[0]}: {time.monotonic() - started:.0f}s")
    with sqlite3.connect(target.db_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        recordings = db.execute("SELECT count(*) FROM footage_recording").fetchone()[0]
    seconds, copy_seconds, size = _replicate_and_restore(directory, weed, target, env, "county")
    with sqlite3.connect(directory / "restored-county.sqlite3") as restored:
        assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        got = restored.execute("SELECT count(*) FROM footage_recording").fetchone()[0]
        assert got == recordings, (got, recordings)
    print(
        f"   {size / 2**20:7.1f} MiB ({recordings} recordings): restore {seconds:6.2f}s, "
        f"file copy {copy_seconds:6.3f}s, ratio {seconds / max(copy_seconds, 1e-3):.1f}x"
    )


def weed_client(weed: SeaweedServer):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=weed.endpoint_url,
        aws_access_key_id=weed.access_key,
        aws_secret_access_key=weed.secret_key,
        region_name="us-east-1",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--county", action="store_true", help="only the county's recovery time (section 4)"
    )
    parser.add_argument(
        "--county-fraction", type=float, default=1.0, help="of the county (SQLite loads slowly)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fv-bench-backup-") as scratch:
        directory = Path(scratch)
        weed = SeaweedServer(data_dir=directory / "weed").start()
        try:
            if args.county:
                county_restore_time(directory, weed, args.county_fraction)
                return
            durability_cost(directory, 200 if args.quick else 1000)
            durability_cost_with_put(directory, weed, 30 if args.quick else 100)
            recovery_point(directory, weed, 3 if args.quick else 6)
            restore_time(directory, weed, [4, 16] if args.quick else [8, 64, 256])
            if not args.quick:
                county_restore_time(directory, weed)
        finally:
            weed.stop()


if __name__ == "__main__":
    main()
