"""Poster frame, thumbnail strip and waveform."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops

from media.posters import (
    frame_at,
    make_poster,
    make_thumbnail_strip,
    make_waveform,
    poster_time,
    strip_times,
)
from media.probe import probe


@pytest.mark.parametrize(
    ("duration", "fps", "expected"),
    [
        (None, None, 0.0),
        (0.0, 30.0, 0.0),
        (1 / 30, 30.0, 0.0),  # one frame
        (0.5, 30.0, 0.25),
        (2.0, 30.0, 1.0),
        (60.0, 30.0, 6.0),
    ],
)
def test_poster_time(duration: float | None, fps: float | None, expected: float) -> None:
    assert poster_time(duration, fps=fps) == pytest.approx(expected, abs=1e-3)


def test_strip_times() -> None:
    assert strip_times(10.0, 5) == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert strip_times(None, 5) == [0.0]


@pytest.mark.parametrize(
    "name", ["good_mp4", "hevc_mp4", "avi_mjpeg_pcm", "mpegts", "one_frame_mp4"]
)
def test_poster_is_valid_jpeg(name: str, corpus: dict[str, Path], tmp_path: Path) -> None:
    result_probe = probe(corpus[name])
    result = make_poster(corpus[name], tmp_path / "p.jpg", result_probe)
    with Image.open(result.path) as image:
        image.verify()
    with Image.open(result.path) as image:
        assert image.format == "JPEG"
        assert image.size == (result_probe.video.width, result_probe.video.height)  # type: ignore[union-attr]


def test_poster_capped_at_720(corpus: dict[str, Path], tmp_path: Path) -> None:
    result = make_poster(corpus["full_hd_mp4"], tmp_path / "p.jpg", probe(corpus["full_hd_mp4"]))
    assert (result.width, result.height) == (1280, 720)


def test_poster_is_frame_at_requested_time(corpus: dict[str, Path], tmp_path: Path) -> None:
    # testsrc2 changes every frame: posters at different times must differ.
    source_probe = probe(corpus["good_mp4"])
    first = make_poster(corpus["good_mp4"], tmp_path / "a.jpg", source_probe)
    assert first.time_s == pytest.approx(1.0)
    strip = make_thumbnail_strip(corpus["good_mp4"], tmp_path / "s.jpg", source_probe, count=4)
    with Image.open(strip.path) as image:
        tiles = [image.crop((i * 120, 0, (i + 1) * 120, 90)).tobytes() for i in range(4)]
    assert (strip.width, strip.height) == (4 * 120, 90)
    assert len(set(tiles)) == 4


def test_waveform_shows_tone_then_silence(corpus: dict[str, Path], tmp_path: Path) -> None:
    result = make_waveform(corpus["wav"], tmp_path / "w.png", probe(corpus["wav"]), size=(400, 100))
    with Image.open(result.path) as image:
        rgb = image.convert("RGB")

        def drawn_height(x: int) -> int:
            return sum(1 for y in range(100) if rgb.getpixel((x, y)) == (32, 96, 192))

        tone = [drawn_height(x) for x in range(20, 180, 10)]
        silence = [drawn_height(x) for x in range(220, 380, 10)]
    assert min(tone) > 60  # tone at peak level fills most of the height
    assert max(silence) <= 2  # silence is the flat centre line


@pytest.mark.parametrize("name", ["good_mp4", "hevc_mp4"])
def test_single_thread_decode_gives_the_same_frame(name: str, corpus: dict[str, Path]) -> None:
    # FV_MEDIA_THREADS=1 reaches the poster decoder too; the picture must not change.
    limited = frame_at(corpus[name], 0.5, threads=1)
    default = frame_at(corpus[name], 0.5)
    assert limited.size == default.size
    assert ImageChops.difference(limited.convert("RGB"), default.convert("RGB")).getbbox() is None
