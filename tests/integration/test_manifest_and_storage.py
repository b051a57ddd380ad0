"""Manifest reconciliation and storage of verified originals in the real SeaweedFS."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.test import Client, TestCase
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.footage.models import Recording, RecordingState
from backend.footage.services import (
    recording_store,
    recording_upload_received,
    recordings_redrive_storage,
)
from backend.footage.storage import destruction_store, object_store
from media.object_store import original_key
from sync.models import Upload, UploadState
from tests.factories import make_device, make_officer, random_clip

pytestmark = pytest.mark.django_db


def clip(
    clip_id: str, data: bytes, *, start: str = "2026-11-23T09:00:00+08:00", **extra: Any
) -> dict[str, Any]:
    begin = datetime.datetime.fromisoformat(start)
    return {
        "clip_id": clip_id,
        "file_name": f"{clip_id}.mp4",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "recorded_start": begin.isoformat(),
        "recorded_end": (begin + datetime.timedelta(minutes=5)).isoformat(),
        "media_kind": "video",
        **extra,
    }


def post_manifest(token: str, clips: list[dict[str, Any]], device_time: str | None = None) -> Any:
    body = {"device_time": device_time or timezone.now().isoformat(), "clips": clips}
    return Client().post(
        "/api/sync/v1/manifest",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def received(upload: Upload, sha256: str) -> None:
    """The hook as the tus endpoint calls it, with its on-commit work (storage) run."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        recording_upload_received(upload_id=upload.pk, sha256=sha256)


def stage_bytes(upload: Upload, data: bytes) -> None:
    """What the tus endpoint does before calling the hook: bytes on disk, offset saved."""
    upload.staging_path.parent.mkdir(parents=True, exist_ok=True)
    upload.staging_path.write_bytes(data)
    Upload.objects.filter(pk=upload.pk).update(offset=len(data))


def test_manifest_answers_missing_then_stored(s3: Any, staging_dir: Path) -> None:
    officer = make_officer()
    device, token = make_device(officer=officer)
    data, digest = random_clip()
    # Recorded after the device was handed to the officer: attributed to them.
    start = (timezone.now() + datetime.timedelta(seconds=1)).isoformat()
    response = post_manifest(token, [clip("C1", data, start=start)])
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["clips"][0]["status"] == "missing"
    upload = Upload.objects.get(recording__clip_id="C1")
    assert answer["clips"][0]["upload_url"] == f"/api/sync/v1/uploads/{upload.pk}"
    recording = Recording.objects.get(clip_id="C1")
    assert recording.officer == officer

    # Idempotent: the same manifest again creates nothing and answers the same.
    again = post_manifest(token, [clip("C1", data, start=start)]).json()
    assert again["clips"][0]["upload_url"] == answer["clips"][0]["upload_url"]
    assert Upload.objects.count() == 1 and Recording.objects.count() == 1

    stage_bytes(upload, data)
    received(upload, digest)
    recording.refresh_from_db()
    assert recording.state == RecordingState.STORED
    assert recording.storage_key == original_key(digest)
    assert not upload.staging_path.exists()
    assert (
        post_manifest(token, [clip("C1", data, start=start)]).json()["clips"][0]["status"]
        == "stored"
    )

    from django.conf import settings

    store = object_store()
    head = store.head(settings.FV_ORIGINALS_BUCKET, recording.storage_key)
    assert head is not None and head["Metadata"]["sha256"] == digest
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert store.sha256_of_object(settings.FV_ORIGINALS_BUCKET, recording.storage_key) == digest
    recording.refresh_from_db()
    assert recording.storage_version_id == head["VersionId"]  # every read names it
    # COMPLIANCE: deleting the locked version is refused by the S3 server itself, even to
    # the identity that may delete (the application's own may not delete originals at all).
    with pytest.raises(ClientError):
        destruction_store().client.delete_object(
            Bucket=settings.FV_ORIGINALS_BUCKET,
            Key=recording.storage_key,
            VersionId=head["VersionId"],
        )
    # Storage's own events; media processing (tests/processing) follows with its own.
    actions = list(
        AuditEvent.objects.filter(object_id=str(recording.pk))
        .exclude(action__startswith="recording.processing_")
        .values_list("action", flat=True)
    )
    assert actions == ["recording.verified", "recording.stored"]


def test_same_content_twice_is_stored_once(s3: Any, staging_dir: Path) -> None:
    device, token = make_device()
    data, digest = random_clip()
    post_manifest(token, [clip("A", data), clip("B", data)])
    for upload in Upload.objects.all():
        stage_bytes(upload, data)
        received(upload, digest)
    assert Recording.objects.filter(state=RecordingState.STORED).count() == 2
    stored = AuditEvent.objects.filter(action="recording.stored").order_by("sequence")
    assert [event.data["deduplicated"] for event in stored] == [False, True]
    from django.conf import settings

    versions = object_store().client.list_object_versions(Bucket=settings.FV_ORIGINALS_BUCKET)
    assert len(versions.get("Versions", [])) == 1


def test_hash_mismatch_keeps_bytes_and_asks_again(s3: Any, staging_dir: Path) -> None:
    device, token = make_device()
    data, digest = random_clip()
    post_manifest(token, [clip("M", data)])
    upload = Upload.objects.get()
    corrupted = data[:-1] + bytes([data[-1] ^ 0xFF])
    stage_bytes(upload, corrupted)
    recording_upload_received(upload_id=upload.pk, sha256=hashlib.sha256(corrupted).hexdigest())
    upload.refresh_from_db()
    assert upload.state == UploadState.MISMATCH
    assert upload.mismatch_path.read_bytes() == corrupted  # kept for investigation
    answer = post_manifest(token, [clip("M", data)]).json()["clips"][0]
    assert answer["status"] == "mismatch"
    assert answer["upload_url"] and answer["upload_url"] != upload.url_path


def test_s3_down_keeps_bytes_staged_and_retries(s3: Any, staging_dir: Path, settings: Any) -> None:
    device, token = make_device()
    data, digest = random_clip()
    post_manifest(token, [clip("D", data)])
    upload = Upload.objects.get()
    stage_bytes(upload, data)
    real_endpoint = settings.FV_S3_ENDPOINT_URL
    settings.FV_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there
    received(upload, digest)
    recording = Recording.objects.get()
    assert recording.state == RecordingState.VERIFIED  # never falsely stored
    assert recording.storage_last_error and recording.storage_next_attempt_at is not None
    assert upload.staging_path.read_bytes() == data  # never lost
    assert post_manifest(token, [clip("D", data)]).json()["clips"][0]["status"] == "storing"

    settings.FV_S3_ENDPOINT_URL = real_endpoint
    Recording.objects.filter(pk=recording.pk).update(storage_next_attempt_at=timezone.now())
    assert recordings_redrive_storage() == [recording.pk]
    recording.refresh_from_db()
    assert recording.state == RecordingState.STORED and recording.storage_attempts == 2


def test_a_leased_recording_is_not_stored_twice(s3: Any, staging_dir: Path) -> None:
    device, token = make_device()
    data, digest = random_clip()
    post_manifest(token, [clip("L", data)])
    upload = Upload.objects.get()
    stage_bytes(upload, data)
    Recording.objects.update(
        state=RecordingState.VERIFIED,
        storage_lease_until=timezone.now() + datetime.timedelta(minutes=5),
    )
    Upload.objects.update(state=UploadState.COMPLETE)
    recording = Recording.objects.get()
    assert recording_store(recording_id=recording.pk) == "not_claimed"
    # After the lease of a killed worker expires, the work is re-driven.
    Recording.objects.update(
        storage_lease_until=timezone.now() - datetime.timedelta(seconds=1),
        storage_next_attempt_at=timezone.now(),
    )
    assert recordings_redrive_storage() == [recording.pk]
    assert Recording.objects.get().state == RecordingState.STORED


def test_clock_offset_corrects_recorded_times(s3: Any) -> None:
    device, token = make_device()
    data, _ = random_clip()
    device_now = timezone.now() - datetime.timedelta(hours=3)  # device clock 3 h slow
    answer = post_manifest(
        token,
        [clip("T", data, start="2026-11-23T08:00:00+08:00")],
        device_time=device_now.isoformat(),
    ).json()
    assert abs(answer["clock_offset_ms"] - 3 * 3600 * 1000) < 5000
    recording = Recording.objects.get()
    shift = recording.started_at - recording.device_started_at
    assert abs(shift.total_seconds() - 3 * 3600) < 5
    assert device.clock_readings.count() == 1


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda c: c.update(sha256="xyz"), 422, "validation_error"),
        (lambda c: c.update(sha256="A" * 63), 422, "validation_error"),
        (lambda c: c.update(size=-1), 422, "validation_error"),
        (lambda c: c.update(recorded_end="2026-11-23T08:00:00+08:00"), 422, "validation_error"),
        (lambda c: c.update(recorded_start="2026-11-23T09:00:00"), 422, "validation_error"),
        (lambda c: c.update(media_kind="hologram"), 422, "validation_error"),
        (lambda c: c.update(size=10**15), 413, "clip_too_large"),
    ],
)
def test_malformed_manifests_are_refused_precisely(mutate: Any, status: int, code: str) -> None:
    _, token = make_device()
    data, _ = random_clip(16)
    item = clip("X", data)
    mutate(item)
    response = post_manifest(token, [item])
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"] and "details" in body
    assert Recording.objects.count() == 0


def test_duplicate_clip_ids_and_unknown_tokens() -> None:
    _, token = make_device()
    data, _ = random_clip(16)
    response = post_manifest(token, [clip("X", data), clip("X", data)])
    assert response.status_code == 400 and response.json()["code"] == "duplicate_clip_ids"
    assert post_manifest("fvd_unknown", []).status_code == 401
    assert Client().post(
        "/api/sync/v1/manifest",
        "not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    ).status_code in (400, 422)


def test_path_tricks_in_file_names_stay_display_only(s3: Any) -> None:
    _, token = make_device()
    data, _ = random_clip(16)
    post_manifest(token, [clip("P", data, file_name="../../etc/passwd\x00.mp4")])
    recording = Recording.objects.get()
    assert "/" not in recording.file_name and "\x00" not in recording.file_name
    assert "etc" not in str(
        Upload.objects.get().staging_path.relative_to(Upload.objects.get().staging_path.parents[1])
    )


@pytest.mark.parametrize(
    "device_time",
    ["9999-12-31T23:59:59+08:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+00:00"],
)
def test_device_clock_out_of_range_is_a_400(device_time: str) -> None:
    """Issue 13 items 8/9: a year-9999 device clock gave a 500; year 1 was accepted (an
    unbounded offset carried into every corrected time)."""
    device, token = make_device(officer=make_officer())
    data, _digest = random_clip()
    response = post_manifest(token, [clip("C1", data)], device_time=device_time)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "device_clock_out_of_range"
    assert not Recording.objects.filter(device=device).exists()


def test_clock_reset_to_the_epoch_still_syncs() -> None:
    """A camera whose battery died restarts at 1970: far off, yet inside the bound."""
    device, token = make_device(officer=make_officer())
    data, _digest = random_clip()
    response = post_manifest(
        token,
        [clip("C1", data, start="1970-01-01T08:10:00+08:00")],
        device_time="1970-01-01T09:00:00+08:00",
    )
    assert response.status_code == 200, response.content
    recording = Recording.objects.get(device=device)
    assert recording.started_at > timezone.now() - datetime.timedelta(hours=1)


def test_recorded_time_that_overflows_once_corrected_is_a_400() -> None:
    device, token = make_device(officer=make_officer())
    data, _digest = random_clip()
    response = post_manifest(
        token,
        [clip("C1", data, start="9999-12-31T22:00:00+00:00")],
        device_time=(timezone.now() - datetime.timedelta(days=3)).isoformat(),
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "recorded_time_out_of_range"
