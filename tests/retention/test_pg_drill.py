"""Issue 28's scale-out drill, small: FieldVault on a private PostgreSQL cluster that archives
its WAL to S3 (ops/pg_pitr.py, Barman's cloud commands); clips are told `stored` (originals
in the real SeaweedFS with their metadata, rows committed); a power cut (SIGKILL of every
PostgreSQL process) comes after the last `stored`, before its WAL segment is archived, and
the data directory is destroyed; PITR restore to the latest archived point; reconcile: every
clip told `stored` is back — restored, or re-attached from its object's metadata — and
verified; nothing else differs. The county-sized version with figures is
tests/bench/bench_pg_drill.py."""

from __future__ import annotations

import random
import shutil
import time
from typing import Any

import boto3
import pytest
from django.conf import settings as django_settings

from ops.seaweed import SeaweedServer
from tests.retention import pg_drill

pytestmark = pytest.mark.integration


def test_postgres_data_directory_destroyed_pitr_restore_and_reconcile(
    s3: SeaweedServer, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not pg_drill.barman_present():
        pytest.fail("Barman's cloud commands are missing: apt-get install barman-cli-cloud")
    bucket = f"fv-pg-drill-{random.randrange(16**8):08x}"
    boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    target = pg_drill.pitr_target(s3.endpoint_url, bucket)
    aws = pg_drill.aws_env(s3.access_key, s3.secret_key)
    for key, value in aws.items():
        monkeypatch.setenv(key, value)  # Barman's backup and restore run from this process
    root = pg_drill.PrivateCluster.make_root()
    cluster = pg_drill.PrivateCluster(root, aws)
    clock = time.monotonic()

    def step(name: str) -> None:
        nonlocal clock
        print(f"  {name}: {time.monotonic() - clock:.1f}s")
        clock = time.monotonic()

    try:
        cluster.initdb(target.settings())
        cluster.start()
        step("initdb and start")
        test_db = django_settings.DATABASES["default"]
        cluster.load_schema_of(
            f"postgres://{test_db['USER'] or 'postgres'}@{test_db['HOST'] or '127.0.0.1'}:"
            f"{test_db['PORT'] or 5432}/{test_db['NAME']}",
            "fieldvault",
        )
        step("schema loaded")
        pg_drill.take_base_backup(cluster, target)
        step("base backup")
        env = pg_drill.project_env(
            cluster,
            "fieldvault",
            {
                "FV_S3_ENDPOINT_URL": s3.endpoint_url,
                "FV_S3_ACCESS_KEY": s3.access_key,
                "FV_S3_SECRET_KEY": s3.secret_key,
                "FV_ORIGINALS_BUCKET": django_settings.FV_ORIGINALS_BUCKET,
                "FV_DERIVATIVES_BUCKET": django_settings.FV_DERIVATIVES_BUCKET,
            },
        )
        device, archived = pg_drill.ingest(env, 3)
        step("3 stored")
        cluster.switch_and_wait_archived()  # these are in the archive
        step("archived")
        _, unarchived = pg_drill.ingest(env, 4, device)  # these are only in pg_wal
        time.sleep(random.uniform(0, 0.5))
        cluster.power_cut()
        cut_at = time.time()
        shutil.rmtree(cluster.data)  # the disk under PostgreSQL is gone

        step("4 stored, power cut")
        seconds = cluster.restore_and_start(target)
        told = [line["stored"] for line in archived + unarchived]
        restored = int(
            cluster.sql("SELECT count(*) FROM footage_recording WHERE state='stored'", "fieldvault")
        )
        last = float(
            cluster.sql(
                "SELECT coalesce(extract(epoch FROM max(stored_at)), 0) FROM footage_recording",
                "fieldvault",
            )
        )
        assert 3 <= restored <= 7, restored
        code, counts, output = pg_drill.reconcile(env)
        step("restored and reconciled")
        print(
            f"PITR restore {seconds:.1f}s; restored {restored} of {len(told)} stored, last "
            f"restored commit {cut_at - last:.1f}s before the cut; reconcile: {counts}"
        )
        assert code == 0 and "reconciliation clean" in output, output
        assert counts["orphans"] == "0" and counts["audit_chain_intact"] == "True", counts
        assert int(counts["reattached"]) == len(told) - restored, (counts, restored)
        assert int(counts["ok"]) + int(counts["reattached"]) == len(told), counts
        rows = cluster.sql(
            "SELECT clip_id || ':' || state || ':' || (storage_version_id <> '')::text "
            "FROM footage_recording",
            "fieldvault",
        ).split()
        assert sorted(rows) == sorted(f"{clip}:stored:true" for clip in told), rows
        events = cluster.sql(
            "SELECT count(*) FROM audit_auditevent WHERE action='recording.recovered_after_restore'",
            "fieldvault",
        )
        assert int(events) == len(told) - restored
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
