"""The bad-input corpus of issue 3: small media files generated with ffmpeg and Pillow.

Used by tests/media (the library on file paths) and tests/processing (the same files stored
in S3 and processed by the worker code).

Every file is 2–3 s, low resolution, so the whole corpus takes a few seconds to build.
Nothing binary is committed: the AMR-NB file (Debian's ffmpeg has no AMR encoder) is
written by :func:`write_amr_nb` below from valid frame headers and random payload bits,
which the AMR decoder accepts (every payload bit pattern is a valid parameter set).
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import av
import pytest
from PIL import ExifTags, Image, ImageDraw

from media.probe import ProbeResult, probe_ffprobe, probe_inprocess
from media.tools import ffmpeg_binary, ffprobe_binary

# ffprobe is optional (the imageio-ffmpeg wheel ships none): compare against it where installed.
HAS_FFPROBE = ffprobe_binary() is not None
PROBERS = (probe_inprocess, probe_ffprobe) if HAS_FFPROBE else (probe_inprocess,)
needs_ffprobe = pytest.mark.skipif(not HAS_FFPROBE, reason="no ffprobe on this machine (optional)")


def independent_probe(path: Path) -> ProbeResult:
    """Probe a made file with ffprobe in its own process where installed, else with PyAV."""
    return probe_ffprobe(path) if HAS_FFPROBE else probe_inprocess(path)


# Same camera, same encoder settings: the salvage reference and the damaged recording.
CAMERA_H264 = [
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    "28",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
]
CREATION_TIME = "2026-11-20T08:30:00.000000Z"


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; fail the session with its stderr if it fails."""
    command = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-v", "error", "-y", *args]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}\n{completed.stderr}")


def lavfi_av(seconds: float, *, size: str = "320x240", rate: int = 30, pattern: str = "testsrc2"):
    """lavfi inputs for a test picture plus a 440 Hz tone."""
    return [
        "-f",
        "lavfi",
        "-i",
        f"{pattern}=s={size}:r={rate}:d={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=f=440:d={seconds}",
        "-shortest",
    ]


def truncate_copy(src: Path, dst: Path, fraction: float) -> Path:
    """Copy the first ``fraction`` of ``src`` to ``dst`` (a recording cut by power loss)."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def write_amr_nb(path: Path, seconds: float, *, seed: int = 7) -> Path:
    """Write an AMR-NB (RFC 4867 storage format) file: "#!AMR\\n" + 12.2 kbit/s frames.

    Frame header 0x3C = FT 7 (12.2 kbit/s, 31 payload bytes) with the quality bit set;
    50 frames per second.
    """
    generator = random.Random(seed)
    frames = int(seconds * 50)
    with path.open("wb") as handle:
        handle.write(b"#!AMR\n")
        for _ in range(frames):
            handle.write(b"\x3c" + bytes(generator.getrandbits(8) for _ in range(31)))
    return path


def patch_jpeg_dimensions(src: Path, dst: Path, *, width: int, height: int) -> Path:
    """Copy a JPEG, rewriting its SOF header to declare ``width``×``height``."""
    data = bytearray(src.read_bytes())
    offset = 2
    while offset < len(data):
        marker = data[offset + 1]
        length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            struct.pack_into(">HH", data, offset + 5, height, width)
            dst.write_bytes(bytes(data))
            return dst
        offset += 2 + length
    raise ValueError("no SOF marker")


def exif_photo(path: Path, *, size: tuple[int, int], orientation: int) -> Path:
    """A JPEG whose left half is red and right half blue, with EXIF time, offset and GPS."""
    image = Image.new("RGB", size, (0, 0, 255))
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2, size[1]), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "FieldVault test camera"
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    exif_ifd[ExifTags.Base.DateTimeOriginal] = "2026:11:20 16:30:05"
    exif_ifd[ExifTags.Base.OffsetTimeOriginal] = "+08:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 15.0, 36.0)  # 30.26°
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 9.0, 0.0)  # 120.15°
    image.save(path, "JPEG", exif=exif, quality=90)
    return path


def with_display_rotation(src: Path, dst: Path, degrees: int) -> Path:
    """Remux the video of ``src`` with a display-matrix rotation (a phone held upright).

    Debian's ffmpeg 5.1 CLI cannot write one (``-display_rotation`` came in 6.0); PyAV's
    bundled FFmpeg can.
    """
    with av.open(str(src)) as source, av.open(str(dst), "w") as target:
        in_stream = source.streams.video[0]
        out_stream = target.add_stream_from_template(in_stream)
        out_stream.set_display_rotation(degrees)
        for packet in source.demux(in_stream):
            if packet.dts is None:
                continue
            packet.stream = out_stream
            target.mux(packet)
    return dst


def build_corpus(root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}

    def add(name: str, filename: str, build: Callable[[Path], object]) -> None:
        path = root / filename
        build(path)
        files[name] = path

    add(
        "good_mp4",
        "good.mp4",
        lambda p: ffmpeg(
            *lavfi_av(2),
            *CAMERA_H264,
            "-metadata",
            f"creation_time={CREATION_TIME}",
            "-movflags",
            "+faststart",
            str(p),
        ),
    )
    # Intact recording of the same "camera" (same settings, other content), moov at end.
    add("reference_mp4", "reference.mp4", lambda p: ffmpeg(*lavfi_av(2), *CAMERA_H264, str(p)))
    full_moov_end = root / "full_moov_end.mp4"
    ffmpeg(*lavfi_av(3, pattern="testsrc"), *CAMERA_H264, str(full_moov_end))
    files["full_moov_end"] = full_moov_end
    add(
        "moov_end_truncated",
        "cut_moov_end.mp4",
        lambda p: truncate_copy(full_moov_end, p, 0.6),
    )
    full_faststart = root / "full_faststart.mp4"
    ffmpeg(*lavfi_av(3), *CAMERA_H264, "-movflags", "+faststart", str(full_faststart))
    add("faststart_truncated", "cut_faststart.mp4", lambda p: truncate_copy(full_faststart, p, 0.6))

    def corrupt(path: Path) -> None:
        clean = root / "clean_for_corruption.mp4"
        ffmpeg(
            *lavfi_av(3),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "18",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
            str(clean),
        )
        data = bytearray(clean.read_bytes())
        generator = random.Random(1)
        for fraction in (0.4, 0.5, 0.6):
            start = int(len(data) * fraction)
            data[start : start + 1500] = bytes(generator.getrandbits(8) for _ in range(1500))
        path.write_bytes(bytes(data))

    add("corrupt_middle", "corrupt_middle.mp4", corrupt)
    add("empty_mp4", "empty.mp4", lambda p: p.write_bytes(b""))
    # A whole file of random bytes (a wiped or mis-copied card), named like a recording.
    add("random_bytes", "noise.mp4", lambda p: p.write_bytes(random.Random(3).randbytes(200_000)))
    add(
        "text_mp4",
        "notes.mp4",
        lambda p: p.write_text("这不是视频 / this is not a video\n" * 20, encoding="utf-8"),
    )
    add(
        "huge_video",
        "huge.mp4",
        lambda p: ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=10000x16:d=0.2:r=10",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            str(p),
        ),
    )
    add(
        "avi_mjpeg_pcm",
        "cheap_camera.avi",
        lambda p: ffmpeg(*lavfi_av(2), "-c:v", "mjpeg", "-q:v", "5", "-c:a", "pcm_s16le", str(p)),
    )
    add("amr", "recording.amr", lambda p: write_amr_nb(p, 2.0))
    add(
        "jpeg_rotated",
        "rotated.jpg",
        lambda p: exif_photo(p, size=(2400, 1200), orientation=6),
    )
    add(
        "huge_jpeg",
        "huge.jpg",
        lambda p: patch_jpeg_dimensions(
            exif_photo(root / "small_for_patch.jpg", size=(64, 48), orientation=1),
            p,
            width=20000,
            height=12000,
        ),
    )
    add(
        "truncated_jpeg",
        "cut_photo.jpg",
        lambda p: truncate_copy(files["jpeg_rotated"], p, 0.5),
    )
    add(
        "png_plain",
        "screen.png",
        lambda p: Image.new("RGB", (640, 480), (10, 200, 30)).save(p, "PNG"),
    )
    add(
        "hevc_mp4",
        "hevc.mp4",
        lambda p: ffmpeg(
            *lavfi_av(2),
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error",
            "-tag:v",
            "hvc1",
            "-c:a",
            "aac",
            str(p),
        ),
    )
    add(
        "one_frame_mp4",
        "one_frame.mp4",
        lambda p: ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=321x241:r=30",
            "-frames:v",
            "1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(p),
        ),
    )
    add(
        "mpegts",
        "stream.ts",
        lambda p: ffmpeg(
            *lavfi_av(2),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-c:a",
            "aac",
            "-f",
            "mpegts",
            str(p),
        ),
    )
    add(
        "wav",
        "voice.wav",
        # 1 s tone, then 1 s silence: the waveform must show both.
        lambda p: ffmpeg(
            "-f",
            "lavfi",
            "-i",
            "sine=f=300:d=1",
            "-af",
            "apad=pad_dur=1",
            "-c:a",
            "pcm_s16le",
            str(p),
        ),
    )
    add(
        "full_hd_mp4",
        "full_hd.mp4",
        lambda p: ffmpeg(
            *lavfi_av(1, size="1920x1080"),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            str(p),
        ),
    )
    add(
        "rotated_mp4",
        "portrait.mp4",
        lambda p: with_display_rotation(files["good_mp4"], p, 90),
    )
    add("wrong_extension", "really_mp4.avi", lambda p: shutil.copyfile(files["good_mp4"], p))
    return files
