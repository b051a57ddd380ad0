"""Salvage of a moov-less MP4 with SPS/PPS from an intact file of the same camera."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from media.isobmff import has_complete_moov, read_avc_config
from media.salvage import (
    METHOD_INBAND,
    METHOD_REFERENCE,
    _scan_mdat,
    _ScanState,
    salvage_moovless_mp4,
)
from media.tools import ffmpeg_binary
from tests.media.corpus import independent_probe


def test_reference_avcc_is_parsed(corpus: dict[str, Path]) -> None:
    config = read_avc_config(corpus["reference_mp4"])
    assert config is not None
    assert config.nal_length_size == 4 and (config.width, config.height) == (320, 240)
    assert config.sps[0][0] & 0x1F == 7 and config.pps[0][0] & 0x1F == 8


def test_salvage_recovers_reasonable_share(corpus: dict[str, Path], tmp_path: Path) -> None:
    damaged = corpus["moov_end_truncated"]
    assert not has_complete_moov(damaged)
    full_duration = independent_probe(corpus["full_moov_end"]).duration_s
    assert full_duration is not None
    result = salvage_moovless_mp4(damaged, tmp_path / "out.mp4", corpus["reference_mp4"])
    assert result.recovered and result.method == METHOD_REFERENCE
    assert result.output_path is not None
    out = independent_probe(result.output_path)
    assert out.video is not None and out.video.codec == "h264"
    assert (out.video.width, out.video.height) == (320, 240)
    assert out.duration_s is not None
    # 60 % of the bytes were kept (audio included): expect well over a third of the time.
    assert 0.35 * full_duration <= out.duration_s <= 0.7 * full_duration
    assert result.frames == out.video.frame_count
    assert result.recovered_seconds == pytest.approx(out.duration_s, abs=0.05)
    assert has_complete_moov(result.output_path)
    assert "audio not recovered" in result.notes


def test_without_reference_nothing_is_invented(corpus: dict[str, Path], tmp_path: Path) -> None:
    result = salvage_moovless_mp4(corpus["moov_end_truncated"], tmp_path / "out.mp4")
    assert not result.recovered and result.output_path is None
    assert any("same device model" in note for note in result.notes)
    assert not (tmp_path / "out.mp4").exists()


def test_non_h264_reference_reported(corpus: dict[str, Path], tmp_path: Path) -> None:
    result = salvage_moovless_mp4(
        corpus["moov_end_truncated"], tmp_path / "out.mp4", corpus["hevc_mp4"]
    )
    assert not result.recovered
    assert any("only H.264" in note for note in result.notes)


def test_file_without_mdat(corpus: dict[str, Path], tmp_path: Path) -> None:
    result = salvage_moovless_mp4(corpus["text_mp4"], tmp_path / "out.mp4", corpus["reference_mp4"])
    assert not result.recovered and any("no mdat" in note for note in result.notes)


def test_inband_parameter_sets_need_no_reference(tmp_path: Path) -> None:
    # Some encoders repeat SPS/PPS before every keyframe: then no reference is needed.
    full = tmp_path / "inband.mp4"
    subprocess.run(
        [
            ffmpeg_binary(), "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=3",
            "-c:v", "libx264", "-preset", "veryfast", "-g", "25",
            "-x264-params", "repeat-headers=1", str(full),
        ],
        check=True,
    )  # fmt: skip
    damaged = tmp_path / "cut.mp4"
    damaged.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.6)])
    result = salvage_moovless_mp4(damaged, tmp_path / "out.mp4", fps=25)
    assert result.recovered and result.method == METHOD_INBAND, result.notes
    assert result.recovered_seconds is not None and 1.0 <= result.recovered_seconds <= 2.2


def _nal(nal_header: int, size: int, fill: int) -> bytes:
    # Slice header bits: first_mb_in_slice=0 ("1"), slice_type=7 ("0001000"), pps_id=0 ("1").
    body = bytes([0x88, 0x80]) + bytes([fill]) * (size - 3)
    unit = bytes([nal_header]) + body
    return len(unit).to_bytes(4, "big") + unit


def test_scanner_is_not_fooled_by_audio_that_looks_like_a_huge_nal() -> None:
    real = [_nal(0x65, 40, 0x11)] + [_nal(0x41, 30, 0x22)] * 200
    # "Audio" bytes that parse as an IDR slice of 4 KiB: accepting it would swallow the
    # real units after it. A real NAL unit never contains 00 00 00/01/02 (emulation
    # prevention), and the span does: the next unit's length prefix.
    fake_audio = b"\x00\x00\x10\x00" + bytes([0x65, 0x88, 0x80]) + b"\x5a" * 20
    data = real[0] + fake_audio + b"".join(real[1:])
    state = _ScanState()
    _scan_mdat(
        data,
        0,
        len(data),
        nal_length_size=4,
        pps_ids={0},
        max_macroblocks=300,
        max_nal_bytes=1 << 20,
        state=state,
    )
    assert [length for _, length in state.nals] == [40] + [30] * 200
    assert state.frames == 201
