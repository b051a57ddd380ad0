"""The upload endpoint over the Django store (PostgreSQL), driven in-process.

`async_to_sync` runs the endpoint's ORM calls on this test's thread, so they see the
test transaction; the manifest is posted through the real API to announce clips.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.audit.services import Actor
from backend.devices.services import device_revoke
from backend.footage.models import Recording, RecordingState
from sync.events import ALL_UNITS_GROUP
from sync.models import Upload, UploadState
from sync.tus.app import build_upload_app
from sync.tus.testing import AsgiResponse, asgi_request
from sync.uploads import uploads_expire
from tests.factories import make_device, make_officer

pytestmark = pytest.mark.django_db

PREFIX = "/api/sync/v1/uploads"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def announce(token: str, clip_id: str, data: bytes, *, sha256: str | None = None) -> dict[str, Any]:
    begin = timezone.now() - datetime.timedelta(hours=1)
    clip = {
        "clip_id": clip_id,
        "file_name": f"{clip_id}.mp4",
        "size": len(data),
        "sha256": sha256 or hashlib.sha256(data).hexdigest(),
        "recorded_start": begin.isoformat(),
        "recorded_end": (begin + datetime.timedelta(minutes=5)).isoformat(),
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


class Endpoint:
    def __init__(self) -> None:
        self.app = build_upload_app()

    def call(
        self,
        method: str,
        path: str = PREFIX + "/",
        *,
        token: str | None,
        headers: dict[str, str] | None = None,
        chunks: list[bytes] | None = None,
        disconnect: bool = False,
    ) -> AsgiResponse | None:
        all_headers = {"Tus-Resumable": "1.0.0", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        return async_to_sync(asgi_request)(
            self.app, method, path, headers=all_headers, chunks=chunks, disconnect=disconnect
        )

    def patch(
        self, url: str, offset: int, chunks: list[bytes], *, token: str, **kw: Any
    ) -> AsgiResponse | None:
        headers = {
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **kw.pop("headers", {}),
        }
        return self.call("PATCH", url, token=token, headers=headers, chunks=chunks, **kw)


@pytest.fixture
def endpoint(staging_dir: Path) -> Endpoint:
    return Endpoint()


@pytest.fixture
def device() -> tuple[Any, str]:
    return make_device(officer=make_officer())


def expect_error(response: AsgiResponse | None, status: int, code: str) -> dict[str, Any]:
    assert response is not None and response.status == status, response
    if not response.body:
        return {}
    body: dict[str, Any] = response.json()
    assert body["code"] == code and set(body) == {"code", "message", "details"}, body
    return body


def upload_of(url: str) -> Upload:
    return Upload.objects.get(pk=uuid.UUID(url.rstrip("/").rsplit("/", 1)[1]))


def test_manifest_url_upload_verifies_recording(endpoint: Endpoint, device: Any) -> None:
    _device, token = device
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(ALL_UNITS_GROUP, channel)
    data = os.urandom(500_000)
    answer = announce(token, "CLIP-1", data)
    url = answer["upload_url"]
    assert url.startswith(PREFIX + "/")
    head = endpoint.call("HEAD", url, token=token)
    assert head is not None and head.status == 200
    assert head.headers["upload-offset"] == "0"
    assert head.headers["upload-length"] == str(len(data))
    first = endpoint.patch(url, 0, [data[:200_000]], token=token)
    assert first is not None and first.status == 204
    upload = upload_of(url)
    assert upload.offset == 200_000 and upload.lock_token is None
    assert upload.staging_path.read_bytes() == data[:200_000]
    second = endpoint.patch(url, 200_000, [data[200_000:400_000], data[400_000:]], token=token)
    assert second is not None and second.status == 204, second
    upload.refresh_from_db()
    assert upload.state == UploadState.COMPLETE
    assert upload.offset == len(data)
    assert upload.received_sha256 == hashlib.sha256(data).hexdigest()
    assert upload.staging_path.read_bytes() == data
    recording = upload.recording
    assert recording.state == RecordingState.VERIFIED
    history = list(recording.state_changes.values_list("to_state", flat=True))
    assert history == ["announced", "receiving", "verified"]
    events = [async_to_sync(layer.receive)(channel)["event"] for _ in range(2)]
    assert [(e["type"], e["offset"]) for e in events] == [
        ("clip_started", 200_000),
        ("bytes_received", len(data)),
    ]
    assert events[0]["clip_id"] == "CLIP-1" and events[0]["length"] == len(data)
    assert AuditEvent.objects.filter(
        action="recording.verified", object_id=str(recording.pk)
    ).exists()
    # A repeated final PATCH (client retry after a lost response) is harmless.
    again = endpoint.patch(url, len(data), [], token=token)
    assert again is not None and again.status == 204


def test_declared_hash_mismatch_keeps_bytes_and_marks_mismatch(
    endpoint: Endpoint, device: Any
) -> None:
    _device, token = device
    data = os.urandom(10_000)
    answer = announce(token, "CLIP-BAD", data, sha256="0" * 64)
    response = endpoint.patch(answer["upload_url"], 0, [data], token=token)
    assert response is not None and response.status == 204
    assert response.headers["fv-upload-status"] == "mismatch"
    upload = upload_of(answer["upload_url"])
    assert upload.state == UploadState.MISMATCH
    assert upload.recording.state == RecordingState.MISMATCH
    assert upload.mismatch_path.read_bytes() == data
    # The next manifest gives a fresh URL to send again.
    again = announce(token, "CLIP-BAD", data, sha256="0" * 64)
    assert again["status"] == "mismatch" and again["upload_url"] != answer["upload_url"]


def test_post_with_clip_id_reuses_precreated_upload_then_supersedes(
    endpoint: Endpoint, device: Any
) -> None:
    _device, token = device
    data = os.urandom(50_000)
    answer = announce(token, "CLIP-POST", data)
    metadata = f"clip_id {b64('CLIP-POST')},filename {b64('../../../etc/passwd')}"
    created = endpoint.call(
        "POST", token=token, headers={"Upload-Length": str(len(data)), "Upload-Metadata": metadata}
    )
    assert created is not None and created.status == 201, created
    assert created.headers["location"] == answer["upload_url"]
    endpoint.patch(answer["upload_url"], 0, [data[:20_000]], token=token)
    # The client lost its URL and starts over with creation-with-upload.
    recreated = endpoint.call(
        "POST",
        token=token,
        headers={
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata,
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(len(data)),
        },
        chunks=[data],
    )
    assert recreated is not None and recreated.status == 201, recreated
    assert recreated.headers["upload-offset"] == str(len(data))
    new = upload_of(recreated.headers["location"])
    old = upload_of(answer["upload_url"])
    assert new.pk != old.pk
    assert old.state == UploadState.TERMINATED
    assert new.state == UploadState.COMPLETE
    assert new.metadata["filename"] == "../../../etc/passwd"
    assert new.staging_path == Path(new.staging_path.parent) / f"{new.pk}.part"
    assert new.recording.state == RecordingState.VERIFIED
    # Verified: a further POST for this clip is refused.
    expect_error(
        endpoint.call(
            "POST",
            token=token,
            headers={"Upload-Length": str(len(data)), "Upload-Metadata": metadata},
        ),
        409,
        "clip_already_received",
    )


def test_post_refusals(endpoint: Endpoint, device: Any, settings: Any) -> None:
    _device, token = device
    data = os.urandom(1000)
    announce(token, "CLIP-R", data)
    _other_device, other_token = make_device()
    announce(other_token, "CLIP-OTHER", data)

    def post(**headers: str) -> AsgiResponse | None:
        return endpoint.call("POST", token=token, headers=headers)

    expect_error(post(**{"Upload-Length": "1000"}), 400, "missing_clip_id")
    expect_error(
        post(**{"Upload-Length": "1000", "Upload-Metadata": f"clip_id {b64('NOPE')}"}),
        404,
        "clip_not_announced",
    )
    expect_error(
        post(**{"Upload-Length": "1000", "Upload-Metadata": f"clip_id {b64('CLIP-OTHER')}"}),
        404,
        "clip_not_announced",
    )
    body = expect_error(
        post(**{"Upload-Length": "999", "Upload-Metadata": f"clip_id {b64('CLIP-R')}"}),
        400,
        "upload_length_mismatch",
    )
    assert body["details"]["announced_size"] == 1000
    body = expect_error(
        post(**{"Upload-Length": str(settings.FV_UPLOAD_MAX_BYTES + 1)}), 413, "upload_too_large"
    )
    assert body["details"]["max_bytes"] == settings.FV_UPLOAD_MAX_BYTES
    expect_error(post(**{"Upload-Length": "x"}), 400, "invalid_upload_length")
    expect_error(endpoint.call("POST", token="fvd_unknown", headers={}), 401, "invalid_token")


def test_other_device_gets_404_and_revocation_is_immediate(endpoint: Endpoint, device: Any) -> None:
    owner, token = device
    _other, other_token = make_device()
    data = os.urandom(2000)
    url = announce(token, "CLIP-X", data)["upload_url"]
    endpoint.patch(url, 0, [data[:1000]], token=token)
    expect_error(endpoint.call("HEAD", url, token=other_token), 404, "upload_not_found")
    expect_error(
        endpoint.patch(url, 1000, [data[1000:]], token=other_token), 404, "upload_not_found"
    )
    expect_error(endpoint.call("DELETE", url, token=other_token), 404, "upload_not_found")
    upload = upload_of(url)
    assert upload.offset == 1000 and upload.state == UploadState.RECEIVING
    assert upload.staging_path.read_bytes() == data[:1000]

    device_revoke(device=owner, actor=Actor.system())
    expect_error(endpoint.patch(url, 1000, [data[1000:]], token=token), 401, "invalid_token")
    assert upload_of(url).offset == 1000


def test_lease_held_by_another_process_gives_423(endpoint: Endpoint, device: Any) -> None:
    _device, token = device
    data = os.urandom(3000)
    url = announce(token, "CLIP-L", data)["upload_url"]
    endpoint.patch(url, 0, [data[:1000]], token=token)
    upload = upload_of(url)
    foreign = uuid.uuid4()
    Upload.objects.filter(pk=upload.pk).update(
        lock_token=foreign, lock_expires_at=timezone.now() + datetime.timedelta(seconds=30)
    )
    expect_error(endpoint.patch(url, 1000, [data[1000:]], token=token), 423, "upload_locked")
    expect_error(endpoint.call("DELETE", url, token=token), 423, "upload_locked")
    assert upload.staging_path.read_bytes() == data[:1000]
    # The other process died: its lease runs out and the upload can be taken over.
    Upload.objects.filter(pk=upload.pk).update(
        lock_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    done = endpoint.patch(url, 1000, [data[1000:]], token=token)
    assert done is not None and done.status == 204
    upload.refresh_from_db()
    assert upload.received_sha256 == hashlib.sha256(data).hexdigest()
    assert upload.lock_token is None


def test_cut_connection_persists_offset_and_resume_rehashes(
    endpoint: Endpoint, device: Any
) -> None:
    _device, token = device
    data = os.urandom(3_000_000)
    url = announce(token, "CLIP-CUT", data)["upload_url"]
    cut = endpoint.patch(
        url, 0, [data[:1_000_000], data[1_000_000:1_700_000]], token=token, disconnect=True
    )
    assert cut is None
    upload = upload_of(url)
    assert upload.offset == 1_700_000 and upload.lock_token is None
    restarted = Endpoint()  # no cached hash state: the prefix is re-read
    done = restarted.patch(url, 1_700_000, [data[1_700_000:]], token=token)
    assert done is not None and done.status == 204
    upload.refresh_from_db()
    assert upload.received_sha256 == hashlib.sha256(data).hexdigest()
    assert upload.recording.state == RecordingState.VERIFIED


def test_checksum_mismatch_460_leaves_offset(endpoint: Endpoint, device: Any) -> None:
    _device, token = device
    data = os.urandom(4000)
    url = announce(token, "CLIP-C", data)["upload_url"]
    wrong = "sha256 " + base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    expect_error(
        endpoint.patch(url, 0, [data], token=token, headers={"Upload-Checksum": wrong}),
        460,
        "checksum_mismatch",
    )
    upload = upload_of(url)
    assert upload.offset == 0 and upload.state == UploadState.RECEIVING
    assert upload.staging_path.read_bytes() == b""
    right = "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()
    ok = endpoint.patch(url, 0, [data], token=token, headers={"Upload-Checksum": right})
    assert ok is not None and ok.status == 204


def test_termination_expiry_and_expiry_sweep(endpoint: Endpoint, device: Any) -> None:
    _device, token = device
    data = os.urandom(2000)
    url = announce(token, "CLIP-T", data)["upload_url"]
    endpoint.patch(url, 0, [data[:500]], token=token)
    upload = upload_of(url)
    deleted = endpoint.call("DELETE", url, token=token)
    assert deleted is not None and deleted.status == 204
    upload.refresh_from_db()
    assert upload.state == UploadState.TERMINATED
    assert not upload.staging_path.exists()
    assert AuditEvent.objects.filter(action="upload.terminated", object_id=str(upload.pk)).exists()
    expect_error(endpoint.call("HEAD", url, token=token), 404, "upload_not_found")

    url2 = announce(token, "CLIP-T", data)["upload_url"]
    assert url2 != url
    Upload.objects.filter(pk=upload_of(url2).pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    expect_error(endpoint.call("HEAD", url2, token=token), 410, "upload_expired")
    expect_error(endpoint.patch(url2, 0, [data], token=token), 410, "upload_expired")
    assert uploads_expire() == 1
    assert upload_of(url2).state == UploadState.TERMINATED
    assert AuditEvent.objects.filter(action="upload.expired").count() == 1
    assert Recording.objects.get(clip_id="CLIP-T").state == RecordingState.ANNOUNCED


def test_head_finishes_an_upload_killed_between_last_byte_and_completion(
    endpoint: Endpoint, device: Any
) -> None:
    _device, token = device
    data = os.urandom(300_000)
    url = announce(token, "CLIP-K", data)["upload_url"]
    endpoint.patch(url, 0, [data[:100_000]], token=token)
    upload = upload_of(url)
    # What a kill -9 after the final fsync + offset save, before the hook, leaves behind.
    with upload.staging_path.open("ab") as handle:
        handle.write(data[100_000:])
    Upload.objects.filter(pk=upload.pk).update(offset=len(data))
    head = Endpoint().call("HEAD", url, token=token)
    assert head is not None and head.status == 200
    assert head.headers["upload-offset"] == str(len(data))
    upload.refresh_from_db()
    assert upload.state == UploadState.COMPLETE
    assert upload.received_sha256 == hashlib.sha256(data).hexdigest()
    assert upload.recording.state == RecordingState.VERIFIED
