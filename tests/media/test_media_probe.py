"""Probing: both implementations agree, creation time is parsed, unreadable files get codes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from media.probe import parse_creation_time, precheck, probe, probe_ffprobe, probe_inprocess
from media.reasons import MediaUnreadable, ReasonCode
from tests.media.corpus import PROBERS, needs_ffprobe

READABLE = ["good_mp4", "avi_mjpeg_pcm", "hevc_mp4", "mpegts", "wav", "amr", "one_frame_mp4"]


@pytest.mark.parametrize("name", READABLE)
@needs_ffprobe
def test_ffprobe_and_inprocess_agree(name: str, corpus: dict[str, Path]) -> None:
    fast, slow = probe_inprocess(corpus[name]), probe_ffprobe(corpus[name])
    assert (fast.prober, slow.prober) == ("pyav", "ffprobe")
    assert fast.size_bytes == slow.size_bytes == corpus[name].stat().st_size
    assert (fast.video is None) == (slow.video is None)
    assert (fast.audio is None) == (slow.audio is None)
    if fast.video and slow.video:
        assert (fast.video.width, fast.video.height) == (slow.video.width, slow.video.height)
        assert fast.video.codec == slow.video.codec
        if slow.video.fps:
            assert fast.video.fps == pytest.approx(slow.video.fps, rel=0.01)
    if fast.audio and slow.audio:
        assert fast.audio.sample_rate == slow.audio.sample_rate
        assert fast.audio.channels == slow.audio.channels
    assert fast.duration_s == pytest.approx(slow.duration_s, abs=0.05)
    assert fast.creation_time == slow.creation_time


def test_stream_details(corpus: dict[str, Path]) -> None:
    result = probe(corpus["avi_mjpeg_pcm"])
    assert result.format_name == "avi"
    assert result.video is not None and result.video.codec == "mjpeg"
    assert result.audio is not None and result.audio.codec == "pcm_s16le"
    assert result.audio.sample_rate == 44100 and result.audio.channels == 1
    amr = probe(corpus["amr"])
    assert amr.audio is not None and amr.audio.codec.startswith("amr")
    assert amr.audio.sample_rate == 8000 and not amr.has_video
    hevc = probe(corpus["hevc_mp4"])
    assert hevc.video is not None and hevc.video.codec == "hevc"


def test_creation_time_from_container(corpus: dict[str, Path]) -> None:
    for prober in PROBERS:
        result = prober(corpus["good_mp4"])
        assert result.creation_time == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
        assert result.creation_time.tzinfo is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-20T08:30:00.000000Z", datetime(2026, 11, 20, 8, 30, tzinfo=UTC)),
        ("2026-11-20 16:30:00", datetime(2026, 11, 20, 16, 30, tzinfo=UTC)),
        ("2026-11-20T16:30:00+08:00", datetime(2026, 11, 20, 8, 30, tzinfo=UTC)),
        ("1970-01-01T00:00:00.000000Z", None),  # camera clock never set
        ("1904-01-01T00:00:00Z", None),
        ("not a date", None),
        (None, None),
    ],
)
def test_parse_creation_time(raw: str | None, expected: datetime | None) -> None:
    assert parse_creation_time(raw) == expected


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("empty_mp4", ReasonCode.EMPTY_FILE),
        ("text_mp4", ReasonCode.NOT_MEDIA),
        ("moov_end_truncated", ReasonCode.MOOV_MISSING),
    ],
)
def test_unreadable_files_raise_typed_error(
    name: str, code: ReasonCode, corpus: dict[str, Path]
) -> None:
    for prober in (*PROBERS, probe):
        with pytest.raises(MediaUnreadable) as caught:
            prober(corpus[name])
        assert caught.value.reason_code == code
        assert caught.value.message_zh and caught.value.message_en


@needs_ffprobe
def test_ffmpeg_alone_says_moov_missing_for_text_named_mp4(corpus: dict[str, Path]) -> None:
    # Why precheck/magic bytes matter: ffmpeg picks the MP4 demuxer by extension.
    with pytest.raises(MediaUnreadable) as caught:
        probe_ffprobe(corpus["text_mp4"])
    assert "moov atom not found" in caught.value.tool_output
    assert caught.value.reason_code == ReasonCode.NOT_MEDIA


def test_precheck_returns_size(corpus: dict[str, Path]) -> None:
    assert precheck(corpus["good_mp4"]) == corpus["good_mp4"].stat().st_size
