"""Full-decode integrity check finds damage ffprobe does not report."""

from __future__ import annotations

from pathlib import Path

from media.integrity import check_integrity, count_error_lines, normalise_ffmpeg_line
from tests.media.corpus import independent_probe


def test_clean_file_has_no_errors(corpus: dict[str, Path]) -> None:
    report = check_integrity(corpus["good_mp4"])
    assert report.decodable and report.decode_errors == 0 and report.error_samples == []


def test_overwritten_bytes_found_only_by_decoding(corpus: dict[str, Path]) -> None:
    # ffprobe opens the damaged file without complaint...
    assert independent_probe(corpus["corrupt_middle"]).video is not None
    # ...the full decode finds the damage.
    report = check_integrity(corpus["corrupt_middle"])
    assert report.decodable
    assert report.decode_errors > 0
    assert 0 < len(report.error_samples) <= 10
    assert all(" @ 0x" not in line for line in report.error_samples)


def test_truncated_faststart_reports_errors(corpus: dict[str, Path]) -> None:
    report = check_integrity(corpus["faststart_truncated"])
    assert report.decodable and report.decode_errors > 0


def test_text_file_is_not_decodable(corpus: dict[str, Path]) -> None:
    report = check_integrity(corpus["text_mp4"])
    assert not report.decodable and report.exit_code != 0


def test_error_line_helpers() -> None:
    assert normalise_ffmpeg_line("[h264 @ 0x55d0c0ffee00] error while decoding MB 3 4") == (
        "[h264] error while decoding MB 3 4"
    )
    count, samples = count_error_lines("a\n\n b \n" + "x\n" * 20)
    assert count == 22 and len(samples) == 10 and samples[:2] == ["a", "b"]


def test_single_thread_decode_finds_the_same_damage(corpus: dict[str, Path]) -> None:
    assert check_integrity(corpus["good_mp4"], threads=1).decode_errors == 0
    report = check_integrity(corpus["corrupt_middle"], threads=1)
    assert report.decodable and report.decode_errors > 0
