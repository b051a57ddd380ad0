"""Decide what a file is by its content, never by its name.

:func:`sniff` reads the first bytes (magic numbers); :func:`classify` combines that with a
probe result, flags a wrong extension (a warning: the file is still processed) and refuses
implausibly large picture sizes before any decoder allocates memory for them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from media.isobmff import looks_like_isobmff
from media.probe import ProbeResult
from media.reasons import Reason, ReasonCode, make_reason

DEFAULT_MAX_DIMENSION = 8192


class MediaKind(StrEnum):
    """What an original is, for choosing derivatives."""

    VIDEO = "video"
    AUDIO = "audio"
    PHOTO = "photo"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Sniffed:
    """What the magic bytes say: a container family, a likely kind and usual extensions."""

    container: str
    kind: MediaKind
    extensions: tuple[str, ...]


_UNKNOWN = Sniffed(container="unknown", kind=MediaKind.UNKNOWN, extensions=())

# ISO base media brands that mean audio-only or a still image.
_AUDIO_BRANDS = frozenset({"M4A ", "M4B ", "F4A "})
_IMAGE_BRANDS = frozenset({"heic", "heix", "mif1", "msf1", "avif", "heim", "heis"})
_ISOBMFF_EXTENSIONS = ("mp4", "mov", "m4v", "3gp", "3g2", "mpg4", "m4a", "qt")


def sniff_bytes(head: bytes) -> Sniffed:
    """Identify a container from the first bytes of a file (at least 32 for good results)."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("jpeg", MediaKind.PHOTO, ("jpg", "jpeg", "jpe"))
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("png", MediaKind.PHOTO, ("png",))
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("avi", MediaKind.VIDEO, ("avi",))
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("wav", MediaKind.AUDIO, ("wav", "wave"))
    if head.startswith(b"#!AMR-WB\n"):
        return Sniffed("amr", MediaKind.AUDIO, ("amr", "awb"))
    if head.startswith(b"#!AMR\n"):
        return Sniffed("amr", MediaKind.AUDIO, ("amr",))
    if looks_like_isobmff(head):
        brand = head[8:12].decode("latin-1") if head[4:8] == b"ftyp" else ""
        if brand in _IMAGE_BRANDS:
            return Sniffed("heif", MediaKind.PHOTO, ("heic", "heif", "avif"))
        if brand in _AUDIO_BRANDS:
            return Sniffed("isobmff", MediaKind.AUDIO, ("m4a", "m4b", "mp4", "aac"))
        # Kind (video or audio-only MP4) is settled by the probe.
        return Sniffed("isobmff", MediaKind.UNKNOWN, _ISOBMFF_EXTENSIONS)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("matroska", MediaKind.UNKNOWN, ("mkv", "webm", "mka"))
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:
        return Sniffed("mpegts", MediaKind.UNKNOWN, ("ts", "m2ts", "mts", "trp"))
    if head.startswith(b"\x00\x00\x01\xba"):
        return Sniffed("mpegps", MediaKind.VIDEO, ("mpg", "mpeg", "vob"))
    if head.startswith(b"OggS"):
        return Sniffed("ogg", MediaKind.AUDIO, ("ogg", "oga", "opus"))
    if head.startswith(b"fLaC"):
        return Sniffed("flac", MediaKind.AUDIO, ("flac",))
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:  # ADTS sync + layer 0
            return Sniffed("aac", MediaKind.AUDIO, ("aac",))
        return Sniffed("mp3", MediaKind.AUDIO, ("mp3",))
    if head.startswith(b"GIF87a") or head.startswith(b"GIF89a"):
        return Sniffed("gif", MediaKind.PHOTO, ("gif",))
    return _UNKNOWN


def sniff(path: str | Path) -> Sniffed:
    """Read the first bytes of ``path`` and identify its container by magic numbers."""
    with Path(path).open("rb") as handle:
        head = handle.read(512)
    return sniff_bytes(head)


_JPEG_SOF_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


def declared_image_size(
    path: str | Path, *, max_scan_bytes: int = 4 << 20
) -> tuple[int, int] | None:
    """Width and height a JPEG (SOF) or PNG (IHDR) header declares, without decoding.

    ffmpeg cannot report the size of a JPEG whose header lies about it, and Pillow refuses
    to open it at all (decompression-bomb guard), so the header is read directly.
    """
    with Path(path).open("rb") as handle:
        head = handle.read(max_scan_bytes)
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if not head.startswith(b"\xff\xd8"):
        return None
    offset = 2
    while offset + 9 <= len(head):
        if head[offset] != 0xFF:
            return None
        marker = head[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            offset += 2
            continue
        (length,) = struct.unpack(">H", head[offset + 2 : offset + 4])
        if marker in _JPEG_SOF_MARKERS:
            height, width = struct.unpack(">HH", head[offset + 5 : offset + 9])
            return width, height
        if marker == 0xDA:  # start of scan before any frame header
            return None
        offset += 2 + length
    return None


@dataclass(frozen=True)
class Classification:
    """The kind of an original, how it was decided, and any reason found on the way.

    ``rejection`` is set when the file must not be processed (``damaged``); ``warnings``
    never stop processing.
    """

    kind: MediaKind
    container: str
    extension: str
    warnings: tuple[Reason, ...]
    rejection: Reason | None


def kind_from_probe(sniffed: Sniffed, probe_result: ProbeResult) -> MediaKind:
    """Settle the kind from decoded stream information, with the magic bytes as a hint."""
    if probe_result.is_still_image or sniffed.kind == MediaKind.PHOTO:
        return MediaKind.PHOTO
    if probe_result.has_video:
        return MediaKind.VIDEO
    if probe_result.has_audio:
        return MediaKind.AUDIO
    return MediaKind.UNKNOWN


def classify(
    path: str | Path,
    probe_result: ProbeResult | None,
    *,
    max_dimension: int = DEFAULT_MAX_DIMENSION,
    sniffed: Sniffed | None = None,
) -> Classification:
    """Classify ``path`` by content.

    ``probe_result`` may be None when the probe failed; the kind then comes from magic bytes
    alone and the caller reports the probe's own reason. A picture wider or taller than
    ``max_dimension`` pixels is rejected with ``dimensions_too_large``.
    """
    file_path = Path(path)
    sniffed = sniffed or sniff(file_path)
    extension = file_path.suffix.lower().lstrip(".")
    kind = sniffed.kind if probe_result is None else kind_from_probe(sniffed, probe_result)
    warnings: list[Reason] = []
    if sniffed.extensions and extension not in sniffed.extensions:
        warnings.append(
            make_reason(
                ReasonCode.WRONG_EXTENSION,
                detail_zh=f"扩展名 .{extension or '无'}，实际为 {sniffed.container}",
                detail_en=f"named .{extension or '(none)'}, content is {sniffed.container}",
                extension=extension,
                detected_container=sniffed.container,
            )
        )
    rejection: Reason | None = None
    size: tuple[int, int] | None = None
    if kind == MediaKind.PHOTO:
        size = declared_image_size(file_path)
    if size is None and probe_result is not None and probe_result.video is not None:
        size = (probe_result.video.width, probe_result.video.height)
    if size is not None:
        width, height = size
        if width > max_dimension or height > max_dimension:
            rejection = make_reason(
                ReasonCode.DIMENSIONS_TOO_LARGE,
                detail_zh=f"{width}×{height}，上限每边 {max_dimension} 像素",
                detail_en=f"{width}x{height}, limit {max_dimension} px per side",
                width=width,
                height=height,
                max_dimension=max_dimension,
            )
    if rejection is None and kind == MediaKind.UNKNOWN and probe_result is not None:
        rejection = make_reason(ReasonCode.NOT_MEDIA)
    return Classification(
        kind=kind,
        container=sniffed.container,
        extension=extension,
        warnings=tuple(warnings),
        rejection=rejection,
    )
