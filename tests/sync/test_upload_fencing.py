"""Uploads never wedge (issue 14): fencing of late requests, crashed lease holders, lost
staged bytes. Real uvicorn processes on PostgreSQL, real sockets; no mocks."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone

from backend.footage.models import Recording, RecordingState
from sync.models import UploadState
from sync.tus.testing import UvicornServer
from tests.sync import test_tus_clients as clients
from tests.sync.stall_proxy import StallProxy
from tests.sync.test_tus_clients import (
    MiB,
    RawPatch,
    announce,
    assert_verified,
    clip_file,
    head_offset,
    upload_of,
    wait_for,
)

# The stock-client module's fixtures: one uvicorn server per module on PostgreSQL.
running_server = clients.running_server
server = clients.server
device = clients.device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

LEASE_SECONDS = 3  # the module server's FV_UPLOAD_LOCK_LEASE_SECONDS


def sha256_header(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def patch(server: UvicornServer, url: str, token: str, offset: int, body: bytes) -> Any:
    return requests.patch(
        server.url + url,
        data=body,
        headers={
            "Tus-Resumable": "1.0.0",
            "Authorization": f"Bearer {token}",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=30,
    )


def test_a_late_disconnect_never_cuts_the_file_another_request_owns(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    """Item 1, deterministically: A (checksummed, 8 MiB) sends 4 MiB and stalls past its
    lease; B takes over and sends its first 4 MiB; A's connection closes while B is still
    streaming; B finishes. Before the fence, A's rollback cut the file to 0 under B (a
    zero-filled hole, then `staging_file_lost` 500s for a week)."""
    _device, token = device
    data = clip_file(tmp_path, "clip-race.mp4", 16 * MiB)
    content = data.read_bytes()
    url = announce(token, "CLIP-RACE", data)["upload_url"]
    first = content[: 8 * MiB]
    stalled = RawPatch(
        server,
        url,
        token=token,
        offset=0,
        length=len(first),
        headers={"Upload-Checksum": sha256_header(first)},
    )
    stalled.send(first[: 4 * MiB])
    wait_for(lambda: upload_of(url).lock_token is not None)
    held = upload_of(url).lock_generation
    time.sleep(LEASE_SECONDS + 0.5)  # A's lease runs out; A is alive, only stalled

    resumed = RawPatch(
        server,
        url,
        token=token,
        offset=0,
        length=len(first),
        headers={"Upload-Checksum": sha256_header(first)},
    )
    resumed.send(first[: 4 * MiB])
    wait_for(lambda: upload_of(url).lock_generation == held + 1)
    stalled.close()  # the late FIN: A's request ends now, while B is mid-body
    time.sleep(1.0)
    resumed.send(first[4 * MiB :])
    assert resumed.status() == 204
    resumed.close()

    upload = upload_of(url)
    assert upload.offset == 8 * MiB and upload.lock_token is None
    assert upload.staging_path.read_bytes() == first  # no cut, no hole
    assert head_offset(server, url, token) == 8 * MiB
    tail = patch(server, url, token, 8 * MiB, content[8 * MiB :])
    assert tail.status_code == 204, tail.text
    assert_verified(url, data)


def test_staged_bytes_lost_restart_the_upload_from_a_fresh_url(
    server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    """A staged file shorter than its persisted offset: 410 `staging_file_lost` once, the
    recording back to `announced`, the manifest answers a fresh URL, the clip arrives."""
    _device, token = device
    data = clip_file(tmp_path, "clip-lost.mp4", 3 * MiB)
    content = data.read_bytes()
    url = announce(token, "CLIP-LOST", data)["upload_url"]
    assert patch(server, url, token, 0, content[: 2 * MiB]).status_code == 204
    staging = upload_of(url).staging_path
    with staging.open("r+b") as handle:  # the disk lost its tail (restore, fsck, operator)
        handle.truncate(MiB)

    for _ in range(2):  # never a loop of 500s: 410, then 404/410 for the dead URL
        response = patch(server, url, token, 2 * MiB, content[2 * MiB :])
        assert response.status_code in (404, 410), response.text
    assert response.json()["code"] in ("staging_file_lost", "upload_not_found")
    assert upload_of(url).state == UploadState.TERMINATED
    assert not staging.exists()
    recording = Recording.objects.get(clip_id="CLIP-LOST")
    assert recording.state == RecordingState.ANNOUNCED

    answer = announce(token, "CLIP-LOST", data)
    assert answer["status"] == "missing" and answer["upload_url"] != url
    fresh = answer["upload_url"]
    assert patch(server, fresh, token, 0, content).status_code == 204
    assert_verified(fresh, data)


def test_resume_within_5_s_of_a_kill_9_restart(
    device: Any, tmp_path: Path, running_server: UvicornServer
) -> None:
    """Item 3: the killed process's upload lease (30 s here) is void at once: the first
    PATCH after the restart is accepted, no 423."""
    _device, token = device
    env = {**running_server.env, "FV_UPLOAD_LOCK_LEASE_SECONDS": "30"}
    own = UvicornServer(factory=running_server.factory, env=env, log_path=tmp_path / "s.log")
    own.start()
    try:
        data = clip_file(tmp_path, "clip-crash.mp4", 8 * MiB)
        content = data.read_bytes()
        url = announce(token, "CLIP-CRASH", data)["upload_url"]
        cut = RawPatch(own, url, token=token, offset=0, length=len(content))
        cut.send(content[: 3 * MiB])
        wait_for(lambda: upload_of(url).offset >= 2 * MiB)
        own.kill9()
        cut.close()
        assert upload_of(url).lock_token is not None  # the dead process's lease is still there
        own.start()
        restarted = time.monotonic()  # the server is back (listening)
        offset = head_offset(own, url, token)
        response = patch(own, url, token, offset, content[offset:])
        elapsed = time.monotonic() - restarted
        assert response.status_code == 204, response.text
        assert elapsed < 5, elapsed
        assert_verified(url, data)
    finally:
        own.stop()


@pytest.fixture(scope="module")
def long_lease_server(
    running_server: UvicornServer, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """The module's server with a 30 s lease: a resume that waited for a lease to run
    out could not pass in 5 s."""
    env = {**running_server.env, "FV_UPLOAD_LOCK_LEASE_SECONDS": "30"}
    log = tmp_path_factory.mktemp("long-lease") / "server.log"
    with UvicornServer(factory=running_server.factory, env=env, log_path=log) as own:
        yield own


@pytest.mark.parametrize("cut", ["silent", "closed", "stale_head"])
def test_resume_within_5_s_of_a_cut_connection(
    long_lease_server: UvicornServer, server: UvicornServer, device: Any, tmp_path: Path, cut: str
) -> None:
    """The soak's p95 resume after a cut was 20.4 s. `silent`: the mobile link dies and
    the server hears nothing (no FIN, no bytes; before, the resume got 423 until the 30 s
    lease ran out). `closed`: the device closed the socket with bytes still buffered
    (before, the HEAD answered the offset from before the cut while the old request was
    still reading, and the resume got 409). Now the device's HEAD stops its own old
    request, which persists what it received and releases the lease at once: the HEAD's
    offset is the one the PATCH resumes from, first time. `stale_head`: the HEAD was
    answered before the server began reading the old request (it reads connections in
    its own order), so the PATCH resumes from below what the old request kept: those
    bytes are compared with the staged ones as a resend, again no 409."""
    _device, token = device
    own = long_lease_server
    data = clip_file(tmp_path, f"clip-cut-{cut}.mp4", 8 * MiB)
    content = data.read_bytes()
    url = announce(token, f"CLIP-CUT-{cut.upper()}", data)["upload_url"]
    stale = head_offset(own, url, token) if cut == "stale_head" else None
    old = RawPatch(own, url, token=token, offset=0, length=len(content))
    old.send(content[: 3 * MiB])
    if cut in ("silent", "stale_head"):
        # Checkpoints every MiB (module server): at 2 MiB the third MiB was received.
        wait_for(lambda: upload_of(url).offset >= 2 * MiB)
    else:
        wait_for(lambda: upload_of(url).lock_token is not None)
        old.close()
    cut_at = time.monotonic()
    offset = stale if stale is not None else head_offset(own, url, token)
    response = patch(own, url, token, offset, content[offset:])
    elapsed = time.monotonic() - cut_at
    assert response.status_code == 204, response.text  # no 423, no 409 on the way
    assert elapsed < 5, elapsed
    if cut == "silent":
        assert offset == 3 * MiB  # every byte the old request received was kept
    if cut != "closed":
        assert old.status() == 423  # the old request, if anyone still listens
        old.close()
    upload = upload_of(url)
    assert upload.lock_token is None
    assert_verified(url, data)


def test_a_lease_held_by_another_process_answers_423_with_its_real_remaining_time(
    long_lease_server: UvicornServer, server: UvicornServer, device: Any, tmp_path: Path
) -> None:
    """Another process's live request cannot be stopped from here: 423, Retry-After the
    seconds its lease really has left (not a guess), and the HEAD is never blocked."""
    _device, token = device
    data = clip_file(tmp_path, "clip-other.mp4", 4 * MiB)
    content = data.read_bytes()
    url = announce(token, "CLIP-OTHER", data)["upload_url"]
    elsewhere = RawPatch(long_lease_server, url, token=token, offset=0, length=len(content))
    elsewhere.send(content[: 3 * MiB])
    wait_for(lambda: upload_of(url).offset >= MiB)
    persisted = upload_of(url).offset
    started = time.monotonic()
    assert head_offset(server, url, token) == persisted
    assert time.monotonic() - started < 1
    refused = patch(server, url, token, persisted, content[persisted:])
    assert refused.status_code == 423, refused.text
    lease_left = (upload_of(url).lock_expires_at - timezone.now()).total_seconds()
    retry_after = int(refused.headers["Retry-After"])
    assert lease_left - 2 <= retry_after <= lease_left + 1, (retry_after, lease_left)
    assert refused.json()["details"]["retry_after_seconds"] == retry_after
    elsewhere.send(content[3 * MiB :])
    assert elsewhere.status() == 204
    elsewhere.close()
    assert_verified(url, data)


def test_web_kill_9_during_the_s3_write_is_stored_within_60_s_of_restart(
    device: Any, tmp_path: Path, running_server: UvicornServer, s3: Any, settings: Any
) -> None:
    """Item 2: the web process storing a verified clip is killed while S3 holds its PUT.
    The restarted process voids the dead one's storage lease and stores the clip; the
    device sees `stored` within 60 s (before: `storing` for the 600 s lease)."""
    _device, token = device
    upstream = urlsplit(settings.FV_S3_ENDPOINT_URL)
    with StallProxy((upstream.hostname or "127.0.0.1", upstream.port or 80)) as proxy:
        env = {
            **running_server.env,
            "FV_S3_ENDPOINT_URL": proxy.url,
            "FV_S3_ACCESS_KEY": settings.FV_S3_ACCESS_KEY,
            "FV_S3_SECRET_KEY": settings.FV_S3_SECRET_KEY,
            "FV_ORIGINALS_BUCKET": settings.FV_ORIGINALS_BUCKET,
            "FV_DERIVATIVES_BUCKET": settings.FV_DERIVATIVES_BUCKET,
            "FV_STORE_DISPATCH": "thread",
        }
        web = UvicornServer(factory=running_server.factory, env=env, log_path=tmp_path / "w.log")
        web.start()
        try:
            data = clip_file(tmp_path, "clip-store.mp4", 4 * MiB)
            content = data.read_bytes()
            url = announce(token, "CLIP-STORE", data)["upload_url"]
            proxy.stall_puts.set()
            assert patch(web, url, token, 0, content).status_code == 204
            assert proxy.put_held.wait(20), "the S3 PUT never started"
            recording = Recording.objects.get(clip_id="CLIP-STORE")
            assert recording.state == RecordingState.VERIFIED and recording.storage_lease_owner
            web.kill9()
            assert announce(token, "CLIP-STORE", data)["status"] == "storing"
            proxy.release()
            restarted = time.monotonic()
            web.start()
            wait_for(
                lambda: Recording.objects.get(clip_id="CLIP-STORE").state == RecordingState.STORED,
                timeout=60,
            )
            elapsed = time.monotonic() - restarted
        finally:
            web.stop()
    assert elapsed < 60, elapsed
    assert announce(token, "CLIP-STORE", data)["status"] == "stored"
    recording = Recording.objects.get(clip_id="CLIP-STORE")
    assert recording.storage_lease_owner == "" and recording.storage_lease_until is None
    from backend.footage.storage import object_store

    body = (
        object_store()
        .client.get_object(Bucket=settings.FV_ORIGINALS_BUCKET, Key=recording.storage_key)["Body"]
        .read()
    )
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(content).hexdigest()
