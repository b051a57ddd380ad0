"""Media processing of stored recordings: real SeaweedFS, PostgreSQL and ffmpeg."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.test import Client, TestCase
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.footage.models import (
    ProcessingState,
    Recording,
    RecordingDerivative,
    RecordingProcessing,
)
from backend.footage.processing import (
    recording_process,
    recording_processing_queue,
    recordings_redrive_processing,
)
from backend.footage.storage import object_store
from tests.factories import make_device, make_officer, make_unit, make_user
from tests.processing.conftest import derivative_keys_in_bucket

pytestmark = pytest.mark.django_db

Make = Callable[..., Recording]


def queue_and_run(recording: Recording) -> None:
    """Queue as the after-storage hook does; the test task backend runs the job at once."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert recording_processing_queue(recording_id=recording.pk)


def actions_of(recording: Recording) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(recording.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


@pytest.mark.parametrize("store_dispatch", ["sync", "task"])
def test_stored_upload_is_processed_to_ready_with_derivatives_and_metadata(
    s3: Any, staging_dir: Path, clips: dict[str, Path], settings: Any, store_dispatch: str
) -> None:
    settings.FV_STORE_DISPATCH = store_dispatch  # "task": storing goes through the queue too
    from sync.models import Upload
    from tests.integration.test_manifest_and_storage import (
        clip,
        post_manifest,
        received,
        stage_bytes,
    )

    data = clips["good"].read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    _, token = make_device()
    # The device says it started 3 h after the time written in the file: recorded.
    post_manifest(token, [clip("G1", data, start="2026-11-20T19:30:00+08:00")])
    upload = Upload.objects.get()
    stage_bytes(upload, data)
    received(upload, digest)  # verified -> stored -> (hook) queued -> processed

    recording = Recording.objects.get()
    processing = RecordingProcessing.objects.get(pk=recording.pk)
    assert processing.state == ProcessingState.READY, processing.last_error
    assert processing.attempts == 1 and processing.reason_code == ""
    profiles = dict(RecordingDerivative.objects.values_list("profile", "key"))
    assert set(profiles) == {"proxy-720p", "poster", "thumb-strip"}
    assert derivative_keys_in_bucket() == sorted(profiles.values())
    assert all(digest in key for key in profiles.values())  # keys derive from the hash

    meta = recording.media_metadata
    assert (meta.container, meta.video_codec, meta.audio_codec) == ("isobmff", "h264", "aac")
    assert (meta.width, meta.height, meta.fps) == (320, 240, 30.0)
    assert meta.duration_seconds is not None and 1.9 < meta.duration_seconds < 2.2
    assert meta.decode_errors == 0
    assert meta.file_created_at == datetime.datetime(2026, 11, 20, 8, 30, tzinfo=datetime.UTC)
    assert meta.file_time_source == "container"
    assert meta.file_time_offset_seconds == -3 * 3600 and meta.file_time_disagrees

    actions = actions_of(recording)
    assert actions[:2] == ["recording.verified", "recording.stored"]
    assert actions[2:] == [
        "recording.processing_queued",
        "recording.processing_started",
        "recording.processing_ready",
    ]
    # The original is untouched.
    store = object_store()
    assert store.sha256_of_object(settings.FV_ORIGINALS_BUCKET, recording.storage_key) == digest


def test_photo_keeps_exif_time_and_gps(
    s3: Any, clips: dict[str, Path], stored_recording: Make
) -> None:
    start = datetime.datetime.fromisoformat("2026-11-20T16:30:05+08:00")
    recording = stored_recording(clips["photo"], media_kind="photo", started_at=start, seconds=0)
    queue_and_run(recording)
    assert RecordingProcessing.objects.get(pk=recording.pk).state == ProcessingState.READY
    meta = Recording.objects.get(pk=recording.pk).media_metadata
    assert meta.file_time_source == "exif" and meta.file_time_offset_seconds == 0
    assert not meta.file_time_disagrees
    assert meta.gps_latitude == pytest.approx(30.26) and meta.gps_longitude == pytest.approx(120.15)
    assert set(recording.derivatives.values_list("profile", flat=True)) == {
        "photo-1920",
        "photo-320",
    }


@pytest.mark.parametrize(
    ("name", "code"),
    [("moov_missing", "moov_missing"), ("empty", "empty_file"), ("text", "not_media")],
)
def test_unreadable_originals_are_damaged_kept_and_not_retried(
    s3: Any, clips: dict[str, Path], stored_recording: Make, name: str, code: str
) -> None:
    recording = stored_recording(clips[name])
    queue_and_run(recording)
    processing = RecordingProcessing.objects.get(pk=recording.pk)
    assert processing.state == ProcessingState.DAMAGED
    assert processing.reason_code == code
    assert processing.reason["message_zh"] and processing.reason["message_en"]
    assert processing.attempts == 1 and processing.next_attempt_at is None
    # Never retried by itself: nothing due, a late duplicate job is a no-op.
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert recordings_redrive_processing() == []
    assert recording_process(recording_id=recording.pk) == "not_claimed"
    assert RecordingProcessing.objects.get(pk=recording.pk).attempts == 1
    # The original stays as uploaded.
    store = object_store()
    head = store.head(settings.FV_ORIGINALS_BUCKET, recording.storage_key)
    assert head is not None and head["ObjectLockMode"] == "COMPLIANCE"
    assert (
        store.sha256_of_object(settings.FV_ORIGINALS_BUCKET, recording.storage_key)
        == recording.sha256
    )
    assert "recording.processing_damaged" in actions_of(recording)


def test_moovless_mp4_is_salvaged_with_a_reference_of_the_same_model(
    s3: Any, clips: dict[str, Path], stored_recording: Make
) -> None:
    device, _ = make_device()  # model "DSJ-TEST"
    reference = stored_recording(clips["reference"], device=device)
    queue_and_run(reference)
    assert RecordingProcessing.objects.get(pk=reference.pk).state == ProcessingState.READY
    other_model, _ = make_device()
    other_model.model_name = "OTHER-CAM"
    other_model.save()
    lone = stored_recording(clips["moov_missing"], device=other_model, clip_id="lone")
    queue_and_run(lone)
    assert RecordingProcessing.objects.get(pk=lone.pk).salvage["recovered"] is False

    damaged = stored_recording(clips["moov_missing"], device=device, clip_id="cut")
    queue_and_run(damaged)
    processing = RecordingProcessing.objects.get(pk=damaged.pk)
    assert processing.state == ProcessingState.DAMAGED and processing.reason_code == "moov_missing"
    assert processing.salvage["recovered"] is True and processing.salvage["recovered_seconds"] > 1
    assert processing.salvage["reference_recording_id"] == str(reference.pk)
    assert set(damaged.derivatives.values_list("profile", flat=True)) == {"salvaged", "poster"}


def test_transient_errors_back_off_then_stop_at_the_cap(
    s3: Any, clips: dict[str, Path], stored_recording: Make, settings: Any
) -> None:
    settings.FV_PROCESSING_MAX_ATTEMPTS = 3
    settings.FV_PROCESSING_BACKOFF_SECONDS = 10
    real_endpoint = settings.FV_S3_ENDPOINT_URL
    recording = stored_recording(clips["good"])
    settings.FV_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # S3 unreachable
    queue_and_run(recording)
    delays = []
    for attempt in (1, 2):
        processing = RecordingProcessing.objects.get(pk=recording.pk)
        assert processing.state == ProcessingState.PENDING and processing.attempts == attempt
        assert "127.0.0.1:9" in processing.last_error
        assert processing.next_attempt_at is not None
        delays.append((processing.next_attempt_at - timezone.now()).total_seconds())
        with TestCase.captureOnCommitCallbacks(execute=True):
            assert recordings_redrive_processing() == []  # not due yet
        RecordingProcessing.objects.filter(pk=recording.pk).update(
            next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
        )
        with TestCase.captureOnCommitCallbacks(execute=True):
            assert recordings_redrive_processing() == [recording.pk]
    assert 8 < delays[0] <= 10 and 18 < delays[1] <= 20  # exponential
    processing = RecordingProcessing.objects.get(pk=recording.pk)
    assert processing.state == ProcessingState.FAILED and processing.attempts == 3
    assert "127.0.0.1:9" in processing.last_error and processing.next_attempt_at is None
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert recordings_redrive_processing() == []
    failures = AuditEvent.objects.filter(
        object_id=str(recording.pk), action="recording.processing_failed"
    )
    assert [event.data["gave_up"] for event in failures.order_by("sequence")] == [
        False,
        False,
        True,
    ]

    # Once S3 is back, the re-process command picks the failed recording up.
    settings.FV_S3_ENDPOINT_URL = real_endpoint
    out = StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("recordings_reprocess", "--state", "failed", stdout=out)
    assert "[" in out.getvalue() and "1/1" in out.getvalue() and "ready: 1" in out.getvalue()
    processing = RecordingProcessing.objects.get(pk=recording.pk)
    assert processing.state == ProcessingState.READY and processing.attempts == 1


def test_rerun_writes_the_same_keys_and_no_duplicate_rows(
    s3: Any, clips: dict[str, Path], stored_recording: Make
) -> None:
    recording = stored_recording(clips["good"])
    queue_and_run(recording)
    rows_before = list(RecordingDerivative.objects.values_list("profile", "key", "sha256"))
    keys_before = derivative_keys_in_bucket()
    out = StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command(
            "recordings_reprocess", "--state", "ready", "--since", "2020-01-01", stdout=out
        )
    assert "ready: 1" in out.getvalue()
    rows_after = list(RecordingDerivative.objects.values_list("profile", "key", "sha256"))
    assert sorted(row[:2] for row in rows_after) == sorted(row[:2] for row in rows_before)
    assert derivative_keys_in_bucket() == keys_before
    ready = AuditEvent.objects.filter(
        object_id=str(recording.pk), action="recording.processing_ready"
    ).order_by("sequence")
    assert ready.count() == 2
    # Unchanged bytes under a key are not written again.
    unchanged = {row[0] for row in rows_after} & {
        row[0] for row in rows_before if row in rows_after
    }
    second = {d["profile"]: d["written"] for d in ready.last().data["derivatives"]}  # type: ignore[union-attr]
    assert len(unchanged) >= 2  # at least poster and strip are byte-identical
    assert all(second[profile] is False for profile in unchanged)


def test_detail_api_gives_metadata_and_presigned_urls_that_seek(
    s3: Any, clips: dict[str, Path], stored_recording: Make
) -> None:
    unit = make_unit()
    officer = make_officer(unit=unit)
    device, _ = make_device(officer=officer)
    recording = stored_recording(clips["good"], device=device)
    Recording.objects.filter(pk=recording.pk).update(officer=officer)
    queue_and_run(recording)
    client = Client()
    client.force_login(make_user(role=Role.SUPERVISOR, unit=unit))
    response = client.get(f"/api/recordings/{recording.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["processing"]["state"] == "ready"
    assert body["metadata"]["video_codec"] == "h264" and body["metadata"]["duration_seconds"]
    urls = {d["profile"]: d["url"] for d in body["derivatives"]}
    assert set(urls) == {"proxy-720p", "poster", "thumb-strip"}
    proxy = requests.get(urls["proxy-720p"], headers={"Range": "bytes=100-1099"}, timeout=10)
    assert proxy.status_code == 206
    assert len(proxy.content) == 1000
    assert proxy.headers["Content-Range"].startswith("bytes 100-1099/")
    assert requests.get(urls["poster"], timeout=10).content[:3] == b"\xff\xd8\xff"
    # The URL is the access: unsigned, it is refused.
    assert requests.get(urls["poster"].split("?")[0], timeout=10).status_code == 403

    outsider = Client()
    outsider.force_login(make_user(role=Role.SUPERVISOR, unit=make_unit()))
    response = outsider.get(f"/api/recordings/{recording.pk}")
    assert response.status_code == 404 and response.json()["code"] == "recording_not_found"


def test_redrive_queues_stored_recordings_whose_hook_was_lost(
    s3: Any, clips: dict[str, Path], stored_recording: Make
) -> None:
    recording = stored_recording(clips["text"])  # stored, but no processing state yet
    with TestCase.captureOnCommitCallbacks(execute=True):
        recordings_redrive_processing()
    processing = RecordingProcessing.objects.get(pk=recording.pk)
    assert processing.state == ProcessingState.DAMAGED and processing.reason_code == "not_media"


def test_a_recording_that_kills_every_worker_fails_at_the_cap(
    s3: Any, clips: dict[str, Path], stored_recording: Make, settings: Any
) -> None:
    settings.FV_PROCESSING_MAX_ATTEMPTS = 2
    recording = stored_recording(clips["good"])
    RecordingProcessing.objects.create(
        recording=recording,
        state=ProcessingState.PROCESSING,
        attempts=2,
        worker_id="gone:1",
        lease_until=timezone.now() - datetime.timedelta(seconds=1),
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert recordings_redrive_processing() == []
    processing = RecordingProcessing.objects.get(pk=recording.pk)
    assert processing.state == ProcessingState.FAILED
    assert "gone:1" in processing.last_error and "lease expired" in processing.last_error
    assert recording_process(recording_id=recording.pk) == "not_claimed"


def test_detail_api_is_never_public_and_scoped(
    s3: Any, clips: dict[str, Path], stored_recording: Make
) -> None:
    unit = make_unit()
    officer = make_officer(unit=unit)
    device, _ = make_device(officer=officer)
    recording = stored_recording(clips["text"], device=device)
    Recording.objects.filter(pk=recording.pk).update(officer=officer)
    queue_and_run(recording)
    path = f"/api/recordings/{recording.pk}"

    anonymous = Client().get(path)
    assert anonymous.status_code == 401
    assert set(anonymous.json()) == {"code", "message", "details"}
    assert "derivatives" not in anonymous.json()

    sub_unit_supervisor = Client()
    sub_unit_supervisor.force_login(make_user(role=Role.SUPERVISOR, unit=make_unit(parent=unit)))
    assert sub_unit_supervisor.get(path).status_code == 404  # sub-units do not see parents

    own = Client()
    own.force_login(make_user(role=Role.SUPERVISOR, unit=unit))
    for bad_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = own.get(f"/api/recordings/{bad_id}")
        assert response.status_code == 404
        assert response.json() == {
            "code": "recording_not_found",
            "message": "no such recording",
            "details": {},
        }
    body = own.get(path).json()
    assert body["processing"]["state"] == "damaged"
    assert body["processing"]["reason_code"] == "not_media"
    assert body["processing"]["reason_message"]  # zh-hans text a person understands
    assert body["derivatives"] == []
