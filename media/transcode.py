"""Browser proxies: H.264/AAC MP4 (at most 720 lines, never upscaled) or AAC ``.m4a``.

:func:`proxy_args` returns the exact ffmpeg command so that benchmarks (and operators) can run
plain ffmpeg with the same arguments; :func:`transcode_proxy` runs it, tolerating decode
errors (a partly corrupt original still gets a proxy) and counting them.
:func:`transcode_checked` makes the proxy and the full-decode integrity check of
:mod:`media.integrity` in one ffmpeg run, decoding the original once.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from media.integrity import (
    IntegrityReport,
    count_error_lines,
    decoded_anything,
    integrity_null_output,
)
from media.probe import ProbeResult, precheck, probe_inprocess
from media.reasons import ToolTimeout
from media.tools import ffmpeg_binary

MAX_PROXY_HEIGHT = 720
VIDEO_CRF = 28
VIDEO_PRESET = "veryfast"
AUDIO_BITRATE = "128k"


class TranscodeFailed(Exception):
    """ffmpeg produced no usable proxy. ``tool_output`` holds its last error lines."""

    def __init__(self, message: str, *, tool_output: str = "", exit_code: int | None = None):
        super().__init__(message)
        self.tool_output = tool_output
        self.exit_code = exit_code


@dataclass(frozen=True)
class TranscodeResult:
    """A finished proxy and what ffmpeg said while making it."""

    output_path: Path
    args: list[str]
    error_count: int
    error_samples: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


def proxy_dimensions(
    width: int, height: int, *, max_height: int = MAX_PROXY_HEIGHT
) -> tuple[int, int]:
    """The proxy size ffmpeg will produce for a ``width``×``height`` source (no rotation).

    Mirrors the scale filter in :func:`proxy_args`: height capped at ``max_height`` and made
    even, never upscaled, width keeping the aspect ratio rounded to an even number. When
    the exact width falls half-way between two even numbers ffmpeg's rounding may differ by
    2 px; the pipeline reports the size probed from the written proxy, not this estimate.
    """
    target_height = min(max_height, (height // 2) * 2)
    target_width = round(width * target_height / height / 2) * 2
    return max(target_width, 2), max(target_height, 2)


def thread_args(threads: int, *, encoder: bool = False) -> list[str]:
    """``-threads N`` for ``threads`` > 0 (plus ``-filter_threads N`` with ``encoder``), else
    nothing: ffmpeg's default, as many threads as cores per decoder, filter graph and encoder.

    Given before ``-i`` it applies to the decoder, after it to the encoder. Measured on a
    2-core machine (1080p30 → 720p, 10 s): all threads 4.3 s wall / 7.5 CPU s, one thread
    6.4 s / 6.3 CPU s — a single thread does the same work with 16 % less CPU. A machine that
    runs W workers side by side does best with ``threads = cores / W``: each job then keeps
    about its share of the machine busy instead of every job contending for all of it.
    """
    if threads <= 0:
        return []
    if encoder:
        return ["-threads", str(threads), "-filter_threads", str(threads)]
    return ["-threads", str(threads)]


def is_audio_only(probe_result: ProbeResult) -> bool:
    """True when the proxy is an ``.m4a`` (no moving picture to show)."""
    return not probe_result.has_video and probe_result.has_audio


def proxy_args(
    src: str | Path, dst: str | Path, probe: ProbeResult, *, threads: int = 0
) -> list[str]:
    """The complete ffmpeg command (``argv``) that turns ``src`` into its proxy at ``dst``.

    Video: libx264 veryfast CRF 28, yuv420p (4:2:2 MJPEG and 10-bit HEVC are not playable
    in browsers), height ≤ 720 and even, aspect kept, never upscaled (rotation metadata is
    applied first by ffmpeg's autorotate), AAC audio, ``+faststart``.
    Audio-only: AAC in an MP4 audio (``.m4a``) container with ``+faststart``.
    ``threads`` > 0 caps the decoder, the filters and the encoder at that many threads
    (0: ffmpeg's choice, every core); see :func:`thread_args`.
    """
    command = [
        ffmpeg_binary(),
        "-nostdin",
        "-hide_banner",
        "-y",
        "-v",
        "error",
        # Keep decoding past damaged slices/frames; errors are still logged and counted.
        "-err_detect",
        "ignore_err",
        *thread_args(threads),
        "-i",
        str(src),
    ]
    audio_args: list[str] = ["-c:a", "aac", "-b:a", AUDIO_BITRATE]
    if probe.audio is not None and probe.audio.channels > 2:
        audio_args += ["-ac", "2"]
    if is_audio_only(probe):
        command += ["-map", "0:a:0", "-vn", "-sn", "-dn", *audio_args]
    else:
        # Limited range: ffmpeg 8+ decodes MJPEG as full-range yuv420p, which would pass through.
        scale = (
            f"scale=w=-2:h='min({MAX_PROXY_HEIGHT},trunc(ih/2)*2)'"
            ":flags=bicubic:out_range=tv,format=yuv420p"
        )
        command += [
            "-map",
            "0:v:0",
            "-map",
            "0:a:0?",
            "-sn",
            "-dn",
            "-vf",
            scale,
            "-c:v",
            "libx264",
            "-preset",
            VIDEO_PRESET,
            "-crf",
            str(VIDEO_CRF),
            *audio_args,
            *thread_args(threads, encoder=True),
            "-max_muxing_queue_size",
            "1024",
        ]
    command += ["-movflags", "+faststart", "-f", "mp4", str(dst)]
    return command


def transcode_proxy(
    src: str | Path,
    dst: str | Path,
    probe: ProbeResult | None = None,
    *,
    timeout_s: float | None = None,
    threads: int = 0,
) -> TranscodeResult:
    """Make the proxy of ``src`` at ``dst`` (written to a temporary name, then renamed).

    Raises :class:`TranscodeFailed` when ffmpeg exits non-zero or writes nothing playable,
    :class:`~media.reasons.ToolTimeout` after ``timeout_s``.
    Decode errors that ffmpeg tolerated are returned as ``error_count``.
    """
    started = time.perf_counter()
    source_probe = probe or probe_inprocess(src)
    final = Path(dst)
    partial = final.with_name(f".{final.name}.partial")
    command = proxy_args(src, partial, source_probe, threads=threads)
    completed = _run(command, partial, timeout_s, "ffmpeg transcode")
    error_count, samples = count_error_lines(completed.stderr)
    return _finish(command, completed, partial, final, error_count, samples, started)


@dataclass(frozen=True)
class CheckedTranscode:
    """The integrity report, and the proxy unless ffmpeg failed or decoded nothing."""

    integrity: IntegrityReport
    proxy: TranscodeResult | None
    failure: TranscodeFailed | None = None


def transcode_checked(
    src: str | Path,
    dst: str | Path,
    probe: ProbeResult | None = None,
    *,
    timeout_s: float | None = None,
    threads: int = 0,
) -> CheckedTranscode:
    """The proxy of ``src`` at ``dst`` and the full-decode integrity check, in one ffmpeg
    run: the proxy's output plus the integrity check's null output of every audio and
    video stream, fed by one decoder per stream. The error lines are the decoder's, so
    the report equals :func:`~media.integrity.check_integrity`'s (same counts on every
    file of the test corpus); the CPU of a separate decode is saved (1080p H.264 →
    720p: ~2.6 s of ~10 s per 10 s of footage).

    When ffmpeg exits non-zero the cause (unreadable input or a failing encoder) is
    unknown: ``proxy`` is None, ``failure`` says what ffmpeg said, and the report is
    ``decodable=False`` — run :func:`~media.integrity.check_integrity` to tell the two
    apart. Raises :class:`~media.reasons.MediaUnreadable` for the cheap pre-checks and
    :class:`~media.reasons.ToolTimeout` after ``timeout_s``.
    """
    started = time.perf_counter()
    precheck(src)
    source_probe = probe or probe_inprocess(src)
    final = Path(dst)
    partial = final.with_name(f".{final.name}.partial")
    command = proxy_args(src, partial, source_probe, threads=threads)
    # -progress (a global option) reports "frame=N"/"out_time_us" on stdout, so "decoded
    # nothing" is detectable; the null output is the integrity check's.
    command = [command[0], "-progress", "pipe:1", *command[1:], *integrity_null_output()]
    completed = _run(command, partial, timeout_s, "ffmpeg transcode + integrity check")
    errors, samples = count_error_lines(completed.stderr)
    decodable = completed.returncode == 0 and decoded_anything(completed.stdout)
    integrity = IntegrityReport(
        decode_errors=errors,
        error_samples=samples,
        decodable=decodable,
        exit_code=completed.returncode,
    )
    if not decodable and completed.returncode == 0:
        partial.unlink(missing_ok=True)
        return CheckedTranscode(integrity=integrity, proxy=None)
    try:
        proxy = _finish(command, completed, partial, final, errors, samples, started)
    except TranscodeFailed as failure:
        return CheckedTranscode(integrity=integrity, proxy=None, failure=failure)
    return CheckedTranscode(integrity=integrity, proxy=proxy)


def _run(
    command: list[str], partial: Path, timeout_s: float | None, what: str
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        partial.unlink(missing_ok=True)
        raise ToolTimeout(what, timeout_s or 0) from error


def _finish(
    command: list[str],
    completed: subprocess.CompletedProcess[str],
    partial: Path,
    final: Path,
    error_count: int,
    samples: list[str],
    started: float,
) -> TranscodeResult:
    if completed.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
        raise TranscodeFailed(
            f"ffmpeg exited with {completed.returncode}",
            tool_output=tail,
            exit_code=completed.returncode,
        )
    partial.replace(final)
    output = probe_inprocess(final)
    return TranscodeResult(
        output_path=final,
        args=command,
        error_count=error_count,
        error_samples=samples,
        elapsed_s=time.perf_counter() - started,
        width=output.video.width if output.video else None,
        height=output.video.height if output.video else None,
        duration_s=output.duration_s,
    )
