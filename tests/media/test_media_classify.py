"""Kind by content, wrong extensions, implausible dimensions."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.classify import MediaKind, classify, declared_image_size, sniff, sniff_bytes
from media.probe import probe
from media.reasons import ReasonCode


@pytest.mark.parametrize(
    ("name", "container"),
    [
        ("good_mp4", "isobmff"),
        ("moov_end_truncated", "isobmff"),
        ("avi_mjpeg_pcm", "avi"),
        ("wav", "wav"),
        ("amr", "amr"),
        ("mpegts", "mpegts"),
        ("jpeg_rotated", "jpeg"),
        ("png_plain", "png"),
        ("text_mp4", "unknown"),
        ("wrong_extension", "isobmff"),
    ],
)
def test_sniff_by_magic_bytes(name: str, container: str, corpus: dict[str, Path]) -> None:
    assert sniff(corpus[name]).container == container


def test_sniff_bytes_edge_cases() -> None:
    assert sniff_bytes(b"").kind == MediaKind.UNKNOWN
    assert sniff_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 8).kind == MediaKind.PHOTO
    assert sniff_bytes(b"\x00\x00\x00\x18ftypM4A " + b"\x00" * 8).kind == MediaKind.AUDIO
    assert sniff_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 28).container == "matroska"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("good_mp4", MediaKind.VIDEO),
        ("hevc_mp4", MediaKind.VIDEO),
        ("mpegts", MediaKind.VIDEO),
        ("avi_mjpeg_pcm", MediaKind.VIDEO),
        ("amr", MediaKind.AUDIO),
        ("wav", MediaKind.AUDIO),
        ("jpeg_rotated", MediaKind.PHOTO),
        ("png_plain", MediaKind.PHOTO),
    ],
)
def test_kind_by_content(name: str, kind: MediaKind, corpus: dict[str, Path]) -> None:
    result = classify(corpus[name], probe(corpus[name]))
    assert result.kind == kind
    assert result.rejection is None and result.warnings == ()


def test_wrong_extension_is_a_warning(corpus: dict[str, Path]) -> None:
    result = classify(corpus["wrong_extension"], probe(corpus["wrong_extension"]))
    assert result.kind == MediaKind.VIDEO and result.rejection is None
    (warning,) = result.warnings
    assert warning.code == ReasonCode.WRONG_EXTENSION and warning.is_warning
    assert warning.details == {"extension": "avi", "detected_container": "isobmff"}
    assert ".avi" in warning.message_zh


def test_huge_dimensions_rejected_and_limit_configurable(corpus: dict[str, Path]) -> None:
    result = classify(corpus["huge_video"], probe(corpus["huge_video"]))
    assert result.rejection is not None
    assert result.rejection.code == ReasonCode.DIMENSIONS_TOO_LARGE
    assert result.rejection.details["width"] == 10000
    relaxed = classify(corpus["huge_video"], probe(corpus["huge_video"]), max_dimension=10000)
    assert relaxed.rejection is None
    strict = classify(corpus["good_mp4"], probe(corpus["good_mp4"]), max_dimension=300)
    assert strict.rejection is not None and strict.rejection.details["width"] == 320


def test_lying_jpeg_header_is_read_without_decoding(corpus: dict[str, Path]) -> None:
    assert declared_image_size(corpus["huge_jpeg"]) == (20000, 12000)
    assert declared_image_size(corpus["jpeg_rotated"]) == (2400, 1200)
    assert declared_image_size(corpus["png_plain"]) == (640, 480)
    assert declared_image_size(corpus["good_mp4"]) is None
