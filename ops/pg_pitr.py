"""PostgreSQL point-in-time recovery for the scale-out layout: WAL archiving and base backups
to S3 with Barman's cloud commands (Debian's `barman-cli-cloud`), and restore to a moment.

    python -m ops.pg_pitr settings                 # the postgresql.conf lines to add
    python -m ops.pg_pitr backup                   # a base backup now (weekly, from cron)
    python -m ops.pg_pitr restore DATA_DIR [--timestamp 2026-12-05T16:00:00+08:00]
    python -m ops.pg_pitr prune                    # keep FV_PITR_RETENTION (30 days)

Environment: FV_PITR_S3_URL (s3://bucket/prefix, default s3://fv-pg-backup/pitr),
FV_PITR_SERVER (the server's name in the bucket, default fieldvault), FV_PITR_S3_ENDPOINT_URL
(default FV_S3_ENDPOINT_URL), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for the bucket (in
the PostgreSQL server's environment too: its archive_command ships each WAL segment),
PGHOST/PGPORT/PGUSER for the base backup. Retention: the base backups and the WAL needed to
recover to any moment of the last FV_PITR_RETENTION days ("RECOVERY WINDOW OF 30 DAYS").

`restore` writes the base backup into DATA_DIR (absent or empty), then `recovery.signal`
and the restore settings: on its next start PostgreSQL replays the archived WAL up to the
timestamp (or to the end) and promotes. Then run `manage.py storage_reconcile`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BARMAN_BIN = Path(os.environ.get("FV_BARMAN_BIN", "/usr/bin"))


@dataclass(frozen=True)
class PitrTarget:
    s3_url: str
    server: str
    endpoint_url: str
    retention: str = "RECOVERY WINDOW OF 30 DAYS"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> PitrTarget:
        env = dict(os.environ if env is None else env)
        return cls(
            s3_url=env.get("FV_PITR_S3_URL", "s3://fv-pg-backup/pitr"),
            server=env.get("FV_PITR_SERVER", "fieldvault"),
            endpoint_url=env.get(
                "FV_PITR_S3_ENDPOINT_URL", env.get("FV_S3_ENDPOINT_URL", "http://127.0.0.1:8333")
            ),
            retention=env.get("FV_PITR_RETENTION", "RECOVERY WINDOW OF 30 DAYS"),
        )

    def _tool(self, name: str, *args: str) -> list[str]:
        return [
            str(BARMAN_BIN / name),
            "--cloud-provider",
            "aws-s3",
            "--endpoint-url",
            self.endpoint_url,
            *args,
        ]

    def archive_command(self) -> str:
        return shlex.join(self._tool("barman-cloud-wal-archive", self.s3_url, self.server)) + " %p"

    def restore_command(self) -> str:
        return (
            shlex.join(self._tool("barman-cloud-wal-restore", self.s3_url, self.server)) + " %f %p"
        )

    def settings(self) -> str:
        return "\n".join(
            [
                "wal_level = replica",
                "archive_mode = on",
                f"archive_command = '{self.archive_command()}'",
                "archive_timeout = 60  # a quiet server still ships a segment a minute",
            ]
        )


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # Barman's commands, arguments we built
        command, capture_output=True, text=True, env=env, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(command[0]).name} failed (exit {done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-2000:]}"
        )
    return done.stdout


def base_backup(
    target: PitrTarget, *, host: str, port: int, user: str, immediate_checkpoint: bool = False
) -> str:
    """Take a base backup now; returns Barman's backup id. By default the backup's checkpoint
    is spread (checkpoint_completion_target) to spare a busy server; immediate_checkpoint
    (`backup --now`) starts the copy at once (after a restore, before a drill)."""
    _run(
        target._tool(
            "barman-cloud-backup",
            *(["--immediate-checkpoint"] if immediate_checkpoint else []),
            "-h",
            host,
            "-p",
            str(port),
            "-U",
            user,
            target.s3_url,
            target.server,
        )
    )
    return latest_backup_id(target)


def latest_backup_id(target: PitrTarget) -> str:
    """The newest base backup's id (Barman 3.4, Debian 12's, has no "latest" alias)."""
    listed = _run(
        target._tool("barman-cloud-backup-list", "--format", "json", target.s3_url, target.server)
    )
    backups = json.loads(listed)["backups_list"]
    if not backups:
        raise RuntimeError(f"no base backup in {target.s3_url}/{target.server}")
    return str(backups[-1]["backup_id"])


def prune(target: PitrTarget) -> str:
    return _run(
        target._tool(
            "barman-cloud-backup-delete",
            "--retention-policy",
            target.retention,
            target.s3_url,
            target.server,
        )
    )


def restore(
    target: PitrTarget,
    *,
    data_dir: Path,
    timestamp: datetime.datetime | None = None,
    backup_id: str = "latest",
) -> None:
    """Write the base backup into data_dir and prepare recovery to `timestamp`."""
    if data_dir.exists() and any(data_dir.iterdir()):
        raise RuntimeError(f"{data_dir} is not empty: restore into an empty directory")
    if backup_id == "latest":
        backup_id = latest_backup_id(target)
    _run(
        target._tool("barman-cloud-restore", target.s3_url, target.server, backup_id, str(data_dir))
    )
    lines = [f"restore_command = '{target.restore_command()}'"]
    if timestamp is not None:
        moment = timestamp.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        lines += [f"recovery_target_time = '{moment}'", "recovery_target_action = 'promote'"]
    with (data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write("\n# ops/pg_pitr.py restore\n" + "\n".join(lines) + "\n")
    (data_dir / "recovery.signal").touch()


def _parse_time(text: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time with its zone")
    return moment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.pg_pitr", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("settings", help="print the postgresql.conf lines")
    backing = commands.add_parser("backup", help="take a base backup now")
    backing.add_argument("--now", action="store_true", help="immediate checkpoint")
    commands.add_parser("prune", help="delete base backups and WAL outside the retention")
    restoring = commands.add_parser("restore", help="restore into an empty data directory")
    restoring.add_argument("data_dir", type=Path)
    restoring.add_argument("--timestamp", type=_parse_time)
    restoring.add_argument("--backup-id", default="latest")
    args = parser.parse_args(argv)
    target = PitrTarget.from_env()
    try:
        if args.command == "settings":
            print(target.settings())
        elif args.command == "backup":
            backup_id = base_backup(
                target,
                host=os.environ.get("PGHOST", "127.0.0.1"),
                port=int(os.environ.get("PGPORT", "5432")),
                user=os.environ.get("PGUSER", "postgres"),
                immediate_checkpoint=args.now,
            )
            print(f"base backup {backup_id} in {target.s3_url}/{target.server}")
        elif args.command == "prune":
            print(prune(target))
        else:
            restore(
                target, data_dir=args.data_dir, timestamp=args.timestamp, backup_id=args.backup_id
            )
            print(f"restored into {args.data_dir}; start PostgreSQL on it to replay the WAL")
    except RuntimeError as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
