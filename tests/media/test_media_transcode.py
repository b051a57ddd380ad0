"""Proxy arguments and real transcodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.integrity import check_integrity
from media.isobmff import moov_before_mdat, top_level_boxes
from media.probe import probe
from media.reasons import MediaUnreadable
from media.tools import ffmpeg_binary
from media.transcode import (
    TranscodeFailed,
    proxy_args,
    proxy_dimensions,
    transcode_checked,
    transcode_proxy,
)
from tests.media.corpus import independent_probe


@pytest.mark.parametrize(
    ("source", "proxy"),
    [
        ((1920, 1080), (1280, 720)),
        ((1280, 720), (1280, 720)),
        ((320, 240), (320, 240)),
        ((321, 241), (320, 240)),
        ((1080, 1440), (540, 720)),
        ((3840, 2160), (1280, 720)),
    ],
)
def test_proxy_dimensions(source: tuple[int, int], proxy: tuple[int, int]) -> None:
    assert proxy_dimensions(*source) == proxy


def test_video_args(corpus: dict[str, Path], tmp_path: Path) -> None:
    args = proxy_args(corpus["good_mp4"], tmp_path / "o.mp4", probe(corpus["good_mp4"]))
    assert args[0] == ffmpeg_binary() and args[-1] == str(tmp_path / "o.mp4")
    joined = " ".join(args)
    for expected in ("-c:v libx264", "-preset veryfast", "-crf 28", "-c:a aac", "+faststart"):
        assert expected in joined
    assert "min(720" in joined and "format=yuv420p" in joined


def test_audio_only_args(corpus: dict[str, Path], tmp_path: Path) -> None:
    args = proxy_args(corpus["wav"], tmp_path / "o.m4a", probe(corpus["wav"]))
    assert "-vn" in args and "libx264" not in args and "-c:a" in args


def test_transcode_result(corpus: dict[str, Path], tmp_path: Path) -> None:
    result = transcode_proxy(corpus["full_hd_mp4"], tmp_path / "proxy.mp4")
    assert (result.width, result.height) == (1280, 720)
    assert result.error_count == 0 and result.output_path.exists()
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())
    assert moov_before_mdat(result.output_path)
    types = [box.type for box in top_level_boxes(result.output_path)]
    assert types.index("moov") < types.index("mdat")
    assert result.duration_s == pytest.approx(1.0, abs=0.1)


def test_corrupt_source_still_transcodes_with_errors(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    result = transcode_proxy(corpus["corrupt_middle"], tmp_path / "proxy.mp4")
    assert result.error_count > 0
    assert independent_probe(result.output_path).video is not None


def test_unreadable_source_fails_cleanly(corpus: dict[str, Path], tmp_path: Path) -> None:
    good_probe = probe(corpus["good_mp4"])
    with pytest.raises(TranscodeFailed) as caught:
        transcode_proxy(corpus["text_mp4"], tmp_path / "proxy.mp4", good_probe)
    assert caught.value.exit_code != 0 and caught.value.tool_output
    assert list(tmp_path.iterdir()) == []


def test_thread_limit_applies_to_decoder_and_encoder(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    source = probe(corpus["good_mp4"])
    default = proxy_args(corpus["good_mp4"], tmp_path / "o.mp4", source)
    assert "-threads" not in default and "-filter_threads" not in default
    args = proxy_args(corpus["good_mp4"], tmp_path / "o.mp4", source, threads=1)
    decoder, encoder = args.index("-threads"), len(args) - 1 - args[::-1].index("-threads")
    assert decoder < args.index("-i") < args.index("-c:v") < encoder
    assert args[decoder + 1] == args[encoder + 1] == "1"
    assert args[args.index("-filter_threads") + 1] == "1"


def test_single_thread_transcode_gives_the_same_proxy_shape(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    result = transcode_proxy(corpus["full_hd_mp4"], tmp_path / "proxy.mp4", threads=1)
    assert (result.width, result.height) == (1280, 720) and result.error_count == 0
    assert result.args.count("-threads") == 2
    assert moov_before_mdat(result.output_path)


@pytest.mark.parametrize("name", ["good_mp4", "corrupt_middle", "faststart_truncated", "amr"])
def test_one_run_reports_what_the_separate_integrity_check_reports(
    corpus: dict[str, Path], tmp_path: Path, name: str
) -> None:
    checked = transcode_checked(corpus[name], tmp_path / "proxy.mp4")
    separate = check_integrity(corpus[name])
    assert checked.integrity.decodable and separate.decodable
    assert checked.integrity.decode_errors == separate.decode_errors
    # the first lines may interleave differently (audio and video decode side by side)
    assert len(checked.integrity.error_samples) == len(separate.error_samples)
    assert checked.proxy is not None and checked.failure is None
    assert checked.proxy.error_count == separate.decode_errors
    assert independent_probe(checked.proxy.output_path).duration_s


def test_one_run_decodes_the_original_once(corpus: dict[str, Path], tmp_path: Path) -> None:
    checked = transcode_checked(corpus["good_mp4"], tmp_path / "proxy.mp4")
    assert checked.proxy is not None
    args = checked.proxy.args
    assert args.count("-i") == 1  # one input, two outputs: the proxy and the null check
    assert args[-7:] == ["-map", "0:v?", "-map", "0:a?", "-f", "null", "-"]


def test_one_run_failure_leaves_no_proxy_and_says_why(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    checked = transcode_checked(corpus["good_mp4"], tmp_path / "no-such-dir" / "proxy.mp4")
    assert checked.proxy is None and checked.failure is not None
    assert not checked.integrity.decodable  # unknown: the pipeline decodes alone then
    assert checked.failure.tool_output


def test_one_run_refuses_what_the_precheck_refuses(corpus: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MediaUnreadable):
        transcode_checked(corpus["empty_mp4"], tmp_path / "proxy.mp4")
