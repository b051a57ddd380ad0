"""`manage.py doctor` on a real embedded stack: a migrated SQLite database replicated by the
real Litestream into the test SeaweedFS, buckets made by storage_init, an internal CA and
server certificate from ops/tls.py, and a local SNTP server on loopback. Healthy: exit 0,
every line OK. Broken (the originals bucket without versioning or lock, the application
running with the destruction identity, wrong S3 keys, an expired certificate, a clock 5 s
off, no backup shipping): exit 1 and each FAIL line names the fix."""

from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from ops.ports import free_port
from ops.seaweed import SeaweedServer
from ops.tls import TlsFiles, ensure_tls, issue_server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NTP_EPOCH = 2208988800


class SntpServer:
    """A minimal NTP server on a loopback UDP port answering with this clock + `skew`."""

    def __init__(self, skew: float = 0.0) -> None:
        self.skew = skew
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopped = threading.Event()
        self.answered = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _stamp(moment: float) -> tuple[int, int]:
        return int(moment) + NTP_EPOCH, int((moment % 1) * 2**32)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                request, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            received = time.time() + self.skew
            answer = bytearray(48)
            answer[0] = (0 << 6) | (4 << 3) | 4  # version 4, server
            answer[1] = 2  # stratum
            answer[24:32] = request[40:48]  # originate = the client's transmit
            struct.pack_into("!II", answer, 32, *self._stamp(received))
            struct.pack_into("!II", answer, 40, *self._stamp(time.time() + self.skew))
            self.sock.sendto(bytes(answer), peer)
            self.answered += 1

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def stack(seaweed: SeaweedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    var = tmp_path_factory.mktemp("doctor-var")
    suffix = uuid.uuid4().hex[:8]
    tls = ensure_tls(var / "tls", ["fieldvault.test", "127.0.0.1"])
    ntp = SntpServer()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "FV_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'fieldvault.sqlite3'}",
        "FV_S3_ENDPOINT_URL": seaweed.endpoint_url,
        "FV_S3_ACCESS_KEY": seaweed.access_key,
        "FV_S3_SECRET_KEY": seaweed.secret_key,
        "FV_S3_DESTRUCTION_ACCESS_KEY": seaweed.destruction_access_key,
        "FV_S3_DESTRUCTION_SECRET_KEY": seaweed.destruction_secret_key,
        "FV_ORIGINALS_BUCKET": f"fv-originals-doctor-{suffix}",
        "FV_DERIVATIVES_BUCKET": f"fv-derivatives-doctor-{suffix}",
        "FV_BACKUP_BUCKET": f"fv-db-backup-doctor-{suffix}",
        "FV_TLS_CERT_FILE": str(tls.cert),
        "FV_TLS_CA_FILE": str(tls.ca),
        "FV_NTP_SERVER": ntp.address,
        "FV_OBJECT_STORE_DIR": str(seaweed.data_dir),
    }
    env.pop("FV_FFMPEG", None)
    env.pop("FV_CJK_FONT", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(
        [*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
    )
    subprocess.run(
        [*manage, "storage_init"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
    )
    litestream = subprocess.Popen(
        [sys.executable, "-m", "ops.litestream", "replicate"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = boto3.client(
        "s3",
        endpoint_url=seaweed.endpoint_url,
        aws_access_key_id=seaweed.access_key,
        aws_secret_access_key=seaweed.secret_key,
        region_name="us-east-1",
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the first replicated transaction is there
        try:
            listing = client.list_objects_v2(Bucket=env["FV_BACKUP_BUCKET"])
            if any(item["Key"].endswith(".ltx") for item in listing.get("Contents", [])):
                break
        except client.exceptions.NoSuchBucket:
            pass
        time.sleep(0.3)
    else:
        pytest.fail("Litestream replicated nothing within 60 s")
    try:
        yield {"env": env, "tls": tls, "ntp": ntp, "litestream": litestream}
    finally:
        litestream.terminate()
        litestream.wait(timeout=30)
        ntp.stop()


def doctor(env: dict[str, str], *args: str, **changes: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "doctor", *args],
        env={**env, **changes},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def lines(output: str) -> dict[str, list[str]]:
    """check name → its status words, from the `STATUS check detail` lines."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in {"OK", "WARN", "FAIL"}:
            found.setdefault(parts[1], []).append(parts[0])
    return found


def test_healthy_stack_is_all_ok_in_chinese_and_english(stack: dict) -> None:
    answered = stack["ntp"].answered
    result = doctor(stack["env"])
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result.stdout)
    assert set(found) == {
        "ffmpeg",
        "font",
        "s3_buckets",
        "s3_identity",
        "tls",
        "backup",
        "time",
        "space",
    }, result.stdout
    assert all(status == ["OK"] * len(status) for status in found.values()), result.stdout
    assert "AccessDenied" in result.stdout and "drawtext" in result.stdout
    assert "结果：" in result.stdout and "修复" not in result.stdout
    assert stack["ntp"].answered > answered  # the SNTP server was really asked

    english = doctor(stack["env"], "--language", "en")
    assert english.returncode == 0, english.stdout
    assert "Result:" in english.stdout
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in english.stdout), english.stdout


def test_broken_stack_fails_with_the_fix(stack: dict, tmp_path: Path) -> None:
    env = stack["env"]
    expired = TlsFiles(tmp_path / "tls")
    (tmp_path / "tls").mkdir()
    issue_server(expired, ["fieldvault.test"], days=-1, not_before_days=30)
    skewed = SntpServer(skew=5.0)
    try:
        result = doctor(
            env,
            "--language",
            "en",
            # the derivatives bucket: no versioning, no Object Lock
            FV_ORIGINALS_BUCKET=env["FV_DERIVATIVES_BUCKET"],
            FV_TLS_CERT_FILE=str(expired.cert),
            FV_NTP_SERVER=skewed.address,
            FV_BACKUP_BUCKET=f"fv-db-backup-none-{uuid.uuid4().hex[:8]}",
        )
    finally:
        skewed.stop()
    assert result.returncode == 1, result.stdout + result.stderr
    found = lines(result.stdout)
    assert "FAIL" in found["s3_buckets"] and "FAIL" in found["tls"], result.stdout
    assert "FAIL" in found["time"] and "FAIL" in found["backup"], result.stdout
    assert found["ffmpeg"] == ["OK"] and found["font"] == ["OK"]
    assert "Object Lock can only be enabled when a bucket is created" in result.stdout
    assert result.stdout.count("Fix:") == len(re.findall(r"^(FAIL|WARN) ", result.stdout, re.M))
    offset = re.search(r"off by (-?\d+) ms", result.stdout)
    assert offset and 4800 < int(offset.group(1)) < 5200, result.stdout  # measured, in ms

    # The application running with the destruction identity: allowed what it must not be.
    wide = doctor(
        env,
        FV_S3_ACCESS_KEY=env["FV_S3_DESTRUCTION_ACCESS_KEY"],
        FV_S3_SECRET_KEY=env["FV_S3_DESTRUCTION_SECRET_KEY"],
        FV_S3_DESTRUCTION_ACCESS_KEY="fieldvault-another",
    )
    assert wide.returncode == 1 and lines(wide.stdout)["s3_identity"] == ["FAIL"], wide.stdout
    assert "PutBucketVersioning" in wide.stdout and "修复" in wide.stdout

    # Wrong keys: nothing in S3 can be read.
    wrong = doctor(env, FV_S3_SECRET_KEY="not-the-secret")
    assert wrong.returncode == 1 and lines(wrong.stdout)["s3_buckets"] == ["FAIL"], wrong.stdout


def test_sntp_offset_is_measured(stack: dict) -> None:
    from backend.operations.services.doctor import sntp_offset

    server = SntpServer(skew=-2.5)
    try:
        offset = sntp_offset(server.address, 2)
    finally:
        server.stop()
    assert -2.6 < offset < -2.4
    with pytest.raises(OSError):
        sntp_offset(f"127.0.0.1:{free_port()}", 0.5)  # nothing answers
