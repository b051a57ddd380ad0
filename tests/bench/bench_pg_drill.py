"""The scale-out drill on county-sized data, with issue 28's figures.

    .venv/bin/python tests/bench/bench_pg_drill.py                  # the county (80,000 recordings)
    .venv/bin/python tests/bench/bench_pg_drill.py --fraction 0.1   # a tenth of it

Run as root (the private PostgreSQL cluster runs as the postgres user). Starts its own
`weed mini` and a private PostgreSQL cluster (Unix socket only) that archives its WAL there
with Barman's cloud commands (ops/pg_pitr.py); migrates FieldVault into it and loads the
county of the province-scale generator (`manage.py scale_load --county`); a base backup;
clips told `stored` (originals in S3 with their metadata; rows committed), some archived,
the last ones only in pg_wal; a power cut (SIGKILL of every PostgreSQL process) at a random
moment after the last `stored`; the data directory destroyed; PITR restore of the latest
archived point; `storage_reconcile --trigger after_restore`. Prints:

* recovery point: acknowledged `stored` lost after the reconciliation (target 0), and the
  last commit the restore brought back against the moment of the cut;
* recovery time: restore + WAL replay + promote, beside the same-run reference of a plain
  copy of the same data directory (ratio), and the reconciliation's time over the county;
* the durability change's cost is the embedded one (PostgreSQL commits with
  synchronous_commit=on already): tests/bench/bench_backup.py prints that ratio.

The scale-loaded recordings have no objects in this bucket (the generator writes rows only),
so the reconciliation lists them as missing: the drill's figures are about the clips the
devices were told `stored`, which must all be back and verified.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from ops.seaweed import SeaweedServer  # noqa: E402
from tests.retention import pg_drill  # noqa: E402


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fraction", type=float, default=1.0, help="of the county's data")
    parser.add_argument("--clips", type=int, default=6, help="clips told stored per phase")
    args = parser.parse_args()
    if not pg_drill.barman_present():
        raise SystemExit("Barman's cloud commands are missing: apt-get install barman-cli-cloud")
    scratch = Path(tempfile.mkdtemp(prefix="fv-bench-pgdrill-"))
    weed = SeaweedServer(data_dir=scratch / "weed").start()
    root = pg_drill.PrivateCluster.make_root()
    aws = pg_drill.aws_env(weed.access_key, weed.secret_key)
    os.environ.update(aws)
    cluster = pg_drill.PrivateCluster(root, aws)
    try:
        boto3.client(
            "s3",
            endpoint_url=weed.endpoint_url,
            aws_access_key_id=weed.access_key,
            aws_secret_access_key=weed.secret_key,
            region_name="us-east-1",
        ).create_bucket(Bucket="fv-pg-backup")
        target = pg_drill.pitr_target(weed.endpoint_url, "fv-pg-backup")
        cluster.initdb(target.settings())
        cluster.start()
        cluster.sql("CREATE DATABASE fieldvault")
        env = pg_drill.project_env(
            cluster,
            "fieldvault",
            {"FV_S3_ENDPOINT_URL": weed.endpoint_url, "FV_VAR_DIR": str(scratch / "var")},
        )
        started = time.monotonic()
        _manage(env, "migrate", "--no-input")
        print(f"migrated in {time.monotonic() - started:.0f}s")
        started = time.monotonic()
        print(_manage(env, "scale_load", "--county", "--fraction", f"{args.fraction:g}").strip())
        size = cluster.sql("SELECT pg_size_pretty(pg_database_size('fieldvault'))")
        rows = cluster.sql("SELECT count(*) FROM footage_recording", "fieldvault")
        print(f"county loaded in {time.monotonic() - started:.0f}s: {rows} recordings, {size}")
        started = time.monotonic()
        pg_drill.take_base_backup(cluster, target)
        print(f"base backup in {time.monotonic() - started:.0f}s")

        device, archived = pg_drill.ingest(env, args.clips)
        cluster.switch_and_wait_archived()
        _, unarchived = pg_drill.ingest(env, args.clips, device)
        time.sleep(random.uniform(0, 2))
        cluster.power_cut()
        cut_at = time.time()
        told = [line["stored"] for line in archived + unarchived]
        last_told = max(line["at"] for line in archived + unarchived)

        started = time.monotonic()
        shutil.copytree(cluster.data, scratch / "copy", symlinks=True)
        os.sync()
        copy_seconds = time.monotonic() - started
        data_bytes = sum(p.stat().st_size for p in (scratch / "copy").rglob("*") if p.is_file())
        shutil.rmtree(scratch / "copy")
        shutil.rmtree(cluster.data)  # the disk under PostgreSQL is gone

        restore_seconds = cluster.restore_and_start(target)
        restored = int(
            cluster.sql(
                "SELECT count(*) FROM footage_recording WHERE clip_id = ANY(ARRAY["
                + ",".join(f"'{clip}'" for clip in told)
                + "]) AND state='stored'",
                "fieldvault",
            )
        )
        last = float(
            cluster.sql(
                "SELECT extract(epoch FROM max(stored_at)) FROM footage_recording "
                "WHERE clip_id = ANY(ARRAY[" + ",".join(f"'{c}'" for c in told) + "])",
                "fieldvault",
            )
        )
        started = time.monotonic()
        _code, counts, _output = pg_drill.reconcile(env)
        reconcile_seconds = time.monotonic() - started
        back = cluster.sql(
            "SELECT count(*) FROM footage_recording WHERE state='stored' AND "
            "storage_version_id <> '' AND clip_id = ANY(ARRAY["
            + ",".join(f"'{clip}'" for clip in told)
            + "])",
            "fieldvault",
        )
        lost = len(told) - int(back)
        print("\nrecovery point")
        print(
            f"   told stored {len(told)}; the restore brought back {restored}, the "
            f"reconciliation re-attached {counts.get('reattached')}; acknowledged stored "
            f"lost: {lost} (target 0)"
        )
        print(
            f"   last restored commit {cut_at - last:.1f}s before the cut (last `stored` told "
            f"{cut_at - last_told:.1f}s before it; archive_timeout 60 s bounds the gap)"
        )
        print("\nrecovery time (county data)")
        print(
            f"   restore + replay + promote {restore_seconds:.1f}s vs plain copy of the "
            f"{data_bytes / 2**20:.0f} MiB data directory {copy_seconds:.1f}s: ratio "
            f"{restore_seconds / max(copy_seconds, 1e-3):.1f}x"
        )
        print(
            f"   reconciliation {reconcile_seconds:.1f}s over {counts.get('recordings_checked')} "
            f"recordings ({counts.get('missing')} scale-loaded rows without objects listed "
            f"missing, as expected); audit chain intact: {counts.get('audit_chain_intact')}"
        )
        if lost:
            raise SystemExit(f"{lost} acknowledged stored lost")
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
        weed.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
