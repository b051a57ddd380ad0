"""Fixtures for media processing: small clips made with ffmpeg once per session, and stored
recordings (original in the real SeaweedFS originals bucket, row in PostgreSQL)."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import ExifTags, Image

from backend.devices.models import Device
from backend.footage.models import Recording, RecordingState
from backend.footage.storage import object_store
from tests.factories import make_device
from tests.media.corpus import CAMERA_H264, CREATION_TIME, ffmpeg, lavfi_av


def _build(root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    files["good"] = root / "good.mp4"
    ffmpeg(
        *lavfi_av(2),
        *CAMERA_H264,
        "-metadata",
        f"creation_time={CREATION_TIME}",
        str(files["good"]),
    )
    files["reference"] = root / "reference.mp4"
    ffmpeg(*lavfi_av(2, pattern="testsrc"), *CAMERA_H264, str(files["reference"]))
    full = root / "full.mp4"  # moov at the end, as cameras write it
    ffmpeg(*lavfi_av(3, pattern="smptebars"), *CAMERA_H264, str(full))
    data = full.read_bytes()
    files["moov_missing"] = root / "cut.mp4"
    files["moov_missing"].write_bytes(data[: int(len(data) * 0.6)])
    files["empty"] = root / "empty.mp4"
    files["empty"].write_bytes(b"")
    files["text"] = root / "notes.mp4"
    files["text"].write_text("这不是视频 / not a video\n" * 20, encoding="utf-8")
    # Long enough (a few seconds of work) to kill a worker in the middle of it.
    files["slow"] = root / "slow.mp4"
    ffmpeg(
        *lavfi_av(6, size="640x360"),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "aac",
        str(files["slow"]),
    )
    files["photo"] = root / "photo.jpg"
    image = Image.new("RGB", (640, 480), (200, 30, 30))
    exif = Image.Exif()
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    exif_ifd[ExifTags.Base.DateTimeOriginal] = "2026:11:20 16:30:05"
    exif_ifd[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 15.0, 36.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 9.0, 0.0)
    image.save(files["photo"], "JPEG", exif=exif, quality=90)
    return files


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _build(tmp_path_factory.mktemp("processing-clips"))


def store_original(path: Path) -> tuple[str, str]:
    """Put a file in the originals bucket as storage does; returns (key, sha256)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    stored = object_store().put_original(
        bucket=settings.FV_ORIGINALS_BUCKET,
        path=path,
        sha256_hex=digest,
        retain_until=timezone.now() + datetime.timedelta(days=1),
    )
    return stored.key, digest


def make_stored_recording(
    path: Path,
    *,
    device: Device | None = None,
    clip_id: str | None = None,
    started_at: datetime.datetime | None = None,
    seconds: float = 2,
    media_kind: str = "video",
) -> Recording:
    """A recording in state `stored`, its original really in the originals bucket."""
    key, digest = store_original(path)
    device = device or make_device()[0]
    start = started_at or datetime.datetime.fromisoformat("2026-11-20T08:30:00+00:00")
    end = start + datetime.timedelta(seconds=seconds)
    return Recording.objects.create(
        device=device,
        clip_id=clip_id or f"{path.stem}-{digest[:8]}",
        file_name=path.name,
        size_bytes=path.stat().st_size,
        sha256=digest,
        media_kind=media_kind,
        device_started_at=start,
        device_ended_at=end,
        started_at=start,
        ended_at=end,
        state=RecordingState.STORED,
        storage_key=key,
        stored_at=timezone.now(),
    )


@pytest.fixture
def stored_recording() -> Callable[..., Recording]:
    return make_stored_recording


def derivative_keys_in_bucket() -> list[str]:
    listing: dict[str, Any] = object_store().client.list_objects_v2(
        Bucket=settings.FV_DERIVATIVES_BUCKET
    )
    return sorted(item["Key"] for item in listing.get("Contents", []))
