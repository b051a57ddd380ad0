"""PostgreSQL point-in-time recovery through ops/pg_pitr.py, for real: a private PostgreSQL
cluster (initdb, Unix socket only, no TCP port) archives its WAL to the test SeaweedFS with
Barman's cloud commands (Debian's barman-cli-cloud); a base backup; rows committed before
and after a moment; the data directory destroyed; restore to the moment; PostgreSQL replays
the WAL and holds exactly the rows committed before it. The shared PostgreSQL of the test
machine is never touched."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.pg_pitr import BARMAN_BIN, PitrTarget, base_backup, restore
from ops.seaweed import SeaweedServer

pytestmark = pytest.mark.integration


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL's server binaries are missing: apt-get install postgresql")
    return found[-1].parent


class Cluster:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.data = root / "data"
        self.socket = root / "socket"
        self.env = env
        self.bin = _pg_bin()

    def as_postgres(self, *command: str) -> subprocess.CompletedProcess[str]:
        envs = [f"{k}={v}" for k, v in self.env.items()]
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", "env", *envs, *command],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def initdb(self, settings: str) -> None:
        done = self.as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres"
        )
        assert done.returncode == 0, done.stderr
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nlisten_addresses = ''\nunix_socket_directories = '{self.socket}'\n")
            conf.write(settings + "\n")

    def start(self) -> None:
        done = self.as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "120",
            "start",
        )
        assert done.returncode == 0, done.stderr + (self.root / "log").read_text()

    def stop(self, mode: str = "fast") -> None:
        self.as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def sql(self, statement: str) -> str:
        done = self.as_postgres(
            str(self.bin / "psql"),
            "-h",
            str(self.socket),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            statement,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


@pytest.fixture
def cluster_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="fv-pitr-"))
    (root / "socket").mkdir()
    shutil.chown(root, "postgres", "postgres")
    shutil.chown(root / "socket", "postgres", "postgres")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_restore_to_a_moment_holds_exactly_what_was_committed_before_it(
    seaweed: SeaweedServer, cluster_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (BARMAN_BIN / "barman-cloud-wal-archive").exists():
        pytest.fail("Barman's cloud commands are missing: apt-get install barman-cli-cloud")
    bucket = f"fv-pg-backup-{uuid.uuid4().hex[:8]}"
    import boto3

    boto3.client(
        "s3",
        endpoint_url=seaweed.endpoint_url,
        aws_access_key_id=seaweed.access_key,
        aws_secret_access_key=seaweed.secret_key,
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    target = PitrTarget(
        s3_url=f"s3://{bucket}/pitr", server="fv-test", endpoint_url=seaweed.endpoint_url
    )
    aws = {
        "AWS_ACCESS_KEY_ID": seaweed.access_key,
        "AWS_SECRET_ACCESS_KEY": seaweed.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key, value in aws.items():
        monkeypatch.setenv(key, value)  # barman-cloud-backup/restore run from this process
    cluster = Cluster(cluster_root, aws)
    cluster.initdb(target.settings())
    cluster.start()
    cluster.sql("CREATE TABLE custody (id serial PRIMARY KEY, note text)")
    base_backup(target, host=str(cluster.socket), port=5432, user="postgres")
    cluster.sql("INSERT INTO custody (note) VALUES ('before-1'), ('before-2')")
    time.sleep(1.5)
    moment = datetime.datetime.now(datetime.UTC)
    time.sleep(1.5)
    cluster.sql("INSERT INTO custody (note) VALUES ('after')")
    segment = cluster.sql("SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + 60  # wait for the archiver to ship that segment
    while time.monotonic() < deadline:
        failed, archived = cluster.sql(
            "SELECT failed_count, coalesce(last_archived_wal, '') FROM pg_stat_archiver"
        ).split("|")
        if archived >= segment:
            break
        time.sleep(0.5)
    assert archived >= segment, (archived, segment)
    assert int(failed) == 0, (cluster.root / "log").read_text()[-3000:]
    cluster.stop("immediate")  # a crash, then the disk is gone
    shutil.rmtree(cluster.data)

    started = time.monotonic()
    restore(target, data_dir=cluster.data, timestamp=moment)
    subprocess.run(["chown", "-R", "postgres:postgres", str(cluster.data)], check=True)
    (cluster.data).chmod(0o700)
    cluster.start()
    deadline = time.monotonic() + 120
    while cluster.sql("SELECT pg_is_in_recovery()") == "t" and time.monotonic() < deadline:
        time.sleep(0.5)
    seconds = time.monotonic() - started
    notes = cluster.sql("SELECT string_agg(note, ',' ORDER BY id) FROM custody")
    assert notes == "before-1,before-2", notes
    print(f"PITR restore to {moment.isoformat()} in {seconds:.1f}s")
    cluster.stop()
