"""The bad-input matrix of issue 3: every file ends ready or damaged with the right reason,
and the original is byte-for-byte unchanged."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from media.classify import MediaKind
from media.hashing import sha256_file
from media.isobmff import moov_before_mdat
from media.pipeline import OutcomeStatus, ProcessingOutcome, process_original
from media.profiles import (
    PHOTO_DISPLAY,
    PHOTO_THUMBNAIL,
    POSTER,
    PROXY_AUDIO,
    PROXY_VIDEO,
    SALVAGED_VIDEO,
    THUMBNAIL_STRIP,
    WAVEFORM,
)
from media.reasons import ReasonCode
from media.tools import ffmpeg_binary
from tests.media.corpus import independent_probe

Process = Callable[[str], ProcessingOutcome]

# name -> (status, damage code or None, warning codes, kind, profiles produced)
EXPECTED: dict[str, tuple[str, str | None, set[str], MediaKind, set[str]]] = {
    "good_mp4": ("ready", None, set(), MediaKind.VIDEO, {"proxy-720p", "poster", "thumb-strip"}),
    "moov_end_truncated": (
        "damaged",
        "moov_missing",
        set(),
        MediaKind.VIDEO,
        {"salvaged", "poster"},
    ),
    "faststart_truncated": (
        "ready",
        None,
        {"partly_corrupt"},
        MediaKind.VIDEO,
        {"proxy-720p", "poster", "thumb-strip"},
    ),
    "corrupt_middle": (
        "ready",
        None,
        {"partly_corrupt"},
        MediaKind.VIDEO,
        {"proxy-720p", "poster", "thumb-strip"},
    ),
    "empty_mp4": ("damaged", "empty_file", set(), MediaKind.UNKNOWN, set()),
    "text_mp4": ("damaged", "not_media", set(), MediaKind.UNKNOWN, set()),
    "random_bytes": ("damaged", "not_media", set(), MediaKind.UNKNOWN, set()),
    "huge_video": ("damaged", "dimensions_too_large", set(), MediaKind.VIDEO, set()),
    "huge_jpeg": ("damaged", "dimensions_too_large", set(), MediaKind.PHOTO, set()),
    "avi_mjpeg_pcm": (
        "ready",
        None,
        set(),
        MediaKind.VIDEO,
        {"proxy-720p", "poster", "thumb-strip"},
    ),
    "amr": ("ready", None, set(), MediaKind.AUDIO, {"proxy-audio", "waveform"}),
    "jpeg_rotated": ("ready", None, set(), MediaKind.PHOTO, {"photo-1920", "photo-320"}),
    "truncated_jpeg": ("damaged", "undecodable", set(), MediaKind.PHOTO, set()),
    "png_plain": ("ready", None, set(), MediaKind.PHOTO, {"photo-1920", "photo-320"}),
    "hevc_mp4": ("ready", None, set(), MediaKind.VIDEO, {"proxy-720p", "poster", "thumb-strip"}),
    "one_frame_mp4": (
        "ready",
        None,
        set(),
        MediaKind.VIDEO,
        {"proxy-720p", "poster", "thumb-strip"},
    ),
    "mpegts": ("ready", None, set(), MediaKind.VIDEO, {"proxy-720p", "poster", "thumb-strip"}),
    "wav": ("ready", None, set(), MediaKind.AUDIO, {"proxy-audio", "waveform"}),
    "full_hd_mp4": ("ready", None, set(), MediaKind.VIDEO, {"proxy-720p", "poster", "thumb-strip"}),
    "rotated_mp4": ("ready", None, set(), MediaKind.VIDEO, {"proxy-720p", "poster", "thumb-strip"}),
    "wrong_extension": (
        "ready",
        None,
        {"wrong_extension"},
        MediaKind.VIDEO,
        {"proxy-720p", "poster", "thumb-strip"},
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outcome_matrix(
    name: str, process: Process, corpus: dict[str, Path], corpus_hashes: dict[str, str]
) -> None:
    status, damage, warnings, kind, profiles = EXPECTED[name]
    outcome = process(name)
    assert outcome.status.value == status, outcome.as_dict()
    assert (outcome.damage.code.value if outcome.damage else None) == damage
    assert {w.code.value for w in outcome.warnings} == warnings
    assert outcome.kind == kind
    assert {f.profile for f in outcome.files} == profiles
    # Every produced file exists, is non-empty and has a key derived from the hash.
    for produced in outcome.files:
        assert produced.path.is_file() and produced.size_bytes == produced.path.stat().st_size > 0
        assert produced.key.startswith(f"derivatives/{corpus_hashes[name][:2]}/")
        assert corpus_hashes[name] in produced.key
    # The original is never touched.
    assert sha256_file(corpus[name]) == corpus_hashes[name]
    assert outcome.original_sha256 == corpus_hashes[name]
    # Damage text is readable by a person, in both languages.
    if outcome.damage is not None:
        assert outcome.damage.message_zh and outcome.damage.message_en
    outcome.as_dict()  # serialisable


def test_damage_messages_are_human(process: Process) -> None:
    damage = process("moov_end_truncated").damage
    assert damage is not None and damage.code == ReasonCode.MOOV_MISSING
    assert "moov" in damage.message_zh and "断电" in damage.message_zh
    assert "power loss" in damage.message_en


def test_good_video_metadata(process: Process) -> None:
    outcome = process("good_mp4")
    meta = outcome.metadata()
    assert meta["video"]["codec"] == "h264"
    assert (meta["video"]["width"], meta["video"]["height"]) == (320, 240)
    assert meta["video"]["fps"] == pytest.approx(30)
    assert meta["audio"]["codec"] == "aac"
    assert meta["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert meta["decode_errors"] == 0
    assert outcome.probe is not None
    assert outcome.probe.creation_time == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def test_partly_corrupt_gets_playable_proxy_with_error_count(process: Process) -> None:
    outcome = process("corrupt_middle")
    assert outcome.integrity is not None and outcome.integrity.decode_errors > 0
    warning = next(w for w in outcome.warnings if w.code == ReasonCode.PARTLY_CORRUPT)
    assert warning.details["decode_errors"] == outcome.integrity.decode_errors
    assert outcome.metadata()["decode_errors"] == outcome.integrity.decode_errors
    proxy = outcome.file_for(PROXY_VIDEO)
    assert proxy is not None
    proxy_probe = independent_probe(proxy.path)
    assert proxy_probe.video is not None and proxy_probe.video.codec == "h264"
    assert proxy_probe.duration_s is not None and proxy_probe.duration_s > 2.0


def test_video_proxies_are_browser_playable(process: Process) -> None:
    for name in ("good_mp4", "avi_mjpeg_pcm", "hevc_mp4", "mpegts", "one_frame_mp4", "full_hd_mp4"):
        outcome = process(name)
        proxy = outcome.file_for(PROXY_VIDEO)
        assert proxy is not None, name
        result = independent_probe(proxy.path)
        assert result.video is not None
        assert result.video.codec == "h264" and result.video.pixel_format == "yuv420p", name
        assert result.video.height <= 720 and result.video.height % 2 == 0, name
        assert result.video.width % 2 == 0, name
        source = outcome.probe
        assert source is not None and source.video is not None
        assert result.video.height <= source.video.height, f"{name} upscaled"
        if source.audio is not None:
            assert result.audio is not None and result.audio.codec == "aac", name
        assert moov_before_mdat(proxy.path), f"{name}: proxy not faststart"


def test_full_hd_is_scaled_to_720p(process: Process) -> None:
    proxy = process("full_hd_mp4").file_for(PROXY_VIDEO)
    assert proxy is not None and (proxy.width, proxy.height) == (1280, 720)


def test_small_and_odd_sizes_are_not_upscaled(process: Process) -> None:
    good = process("good_mp4").file_for(PROXY_VIDEO)
    assert good is not None and (good.width, good.height) == (320, 240)
    odd = process("one_frame_mp4").file_for(PROXY_VIDEO)
    assert odd is not None and (odd.width, odd.height) == (320, 240)  # 321x241 made even


def test_posters_are_jpegs_of_expected_size(process: Process) -> None:
    outcome = process("full_hd_mp4")
    poster = outcome.file_for(POSTER)
    assert poster is not None
    with Image.open(poster.path) as image:
        assert image.format == "JPEG" and image.size == (1280, 720)
    strip = outcome.file_for(THUMBNAIL_STRIP)
    assert strip is not None
    with Image.open(strip.path) as image:
        assert image.format == "JPEG" and image.height == 90 and image.width == 10 * 160
    single = process("one_frame_mp4").file_for(THUMBNAIL_STRIP)
    assert single is not None and single.width is not None and single.width < 200  # one tile


def test_audio_only_gets_m4a_and_waveform(process: Process) -> None:
    for name in ("amr", "wav"):
        outcome = process(name)
        proxy = outcome.file_for(PROXY_AUDIO)
        assert proxy is not None and proxy.path.suffix == ".m4a"
        result = independent_probe(proxy.path)
        assert result.video is None and result.audio is not None and result.audio.codec == "aac"
        assert moov_before_mdat(proxy.path)
        waveform = outcome.file_for(WAVEFORM)
        assert waveform is not None
        with Image.open(waveform.path) as image:
            assert image.format == "PNG"


def test_photo_derivatives_honour_orientation(process: Process) -> None:
    outcome = process("jpeg_rotated")
    assert outcome.photo is not None
    assert outcome.photo.taken_at == datetime.fromisoformat("2026-11-20T16:30:05+08:00")
    assert outcome.photo.gps_latitude == pytest.approx(30.26)
    assert outcome.photo.gps_longitude == pytest.approx(120.15)
    display = outcome.file_for(PHOTO_DISPLAY)
    thumb = outcome.file_for(PHOTO_THUMBNAIL)
    assert display is not None and (display.width, display.height) == (960, 1920)
    assert thumb is not None and (thumb.width, thumb.height) == (160, 320)
    with Image.open(display.path) as image:
        red, _green, blue = image.convert("RGB").getpixel((480, 100))
        assert red > 200 and blue < 60  # the red left half is now on top
    png = process("png_plain")
    assert png.photo is not None and png.photo.taken_at_local is None
    assert png.metadata()["photo"]["taken_at"] is None


def test_salvage_recorded_on_moov_missing(process: Process) -> None:
    outcome = process("moov_end_truncated")
    assert outcome.salvage is not None and outcome.salvage.recovered
    salvaged = outcome.file_for(SALVAGED_VIDEO)
    assert salvaged is not None
    assert independent_probe(salvaged.path).duration_s is not None


def test_moov_missing_without_reference_says_so(corpus: dict[str, Path], tmp_path: Path) -> None:
    outcome = process_original(corpus["moov_end_truncated"], tmp_path)
    assert outcome.status == OutcomeStatus.DAMAGED
    assert outcome.damage is not None and outcome.damage.code == ReasonCode.MOOV_MISSING
    assert outcome.salvage is not None and not outcome.salvage.recovered
    assert any("same device model" in note for note in outcome.salvage.notes)
    assert outcome.files == ()


def test_rerun_is_idempotent(corpus: dict[str, Path], tmp_path: Path) -> None:
    first = process_original(corpus["good_mp4"], tmp_path / "a")
    names_after_first = sorted(p.name for p in (tmp_path / "a").iterdir())
    second = process_original(corpus["good_mp4"], tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == names_after_first
    assert [f.key for f in first.files] == [f.key for f in second.files]
    assert len({f.key for f in first.files}) == len(first.files)


def test_display_rotation_is_applied_like_ffmpeg(
    process: Process, corpus: dict[str, Path], tmp_path: Path
) -> None:
    outcome = process("rotated_mp4")
    assert outcome.probe is not None and outcome.probe.video is not None
    assert (outcome.probe.video.width, outcome.probe.video.height) == (320, 240)  # as coded
    proxy, poster = outcome.file_for(PROXY_VIDEO), outcome.file_for(POSTER)
    assert proxy is not None and (proxy.width, proxy.height) == (240, 320)
    assert poster is not None and (poster.width, poster.height) == (240, 320)
    # Same orientation as ffmpeg's own autorotated frame at the poster's moment.
    reference = tmp_path / "ffmpeg_frame.png"
    subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-ss", "1", "-i", str(corpus["rotated_mp4"]),
         "-frames:v", "1", str(reference)],
        check=True,
    )  # fmt: skip
    with Image.open(reference) as expected, Image.open(poster.path) as actual:
        difference = ImageChops.difference(expected.convert("RGB"), actual.convert("RGB"))
        assert max(ImageStat.Stat(difference).mean) < 20


def test_stage_timings_reported(process: Process) -> None:
    timings = process("good_mp4").timings
    assert {"hash", "probe", "integrity+proxy", "posters"} <= set(timings)
    assert "integrity" not in timings  # decoded once: no separate integrity pass
    assert all(seconds >= 0 for seconds in timings.values())
    assert process("good_mp4").elapsed_s >= sum(timings.values()) * 0.99


def test_thread_limit_gives_the_same_outcome(corpus: dict[str, Path], tmp_path: Path) -> None:
    # FV_MEDIA_THREADS=1 (one core per worker) changes how ffmpeg runs, not what it yields.
    limited = process_original(corpus["corrupt_middle"], tmp_path / "one", threads=1)
    default = process_original(corpus["corrupt_middle"], tmp_path / "all")
    assert limited.status == default.status == OutcomeStatus.READY
    assert {w.code for w in limited.warnings} == {w.code for w in default.warnings}
    assert ReasonCode.PARTLY_CORRUPT in {w.code for w in limited.warnings}
    assert [f.key for f in limited.files] == [f.key for f in default.files]
