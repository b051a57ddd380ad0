"""Still images for review lists: poster frame, thumbnail strip, audio waveform.

Frames are decoded in-process with PyAV (no process start per frame) and composed with
Pillow. The waveform is drawn from decoded PCM samples reduced with the ``array`` module
(numpy is deliberately not a dependency).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
from PIL import Image, ImageDraw

from media.probe import ProbeResult

POSTER_MAX_HEIGHT = 720
STRIP_FRAME_COUNT = 10
STRIP_TILE_HEIGHT = 90
WAVEFORM_SIZE = (1200, 200)
WAVEFORM_SAMPLE_RATE = 8000
JPEG_QUALITY = 85


class NoFrameDecoded(Exception):
    """Not a single video frame could be decoded from the file."""


@dataclass(frozen=True)
class ImageResult:
    """A written image derivative."""

    path: Path
    width: int
    height: int
    time_s: float | None = None


def poster_time(duration_s: float | None, *, fps: float | None = None) -> float:
    """A representative moment for the poster frame, in seconds.

    10 % into the recording (skipping the shaky start) for recordings of 10 s or more,
    otherwise 1 s or the middle if shorter; clamped so that at least one frame remains
    (0 for one-frame videos or an unknown duration).
    """
    if not duration_s or duration_s <= 0:
        return 0.0
    moment = duration_s * 0.1 if duration_s >= 10 else min(1.0, duration_s / 2)
    frame_duration = 1.0 / fps if fps else 0.04
    latest = max(0.0, duration_s - frame_duration)
    return round(min(moment, latest), 3)


def _decoded_frames(container: av.container.InputContainer) -> Iterator[av.VideoFrame]:
    stream = container.streams.video[0]
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            continue  # damaged packet: conceal and go on, like the ffmpeg CLI does
        for frame in frames:
            if isinstance(frame, av.VideoFrame):
                yield frame


def _frame_to_image(frame: av.VideoFrame) -> Image.Image:
    image = frame.to_image()
    rotation = int(getattr(frame, "rotation", 0) or 0)
    if rotation % 360:
        # Display-matrix rotation is counter-clockwise degrees; PIL rotates counter-clockwise.
        image = image.rotate(rotation, expand=True)
    return image


def frame_at(path: str | Path, time_s: float, *, threads: int = 0) -> Image.Image:
    """Decode the video frame shown at ``time_s`` (or the last one before the end).
    ``threads`` > 0 caps the decoder's threads (0: FFmpeg's choice, every core).

    Raises :class:`NoFrameDecoded` when no frame can be decoded at all.
    """
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise NoFrameDecoded(str(path))
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if threads > 0:
            stream.codec_context.thread_count = threads
        if time_s > 0 and stream.time_base:
            try:
                container.seek(int(time_s / stream.time_base), stream=stream, backward=True)
            except av.error.FFmpegError:
                container.seek(0)
        last: av.VideoFrame | None = None
        for frame in _decoded_frames(container):
            last = frame
            if frame.time is None or frame.time + 1e-3 >= time_s:
                break
    if last is None:
        if time_s > 0:
            return frame_at(path, 0.0, threads=threads)
        raise NoFrameDecoded(str(path))
    return _frame_to_image(last)


def _fit_height(image: Image.Image, max_height: int) -> Image.Image:
    if image.height <= max_height:
        return image
    width = max(1, round(image.width * max_height / image.height))
    return image.resize((width, max_height), Image.Resampling.LANCZOS)


def make_poster(
    src: str | Path,
    dst: str | Path,
    probe: ProbeResult,
    *,
    max_height: int = POSTER_MAX_HEIGHT,
    threads: int = 0,
) -> ImageResult:
    """Write the poster frame of video ``src`` as a JPEG at ``dst`` (≤ ``max_height``)."""
    fps = probe.video.fps if probe.video else None
    moment = poster_time(probe.duration_s, fps=fps)
    image = _fit_height(frame_at(src, moment, threads=threads).convert("RGB"), max_height)
    image.save(dst, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return ImageResult(path=Path(dst), width=image.width, height=image.height, time_s=moment)


def strip_times(duration_s: float | None, count: int) -> list[float]:
    """Evenly spaced moments (tile centres) for a thumbnail strip of ``count`` frames."""
    if not duration_s or duration_s <= 0 or count <= 1:
        return [0.0]
    return [round(duration_s * (index + 0.5) / count, 3) for index in range(count)]


def make_thumbnail_strip(
    src: str | Path,
    dst: str | Path,
    probe: ProbeResult,
    *,
    count: int = STRIP_FRAME_COUNT,
    tile_height: int = STRIP_TILE_HEIGHT,
    threads: int = 0,
) -> ImageResult:
    """Write ``count`` frames side by side (each ``tile_height`` high) as one JPEG.

    A recording with fewer frames than ``count`` gets one tile per frame.
    """
    frame_count = probe.video.frame_count if probe.video else None
    if frame_count:
        count = max(1, min(count, frame_count))
    tiles: list[Image.Image] = []
    for moment in strip_times(probe.duration_s, count):
        frame = frame_at(src, moment, threads=threads).convert("RGB")
        width = max(2, round(frame.width * tile_height / frame.height))
        tiles.append(frame.resize((width, tile_height), Image.Resampling.BILINEAR))
    strip = Image.new("RGB", (sum(tile.width for tile in tiles), tile_height), "black")
    offset = 0
    for tile in tiles:
        strip.paste(tile, (offset, 0))
        offset += tile.width
    strip.save(dst, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return ImageResult(path=Path(dst), width=strip.width, height=strip.height)


def _pcm_blocks(path: str | Path, block: int) -> Iterator[tuple[int, int]]:
    """Decode the first audio stream as mono 16-bit PCM and yield (min, max) per ``block``."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=WAVEFORM_SAMPLE_RATE)
    pending = array("h")
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]

        def resampled() -> Iterator[av.AudioFrame]:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    continue
                for frame in frames:
                    if isinstance(frame, av.AudioFrame):
                        yield from resampler.resample(frame)
            yield from resampler.resample(None)

        for frame in resampled():
            pending.frombytes(bytes(frame.planes[0])[: frame.samples * 2])
            usable = len(pending) - len(pending) % block
            for start in range(0, usable, block):
                chunk = pending[start : start + block]
                yield min(chunk), max(chunk)
            del pending[:usable]
    if pending:
        yield min(pending), max(pending)


def make_waveform(
    src: str | Path,
    dst: str | Path,
    probe: ProbeResult,
    *,
    size: tuple[int, int] = WAVEFORM_SIZE,
) -> ImageResult:
    """Draw the amplitude envelope of the first audio stream as a PNG.

    One vertical line per pixel column from that column's minimum to maximum sample,
    scaled to the recording's peak so quiet recordings (most body-camera audio) stay
    visible. Silence draws as the flat centre line.
    """
    width, height = size
    duration = probe.duration_s or 1.0
    expected_samples = max(1, int(duration * WAVEFORM_SAMPLE_RATE))
    block = max(1, expected_samples // (width * 4))
    blocks = list(_pcm_blocks(src, block))
    columns: list[tuple[int, int]] = []
    if blocks:
        per_column = len(blocks) / width
        for column in range(width):
            start = int(column * per_column)
            end = max(start + 1, int((column + 1) * per_column))
            group = blocks[start:end] or blocks[-1:]
            columns.append((min(b[0] for b in group), max(b[1] for b in group)))
    # A floor keeps near-silence (dither, hiss) from being blown up to full height.
    peak = max([256] + [max(-low, high) for low, high in columns])
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    middle = height / 2
    scale = (height / 2 - 2) / peak
    draw.line([(0, middle), (width - 1, middle)], fill=(180, 180, 180))
    for x, (low, high) in enumerate(columns):
        top = middle - high * scale
        bottom = middle - low * scale
        draw.line([(x, top), (x, bottom)], fill=(32, 96, 192))
    image.save(dst, "PNG", optimize=True)
    return ImageResult(path=Path(dst), width=width, height=height)
