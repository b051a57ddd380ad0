"""Browser proxies: H.264/AAC MP4 (at most 720 lines, never upscaled) or AAC ``.m4a``.

:func:`proxy_args` returns the exact ffmpeg command so that benchmarks (and operators) can run
plain ffmpeg with the same arguments; :func:`transcode_proxy` runs it, tolerating decode
errors (a partly corrupt original still gets a proxy) and counting them.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from media.integrity import count_error_lines
from media.probe import ProbeResult, probe_inprocess
from media.reasons import ToolTimeout

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
        "ffmpeg",
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
        scale = f"scale=w=-2:h='min({MAX_PROXY_HEIGHT},trunc(ih/2)*2)':flags=bicubic,format=yuv420p"
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
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        partial.unlink(missing_ok=True)
        raise ToolTimeout("ffmpeg transcode", timeout_s or 0) from error
    error_count, samples = count_error_lines(completed.stderr)
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
