"""The bad-input list of issue 3, end to end: each file is stored in the real originals
bucket (SeaweedFS, Object Lock), processed by the worker code (PostgreSQL, ffmpeg), and
ends ``ready`` or ``damaged`` with the right reason, visible in the API, with the original
object byte-for-byte as uploaded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.test import Client, TestCase

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.footage.models import ProcessingState, Recording, RecordingProcessing
from backend.footage.processing import (
    recording_process,
    recording_processing_queue,
    recordings_redrive_processing,
)
from backend.footage.storage import object_store
from media.probe import probe_inprocess
from tests.factories import make_device, make_officer, make_unit, make_user
from tests.media.corpus import build_corpus

pytestmark = pytest.mark.django_db

Make = Callable[..., Recording]

VIDEO_DERIVATIVES = {"proxy-720p", "poster", "thumb-strip"}
PHOTO_DERIVATIVES = {"photo-1920", "photo-320"}

# corpus name -> (media kind the device reports, state, damage code, warning codes, profiles)
BAD_INPUT: dict[str, tuple[str, str, str, set[str], set[str]]] = {
    # Power loss: moov atom never written. No intact recording of this model: no salvage.
    "moov_end_truncated": ("video", "damaged", "moov_missing", set(), set()),
    # Cut short but index first: the first half plays; a proxy with its error count.
    "faststart_truncated": ("video", "ready", "", {"partly_corrupt"}, VIDEO_DERIVATIVES),
    "corrupt_middle": ("video", "ready", "", {"partly_corrupt"}, VIDEO_DERIVATIVES),
    "empty_mp4": ("video", "damaged", "empty_file", set(), set()),
    "text_mp4": ("video", "damaged", "not_media", set(), set()),
    "random_bytes": ("video", "damaged", "not_media", set(), set()),
    "huge_video": ("video", "damaged", "dimensions_too_large", set(), set()),
    "avi_mjpeg_pcm": ("video", "ready", "", set(), VIDEO_DERIVATIVES),
    "amr": ("audio", "ready", "", set(), {"proxy-audio", "waveform"}),
    "jpeg_rotated": ("photo", "ready", "", set(), PHOTO_DERIVATIVES),
    "png_plain": ("photo", "ready", "", set(), PHOTO_DERIVATIVES),
    "hevc_mp4": ("video", "ready", "", set(), VIDEO_DERIVATIVES),
    "one_frame_mp4": ("video", "ready", "", set(), VIDEO_DERIVATIVES),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_corpus(tmp_path_factory.mktemp("bad-input-corpus"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(url: str, target: Path) -> Path:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text[:300]
    target.write_bytes(response.content)
    return target


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input_ends_ready_or_damaged_with_the_original_unchanged(
    name: str,
    s3: Any,
    corpus: dict[str, Path],
    stored_recording: Make,
    tmp_path: Path,
) -> None:
    media_kind, state, damage, warnings, profiles = BAD_INPUT[name]
    source = corpus[name]
    digest_before = _sha256(source)
    unit = make_unit()
    device, _ = make_device(officer=make_officer(unit=unit))
    recording = stored_recording(source, device=device, media_kind=media_kind)
    assert recording.sha256 == digest_before

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert recording_processing_queue(recording_id=recording.pk)

    processing = RecordingProcessing.objects.get(pk=recording.pk)
    assert processing.state == state, (processing.last_error, processing.reason)
    assert processing.reason_code == damage
    assert processing.attempts == 1 and processing.last_error == ""
    assert {warning["code"] for warning in processing.warnings} == warnings
    if damage:
        assert processing.reason["message_zh"] and processing.reason["message_en"]
    assert set(recording.derivatives.values_list("profile", flat=True)) == profiles
    assert f"recording.processing_{state}" in AuditEvent.objects.filter(
        object_id=str(recording.pk)
    ).values_list("action", flat=True)

    # The original: still the same object, same bytes, still under Object Lock; the local
    # file it came from is untouched too.
    store = object_store()
    head = store.head(settings.FV_ORIGINALS_BUCKET, recording.storage_key)
    assert head is not None and head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ContentLength"] == source.stat().st_size
    assert (
        store.sha256_of_object(settings.FV_ORIGINALS_BUCKET, recording.storage_key) == digest_before
    )
    assert _sha256(source) == digest_before
    assert Recording.objects.get(pk=recording.pk).sha256 == digest_before

    # Visible as such to a supervisor of the unit, derivative URLs included.
    client = Client()
    client.force_login(make_user(role=Role.SUPERVISOR, unit=unit))
    body = client.get(f"/api/recordings/{recording.pk}").json()
    assert body["processing"]["state"] == state
    assert body["processing"]["reason_code"] == damage
    if damage:
        assert body["processing"]["reason_message"] == processing.reason["message_zh"]
    urls = {d["profile"]: d["url"] for d in body["derivatives"]}
    assert set(urls) == profiles
    for derivative in recording.derivatives.all():
        # Keys derive from the original's hash; the derivatives bucket has no lock.
        assert digest_before in derivative.key
        derivative_head = store.head(settings.FV_DERIVATIVES_BUCKET, derivative.key)
        assert derivative_head is not None and "ObjectLockMode" not in derivative_head

    if "proxy-720p" in urls:  # browser-playable: H.264 at most 720 lines, AAC if any audio
        proxy = probe_inprocess(_download(urls["proxy-720p"], tmp_path / "proxy.mp4"))
        assert proxy.video is not None and proxy.video.codec == "h264"
        assert proxy.video.height <= 720
        assert proxy.audio is None or proxy.audio.codec == "aac"
    if "proxy-audio" in urls:
        proxy = probe_inprocess(_download(urls["proxy-audio"], tmp_path / "proxy.m4a"))
        assert proxy.video is None and proxy.audio is not None and proxy.audio.codec == "aac"
    if "photo-1920" in urls:
        photo = probe_inprocess(_download(urls["photo-1920"], tmp_path / "display.jpg"))
        assert photo.video is not None
        if name == "jpeg_rotated":  # stored 2400x1200 with orientation 6: shown upright
            assert photo.video.height > photo.video.width

    metadata = Recording.objects.get(pk=recording.pk).media_metadata
    if warnings == {"partly_corrupt"}:
        assert metadata.decode_errors is not None and metadata.decode_errors > 0
    elif state == "ready" and media_kind != "photo":
        assert metadata.decode_errors == 0

    # A final outcome is never retried by itself; a late duplicate job changes nothing.
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert recording.pk not in recordings_redrive_processing()
    assert recording_process(recording_id=recording.pk) == "not_claimed"
    assert RecordingProcessing.objects.get(pk=recording.pk).attempts == 1
    assert ProcessingState(processing.state).value == state
