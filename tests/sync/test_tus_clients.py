"""Stock tus clients against a real uvicorn subprocess serving the endpoint (PostgreSQL).

tuspy (Python) and tus-js-client 4 (Node 20, tests/sync/tus_client/) run unmodified,
each with a cut and a resume; a raw socket cuts a PATCH mid-body; the server is killed
-9 mid-PATCH and restarted; two PATCHes race across two worker processes.

tus-js-client must be installed first: `npm ci --prefix tests/sync/tus_client`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from backend.footage.models import RecordingState
from sync.models import Upload, UploadState
from sync.tus.testing import UvicornServer
from tests.factories import make_device, make_officer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

PREFIX = "/api/sync/v1/uploads"
MiB = 1024 * 1024
NODE_CLIENT = Path(__file__).parent / "tus_client"


def announce(token: str, clip_id: str, data_path: Path) -> dict[str, Any]:
    data = data_path.read_bytes()
    begin = timezone.now() - datetime.timedelta(hours=2)
    clip = {
        "clip_id": clip_id,
        "file_name": data_path.name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "recorded_start": begin.isoformat(),
        "recorded_end": (begin + datetime.timedelta(minutes=10)).isoformat(),
        "media_kind": "video",
    }
    response = Client().post(
        "/api/sync/v1/manifest",
        {"device_time": timezone.now().isoformat(), "clips": [clip]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.content
    answer: dict[str, Any] = response.json()["clips"][0]
    return answer


def clip_file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def upload_of(url: str) -> Upload:
    return Upload.objects.get(pk=uuid.UUID(url.rstrip("/").rsplit("/", 1)[1]))


def assert_verified(url: str, data_path: Path) -> None:
    upload = upload_of(url)
    expected = hashlib.sha256(data_path.read_bytes()).hexdigest()
    assert upload.state == UploadState.COMPLETE, upload.state
    assert upload.received_sha256 == expected
    assert upload.recording.state in (RecordingState.VERIFIED, RecordingState.STORED)


@pytest.fixture(scope="module")
def running_server(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: Any
) -> Iterator[UvicornServer]:
    """One server for the module (tests that kill it start it again on the same port)."""
    from django.conf import settings

    work = tmp_path_factory.mktemp("tus-server")
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    env = {
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "DATABASE_URL": f"postgres://{auth}@{host}/{db['NAME']}",
        "FV_STAGING_DIR": str(work / "staging"),
        "FV_VAR_DIR": str(work / "var"),
        "FV_UPLOAD_LOCK_LEASE_SECONDS": "3",
        "FV_UPLOAD_CHECKPOINT_BYTES": str(MiB),
        "FV_LOG_LEVEL": "INFO",
        # Storing verified clips in S3 is not under test here: fail fast, stay staged.
        "FV_S3_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    with UvicornServer(
        factory="sync.tus.app:django_app_factory", env=env, log_path=work / "server.log"
    ) as running:
        yield running


@pytest.fixture
def server(running_server: UvicornServer, settings: Any, transactional_db: None) -> UvicornServer:
    settings.FV_STAGING_DIR = Path(running_server.env["FV_STAGING_DIR"])
    if running_server.process is None or running_server.process.poll() is not None:
        running_server.start()
    return running_server


@pytest.fixture
def device() -> tuple[Any, str]:
    return make_device(officer=make_officer())


def tuspy(server: UvicornServer, token: str) -> tus_client.TusClient:
    return tus_client.TusClient(
        server.url + PREFIX + "/", headers={"Authorization": f"Bearer {token}"}
    )


class RawPatch:
    """A PATCH whose body is sent by hand, to cut it or hold it open at a chosen byte."""

    def __init__(
        self,
        server: UvicornServer,
        path: str,
        *,
        token: str,
        offset: int,
        length: int,
        headers: dict[str, str] | None = None,
    ):
        self.sock = socket.create_connection(("127.0.0.1", server.port))
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: Bearer {token}\r\nUpload-Offset: {offset}\r\n{extra}"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {length}\r\n\r\n"
        )
        self.sock.sendall(head.encode())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def status(self) -> int:
        self.sock.settimeout(20)
        received = b""
        while b"\r\n" not in received:
            block = self.sock.recv(4096)
            if not block:
                break
            received += block
        return int(received.split(b" ", 2)[1])

    def close(self) -> None:
        self.sock.close()


def head_offset(server: UvicornServer, url: str, token: str) -> int:
    response = requests.head(
        server.url + url,
        headers={"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.status_code
    return int(response.headers["Upload-Offset"])


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


# ------------------------------------------------------------------- tuspy
def test_tuspy_resumes_manifest_url_after_a_cut(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    _device, token = device
    data = clip_file(tmp_path, "clip-a.mp4", 6 * MiB + 123)
    url = announce(token, "CLIP-A", data)["upload_url"]
    # Two chunks, then the client goes away (a dock unplugged between requests).
    first = tuspy(server, token).uploader(str(data), url=server.url + url, chunk_size=2 * MiB)
    first.upload_chunk()
    first.upload_chunk()
    assert head_offset(server, url, token) == 4 * MiB
    # A new client process resumes from the server's offset: tuspy's `Uploader(url=...)`.
    resumed = tuspy(server, token).uploader(str(data), url=server.url + url, chunk_size=4 * MiB)
    assert resumed.offset == 4 * MiB
    resumed.upload()
    assert_verified(url, data)


def test_tuspy_creates_with_clip_id_metadata(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    _device, token = device
    data = clip_file(tmp_path, "clip-b.mp4", 3 * MiB)
    answer = announce(token, "CLIP-B", data)
    uploader = tuspy(server, token).uploader(
        str(data), metadata={"clip_id": "CLIP-B", "filename": "../../etc/clip-b.mp4"}
    )
    uploader.upload()
    assert uploader.url == server.url + answer["upload_url"]  # the pre-created upload
    assert_verified(answer["upload_url"], data)
    staged = list(Path(server.env["FV_STAGING_DIR"]).rglob("*"))
    assert all(uuid.UUID(p.name.split(".")[0]) for p in staged if p.is_file())


def test_tuspy_sha1_checksum_is_refused_precisely(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    _device, token = device
    data = clip_file(tmp_path, "clip-c.mp4", 100_000)
    url = announce(token, "CLIP-C", data)["upload_url"]
    uploader = tuspy(server, token).uploader(str(data), url=server.url + url, upload_checksum=True)
    with pytest.raises(TusCommunicationError) as caught:
        uploader.upload()
    assert caught.value.status_code == 400
    assert upload_of(url).offset == 0


# ---------------------------------------------------------------- tus-js-client
def run_node(options: dict[str, Any]) -> dict[str, Any]:
    if not (NODE_CLIENT / "node_modules" / "tus-js-client").exists():
        pytest.fail("tus-js-client is not installed: run `npm ci --prefix tests/sync/tus_client`")
    node = shutil.which("node") or "/usr/bin/node"
    completed = subprocess.run(
        [node, str(NODE_CLIENT / "upload.js"), json.dumps(options)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    assert lines, completed.stderr
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def test_tus_js_client_aborts_mid_upload_and_resumes(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    _device, token = device
    data = clip_file(tmp_path, "clip-d.mp4", 24 * MiB + 7)
    answer = announce(token, "CLIP-D", data)
    endpoint = server.url + PREFIX + "/"
    cut = run_node(
        {
            "endpoint": endpoint,
            "token": token,
            "file": str(data),
            "metadata": {"clip_id": "CLIP-D", "filename": "clip-d.mp4"},
            "chunkSize": 4 * MiB,
            "abortAfterBytes": 9 * MiB,
        }
    )
    assert cut["ok"] and cut["aborted"], cut
    assert cut["url"] == server.url + answer["upload_url"]
    wait_for(lambda: upload_of(answer["upload_url"]).lock_token is None)
    partial = head_offset(server, answer["upload_url"], token)
    assert 0 < partial < data.stat().st_size
    done = run_node(
        {
            "endpoint": endpoint,
            "uploadUrl": cut["url"],
            "token": token,
            "file": str(data),
            "chunkSize": 8 * MiB,
        }
    )
    assert done["ok"] and not done["aborted"], done
    assert_verified(answer["upload_url"], data)


def test_tus_js_client_defer_length_with_creation(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    _device, token = device
    data = clip_file(tmp_path, "clip-e.mp4", 5 * MiB)
    answer = announce(token, "CLIP-E", data)
    done = run_node(
        {
            "endpoint": server.url + PREFIX + "/",
            "token": token,
            "file": str(data),
            "metadata": {"clip_id": "CLIP-E"},
            "chunkSize": 2 * MiB,
            "deferLength": True,
        }
    )
    assert done["ok"], done["error"]
    assert_verified(answer["upload_url"], data)


# ------------------------------------------------------------ cuts and crashes
def test_client_disconnect_mid_patch_keeps_every_received_byte(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    _device, token = device
    data = clip_file(tmp_path, "clip-f.mp4", 8 * MiB)
    content = data.read_bytes()
    url = announce(token, "CLIP-F", data)["upload_url"]
    patch = RawPatch(server, url, token=token, offset=0, length=len(content))
    patch.send(content[: 3 * MiB + 5])
    patch.close()
    wait_for(lambda: upload_of(url).lock_token is None and upload_of(url).offset > 0)
    assert head_offset(server, url, token) == 3 * MiB + 5
    resumed = tuspy(server, token).uploader(str(data), url=server.url + url)
    resumed.upload()
    assert_verified(url, data)


def test_server_kill_9_mid_patch_resumes_from_persisted_offset(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    _device, token = device
    data = clip_file(tmp_path, "clip-g.mp4", 16 * MiB)
    content = data.read_bytes()
    url = announce(token, "CLIP-G", data)["upload_url"]
    patch = RawPatch(server, url, token=token, offset=0, length=len(content))
    patch.send(content[: 6 * MiB + 999])
    wait_for(lambda: upload_of(url).offset >= 3 * MiB)
    server.kill9()
    patch.close()
    persisted = upload_of(url).offset
    assert 0 < persisted <= 6 * MiB + 999
    staging = upload_of(url).staging_path
    assert staging.stat().st_size >= persisted  # maybe more: unacknowledged tail, cut on resume

    server.start()
    assert head_offset(server, url, token) == persisted
    # The dead process's lease (3 s here) must run out first: tuspy retries the 423.
    resumed = tuspy(server, token).uploader(
        str(data), url=server.url + url, chunk_size=4 * MiB, retries=10, retry_delay=1
    )
    resumed.upload()
    assert_verified(url, data)
    assert staging.read_bytes() == content


def test_two_concurrent_patches_across_two_processes(
    tmp_path: Path, settings: Any, device: Any, server: UvicornServer
) -> None:
    # The first PATCH to a second process, the others to the module's server: within one
    # process a newer request of the device takes the upload over (it is the device's
    # resume); across processes the database lease holds and answers 423.
    _device, token = device
    two = UvicornServer(
        factory=server.factory,
        env={k: v for k, v in server.env.items() if k.startswith(("FV_", "DJANGO", "DATABASE"))},
        log_path=tmp_path / "server2.log",
    )
    two.start()
    try:
        data = clip_file(tmp_path, "clip-h.mp4", 4 * MiB)
        content = data.read_bytes()
        url = announce(token, "CLIP-H", data)["upload_url"]
        first = RawPatch(two, url, token=token, offset=0, length=len(content))
        first.send(content[: 2 * MiB])
        wait_for(lambda: upload_of(url).lock_token is not None)
        statuses = []
        for _ in range(4):  # several connections, all refused by the DB lease
            second = requests.patch(
                server.url + url,
                data=content,
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Authorization": f"Bearer {token}",
                    "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                },
                timeout=20,
            )
            statuses.append(second.status_code)
            assert second.json()["code"] in ("upload_locked", "offset_mismatch")
            if second.status_code == 423:  # the lease's remaining time (3 s leases here)
                assert 1 <= int(second.headers["Retry-After"]) <= 3, second.headers
        assert set(statuses) <= {423, 409} and 423 in statuses, statuses
        first.send(content[2 * MiB :])
        assert first.status() == 204
        first.close()
        assert_verified(url, data)
        assert upload_of(url).staging_path.read_bytes() == content
    finally:
        two.stop()


def test_checksum_and_bad_input_over_http(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    _device, token = device
    data = clip_file(tmp_path, "clip-i.mp4", 200_000)
    content = data.read_bytes()
    url = announce(token, "CLIP-I", data)["upload_url"]
    base = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}
    patch_headers = {
        **base,
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
    }
    wrong = "sha256 " + base64.b64encode(hashlib.sha256(b"nope").digest()).decode()
    response = requests.patch(
        server.url + url,
        data=content,
        headers={**patch_headers, "Upload-Checksum": wrong},
        timeout=10,
    )
    assert response.status_code == 460 and response.json()["code"] == "checksum_mismatch"
    response = requests.patch(
        server.url + url,
        data=content,
        headers={**patch_headers, "Upload-Checksum": "crc32 AAAAAA=="},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.headers["Tus-Checksum-Algorithm"] == "sha256"
    response = requests.patch(server.url + url, data=content, headers=base, timeout=10)
    assert response.status_code == 415
    response = requests.post(
        server.url + PREFIX + "/", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 412 and response.json()["code"] == "missing_tus_resumable"
    response = requests.head(server.url + url, headers={"Tus-Resumable": "1.0.0"}, timeout=10)
    assert response.status_code == 401
    assert upload_of(url).offset == 0
    response = requests.options(server.url + PREFIX + "/", timeout=10)
    assert response.status_code == 204 and response.headers["Tus-Version"] == "1.0.0"
