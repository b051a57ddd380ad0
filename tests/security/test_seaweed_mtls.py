"""Issue 13, item 2: SeaweedFS's gRPC and HTTP ports need the stack's certificates.

Before, `weed shell` on the loopback filer/master gRPC ports deleted a COMPLIANCE-locked
version that S3 itself refused to delete.
"""

from __future__ import annotations

import datetime
import os
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.conf import settings

from ops.seaweed import SeaweedServer, weed_binary
from tests.security.probes import listening_ports, process_tree, unauthenticated_access

pytestmark = pytest.mark.integration


def _weed_shell(server: SeaweedServer, commands: str, home: Path, *, certs: bool) -> str:
    """Run `weed shell` as a local user would; without certs it has no security.toml."""
    master = f"127.0.0.1:{server.ports['master.port']}.{server.ports['master.port.grpc']}"
    filer = f"127.0.0.1:{server.ports['filer.port']}.{server.ports['filer.port.grpc']}"
    config = [f"-config_dir={server.security_dir}"] if certs else []
    env = {**os.environ, "HOME": str(home)}  # no ~/.seaweedfs/security.toml either
    process = subprocess.Popen(
        [weed_binary(), *config, "shell", f"-master={master}", f"-filer={filer}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=home,
        env=env,
    )
    try:
        out, _ = process.communicate(commands.encode(), timeout=12)
    except subprocess.TimeoutExpired:  # it keeps retrying a server that refuses it
        process.kill()
        out, _ = process.communicate()
    return out.decode(errors="replace")


def test_weed_shell_without_certificates_cannot_delete_a_locked_version(
    s3: SeaweedServer, tmp_path: Path
) -> None:
    from backend.footage.storage import object_store

    client = object_store().client
    bucket = settings.FV_ORIGINALS_BUCKET
    key = f"originals/test/{uuid.uuid4().hex}"
    version = client.put_object(
        Bucket=bucket,
        Key=key,
        Body=b"evidence",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1),
    )["VersionId"]
    attack = f"fs.rm -r /buckets/{bucket}/{key}.versions\n"

    started = time.monotonic()
    _weed_shell(s3, attack, tmp_path, certs=False)
    print(f"weed shell without certificates gave up after {time.monotonic() - started:.1f}s")

    # The version is still there and still locked, and S3 still refuses to delete it.
    body = client.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
    assert body == b"evidence"
    assert (
        client.get_object_retention(Bucket=bucket, Key=key, VersionId=version)["Retention"]["Mode"]
        == "COMPLIANCE"
    )
    with pytest.raises(ClientError):
        client.delete_object(Bucket=bucket, Key=key, VersionId=version)
    assert client.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()

    # The same command with the stack's own certificates does reach the filer: it is the
    # mutual TLS, nothing else, that stopped it above (the certificates stay 0600).
    listing = _weed_shell(s3, f"fs.ls /buckets/{bucket}/{key}.versions\n", tmp_path, certs=True)
    assert f"v_{version}" in listing, listing
    for path in s3.security_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(s3.security_dir.stat().st_mode) == 0o700


def test_every_seaweedfs_port_but_s3_refuses_a_client_without_certificates(
    seaweed: SeaweedServer,
) -> None:
    assert seaweed.process is not None
    ports = listening_ports(process_tree([seaweed.process.pid]))
    expected = set(seaweed.ports.values()) | {seaweed.s3_port}
    assert expected <= ports, (expected, ports)
    open_ports = {port: unauthenticated_access(port) for port in sorted(ports)}
    print({port: ways or "refused" for port, ways in open_ports.items()})
    # The probe does see an open port: S3 answers plain HTTP (with an S3 error).
    assert open_ports.pop(seaweed.s3_port)
    assert {port: ways for port, ways in open_ports.items() if ways} == {}
