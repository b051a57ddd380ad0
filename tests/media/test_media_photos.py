"""EXIF time, GPS, orientation; PNG without EXIF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from media.photos import (
    dms_to_degrees,
    make_display_image,
    make_thumbnail,
    parse_exif_offset,
    read_photo_metadata,
)


def test_exif_metadata(corpus: dict[str, Path]) -> None:
    meta = read_photo_metadata(corpus["jpeg_rotated"])
    assert meta.format == "jpeg" and meta.orientation == 6
    assert (meta.width, meta.height) == (1200, 2400)  # as displayed
    assert meta.taken_at_local == datetime(2026, 11, 20, 16, 30, 5)
    assert meta.utc_offset == timedelta(hours=8)
    assert meta.taken_at == datetime(2026, 11, 20, 8, 30, 5, tzinfo=UTC)
    assert meta.gps_latitude == pytest.approx(30.26, abs=1e-6)
    assert meta.gps_longitude == pytest.approx(120.15, abs=1e-6)


def test_png_without_exif(corpus: dict[str, Path]) -> None:
    meta = read_photo_metadata(corpus["png_plain"])
    assert meta.format == "png" and meta.orientation == 1
    assert meta.taken_at_local is None and meta.taken_at is None
    assert meta.gps_latitude is None and meta.gps_longitude is None
    assert meta.taken_at_assuming(UTC) is None


def test_display_and_thumbnail_are_upright_and_bounded(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    display = make_display_image(corpus["jpeg_rotated"], tmp_path / "d.jpg")
    thumb = make_thumbnail(corpus["jpeg_rotated"], tmp_path / "t.jpg")
    assert (display.width, display.height) == (960, 1920)
    assert (thumb.width, thumb.height) == (160, 320)
    with Image.open(display.path) as image:
        assert image.getexif().get(274) in (None, 1)  # no orientation left to re-apply
        rgb = image.convert("RGB")
        top, bottom = rgb.getpixel((480, 50)), rgb.getpixel((480, 1870))
    assert top[0] > 200 and top[2] < 60  # red (original left half) on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_small_png_not_enlarged(corpus: dict[str, Path], tmp_path: Path) -> None:
    display = make_display_image(corpus["png_plain"], tmp_path / "d.jpg")
    assert (display.width, display.height) == (640, 480)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+08:00", timedelta(hours=8)),
        ("-05:30", -timedelta(hours=5, minutes=30)),
        ("8:00", None),
        ("+99:00", None),
        (None, None),
    ],
)
def test_parse_offset(raw: str | None, expected: timedelta | None) -> None:
    assert parse_exif_offset(raw) == expected


def test_dms_to_degrees() -> None:
    assert dms_to_degrees((30, 15, 36), "N") == pytest.approx(30.26)
    assert dms_to_degrees((30, 15, 36), b"S") == pytest.approx(-30.26)
    assert dms_to_degrees(None, "N") is None
