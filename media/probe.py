"""Probe a media file: container, duration, streams and the creation time it carries.

Two interchangeable implementations return the same :class:`ProbeResult`:

* :func:`probe_inprocess` — PyAV, opens the file inside this process (1–12 ms per file);
* :func:`probe_ffprobe` — ``ffprobe`` through ffmpeg-python (a process per call, 80–180 ms).

:func:`probe` uses the in-process one and falls back to ffprobe when PyAV fails for a reason
other than the file being unreadable. Both raise :class:`~media.reasons.MediaUnreadable`
with a stable reason code for files that cannot be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import ffmpeg  # type: ignore[import-untyped]

from media.isobmff import looks_like_isobmff, top_level_boxes
from media.reasons import MediaUnreadable, ReasonCode
from media.tools import ToolMissing, ffprobe_binary

# ffmpeg's image demuxers: a "video" from these is a still photo.
_IMAGE_FORMATS = re.compile(r"(^image2$|^image2pipe$|_pipe$|^webp|^heif)")
# Container dates at or before these are placeholders written by cameras with no clock set.
_UNSET_DATE_YEAR = 1971


@dataclass(frozen=True)
class VideoStream:
    """The first real video stream (attached cover pictures are ignored)."""

    codec: str
    width: int
    height: int
    fps: float | None
    frame_count: int | None
    pixel_format: str | None
    # Display rotation in degrees from the container (phones); None when not determined.
    rotation: int | None


@dataclass(frozen=True)
class AudioStream:
    """The first audio stream."""

    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class ProbeResult:
    """What a probe found in a readable media file."""

    format_name: str
    duration_s: float | None
    size_bytes: int
    bit_rate: int | None
    creation_time: datetime | None
    creation_time_raw: str | None
    video: VideoStream | None
    audio: AudioStream | None
    video_stream_count: int
    audio_stream_count: int
    # Which implementation produced this ("pyav" or "ffprobe"), for diagnostics.
    prober: str

    @property
    def is_still_image(self) -> bool:
        """True for photos read through ffmpeg's image demuxers (JPEG, PNG, ...)."""
        return bool(_IMAGE_FORMATS.search(self.format_name))

    @property
    def has_video(self) -> bool:
        """True when there is a moving-picture stream (not a still image)."""
        return self.video is not None and not self.is_still_image

    @property
    def has_audio(self) -> bool:
        """True when there is at least one audio stream."""
        return self.audio is not None


def parse_creation_time(raw: str | None) -> datetime | None:
    """Parse a container ``creation_time`` tag into an aware UTC datetime.

    MP4/MOV store UTC (ISO 8601 with ``Z`` in ffmpeg's rendering); naive values are taken
    as UTC. Returns None for missing, unparsable or placeholder (1904/1970) dates.
    """
    if not raw:
        return None
    text = raw.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M:%S", "%a %b %d %H:%M:%S %Y"):
            try:
                parsed = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year < _UNSET_DATE_YEAR:
        return None
    return parsed.astimezone(UTC)


def precheck(path: str | Path) -> int:
    """Checks that need no decoder: existence, empty file, MP4 without its index.

    Returns the file size. Raises :class:`MediaUnreadable` with ``empty_file`` or
    ``moov_missing``. A file that starts like MP4 but has media data and no complete
    ``moov`` box is the typical power-loss case: the camera writes the index last.
    """
    file_path = Path(path)
    size = file_path.stat().st_size
    if size == 0:
        raise MediaUnreadable(ReasonCode.EMPTY_FILE)
    with file_path.open("rb") as handle:
        head = handle.read(16)
    if looks_like_isobmff(head):
        boxes = top_level_boxes(file_path)
        types = {box.type for box in boxes}
        complete_moov = any(box.type == "moov" and not box.truncated for box in boxes)
        fragmented = "moof" in types
        if not complete_moov and not fragmented and "mdat" in types:
            raise MediaUnreadable(ReasonCode.MOOV_MISSING)
    return size


def _fraction_to_float(value: Fraction | None) -> float | None:
    if value is None or value.denominator == 0 or value <= 0:
        return None
    return round(float(value), 3)


def _rate_to_float(rate: str | None) -> float | None:
    if not rate or "/" not in rate:
        return None
    num, den = rate.split("/", 1)
    try:
        return _fraction_to_float(Fraction(int(num), int(den)))
    except (ValueError, ZeroDivisionError):
        return None


def _tail(text: str, lines: int = 5) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _classify_tool_error(message: str, path: str | Path) -> ReasonCode:
    lowered = message.lower()
    if "moov atom not found" in lowered:
        # ffmpeg picks the MP4 demuxer by extension too: a text file named .mp4 gets
        # "moov atom not found" although it never was an MP4.
        with Path(path).open("rb") as handle:
            is_mp4 = looks_like_isobmff(handle.read(16))
        return ReasonCode.MOOV_MISSING if is_mp4 else ReasonCode.NOT_MEDIA
    if "invalid data found" in lowered or "could not find codec parameters" in lowered:
        return ReasonCode.NOT_MEDIA
    return ReasonCode.UNDECODABLE


def _require_streams(result: ProbeResult, tool_output: str = "") -> ProbeResult:
    if result.video is None and result.audio is None:
        raise MediaUnreadable(ReasonCode.NOT_MEDIA, tool_output=tool_output)
    return result


def probe_inprocess(path: str | Path) -> ProbeResult:
    """Probe with PyAV inside this process (fast; no decoding beyond stream detection)."""
    size = precheck(path)
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as error:
        raise MediaUnreadable(
            _classify_tool_error(str(error), path), tool_output=str(error)
        ) from error
    with container:
        video_streams = [
            s
            for s in container.streams.video
            if not (s.disposition & av.stream.Disposition.attached_pic)
        ]
        audio_streams = list(container.streams.audio)
        video: VideoStream | None = None
        if video_streams:
            stream = video_streams[0]
            context = stream.codec_context
            fps = _fraction_to_float(stream.average_rate) or _fraction_to_float(stream.guessed_rate)
            video = VideoStream(
                codec=context.name,
                width=int(context.width),
                height=int(context.height),
                fps=fps,
                frame_count=int(stream.frames) or None,
                pixel_format=context.format.name if context.format else None,
                rotation=None,
            )
        audio: AudioStream | None = None
        if audio_streams:
            astream = audio_streams[0]
            audio = AudioStream(
                codec=astream.codec_context.name,
                sample_rate=int(astream.codec_context.sample_rate or 0),
                channels=int(astream.codec_context.layout.nb_channels),
            )
        duration: float | None = None
        if container.duration is not None and container.duration > 0:
            duration = container.duration / 1_000_000
        raw_time = container.metadata.get("creation_time")
        bit_rate = int(container.bit_rate) if container.bit_rate else None
        result = ProbeResult(
            format_name=container.format.name,
            duration_s=round(duration, 3) if duration is not None else None,
            size_bytes=size,
            bit_rate=bit_rate,
            creation_time=parse_creation_time(raw_time),
            creation_time_raw=raw_time,
            video=video,
            audio=audio,
            video_stream_count=len(video_streams),
            audio_stream_count=len(audio_streams),
            prober="pyav",
        )
    return _require_streams(result)


def _int_or_none(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _float_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 3) if number > 0 else None


def _rotation(stream: dict[str, Any]) -> int | None:
    for side_data in stream.get("side_data_list", []) or []:
        if "rotation" in side_data:
            return int(side_data["rotation"])
    rotate = stream.get("tags", {}).get("rotate")
    return int(rotate) if rotate is not None else 0


def _ffprobe() -> str:
    found = ffprobe_binary()
    if found is None:
        raise ToolMissing("ffprobe is not installed (optional: PyAV probes in process)")
    return found


def probe_ffprobe(path: str | Path, *, timeout_s: float = 60.0) -> ProbeResult:
    """Probe with the ``ffprobe`` command (via ffmpeg-python): slower, independent process.

    Raises :class:`~media.tools.ToolMissing` where there is no ffprobe (it is optional).
    """
    size = precheck(path)
    try:
        data: dict[str, Any] = ffmpeg.probe(str(path), cmd=_ffprobe(), timeout=timeout_s)
    except ffmpeg.Error as error:
        stderr = (error.stderr or b"").decode("utf-8", "replace")
        raise MediaUnreadable(
            _classify_tool_error(stderr, path), tool_output=_tail(stderr)
        ) from error
    fmt = data.get("format", {})
    streams: list[dict[str, Any]] = data.get("streams", [])
    video_streams = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    audio_streams = [s for s in streams if s.get("codec_type") == "audio"]
    video: VideoStream | None = None
    if video_streams:
        vs = video_streams[0]
        video = VideoStream(
            codec=str(vs.get("codec_name", "unknown")),
            width=int(vs.get("width") or 0),
            height=int(vs.get("height") or 0),
            fps=_rate_to_float(vs.get("avg_frame_rate")) or _rate_to_float(vs.get("r_frame_rate")),
            frame_count=_int_or_none(vs.get("nb_frames")),
            pixel_format=vs.get("pix_fmt"),
            rotation=_rotation(vs),
        )
    audio: AudioStream | None = None
    if audio_streams:
        aus = audio_streams[0]
        audio = AudioStream(
            codec=str(aus.get("codec_name", "unknown")),
            sample_rate=int(aus.get("sample_rate") or 0),
            channels=int(aus.get("channels") or 0),
        )
    raw_time = fmt.get("tags", {}).get("creation_time")
    result = ProbeResult(
        format_name=str(fmt.get("format_name", "unknown")),
        duration_s=_float_or_none(fmt.get("duration")),
        size_bytes=size,
        bit_rate=_int_or_none(fmt.get("bit_rate")),
        creation_time=parse_creation_time(raw_time),
        creation_time_raw=raw_time,
        video=video,
        audio=audio,
        video_stream_count=len(video_streams),
        audio_stream_count=len(audio_streams),
        prober="ffprobe",
    )
    return _require_streams(result)


def probe(path: str | Path) -> ProbeResult:
    """Probe ``path``: in-process first, ``ffprobe`` if PyAV fails unexpectedly.

    :class:`MediaUnreadable` from the in-process probe is final except for ``undecodable``,
    where the ffprobe opinion (a different FFmpeg build) is asked before giving up. Without an
    ffprobe (it is optional) the in-process answer is final.
    """
    try:
        return probe_inprocess(path)
    except MediaUnreadable as error:
        if error.reason_code != ReasonCode.UNDECODABLE or ffprobe_binary() is None:
            raise
    except Exception:
        if ffprobe_binary() is None:
            raise
    return probe_ffprobe(path)
