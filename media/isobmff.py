"""Minimal ISO base media (MP4/MOV) box reader: enough to spot a missing index and to
read H.264 parameter sets, without trusting ffmpeg on files it refuses to open.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

# Top-level box types seen at the start of real MP4/MOV/3GP files.
_KNOWN_TOP_LEVEL = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"moof", b"styp"}
)
_MAX_MOOV_BYTES = 256 << 20  # a moov this large is not something a camera writes


@dataclass(frozen=True)
class Box:
    """One box header: ``size`` is the declared size, which may run past the end of file."""

    type: str
    offset: int
    size: int
    header_size: int
    truncated: bool

    @property
    def payload_offset(self) -> int:
        """Where the box's payload starts in the file."""
        return self.offset + self.header_size

    @property
    def end(self) -> int:
        """Declared end offset (exclusive)."""
        return self.offset + self.size


@dataclass(frozen=True)
class AvcDecoderConfig:
    """The parts of an ``avcC`` box needed to decode a raw H.264 stream."""

    nal_length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    width: int
    height: int
    # Largest video sample (frame) in the file the config came from, 0 if unknown: a bound
    # that keeps the salvage scanner from taking audio bytes for a huge NAL unit.
    max_sample_size: int = 0


def _is_box_type(raw: bytes) -> bool:
    return len(raw) == 4 and all(32 <= b < 127 for b in raw)


def top_level_boxes(path: str | Path, *, max_boxes: int = 4096) -> list[Box]:
    """List the top-level boxes of ``path``.

    Stops at the first header that is not a plausible box (garbage or end of file). A box
    whose declared size runs past the end of file is returned with ``truncated=True``.
    """
    file_path = Path(path)
    file_size = file_path.stat().st_size
    boxes: list[Box] = []
    with file_path.open("rb") as handle:
        offset = 0
        while offset + 8 <= file_size and len(boxes) < max_boxes:
            handle.seek(offset)
            header = handle.read(16)
            size, raw_type = struct.unpack(">I4s", header[:8])
            if not _is_box_type(raw_type):
                break
            header_size = 8
            if size == 1:
                if len(header) < 16:
                    break
                size = struct.unpack(">Q", header[8:16])[0]
                header_size = 16
            elif size == 0:  # "extends to end of file"
                size = file_size - offset
            if size < header_size:
                break
            boxes.append(
                Box(
                    type=raw_type.decode("ascii"),
                    offset=offset,
                    size=size,
                    header_size=header_size,
                    truncated=offset + size > file_size,
                )
            )
            offset += size
    return boxes


def looks_like_isobmff(head: bytes) -> bool:
    """True when the first bytes of a file start with a typical top-level MP4/MOV box."""
    return len(head) >= 8 and head[4:8] in _KNOWN_TOP_LEVEL


def has_complete_moov(path: str | Path) -> bool:
    """True when the file has a top-level ``moov`` box that is not cut off."""
    return any(box.type == "moov" and not box.truncated for box in top_level_boxes(path))


def moov_before_mdat(path: str | Path) -> bool:
    """True when ``moov`` precedes ``mdat`` (``+faststart``: playable while downloading)."""
    types = [box.type for box in top_level_boxes(path)]
    return "moov" in types and "mdat" in types and types.index("moov") < types.index("mdat")


def iter_children(data: bytes, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """Yield ``(type, payload_start, payload_end)`` for boxes in ``data[start:end]``."""
    offset = start
    while offset + 8 <= end:
        size, raw_type = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                return
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end or not _is_box_type(raw_type):
            return
        yield raw_type.decode("ascii"), offset + header, offset + size
        offset += size


def _find_path(data: bytes, start: int, end: int, path: list[str]) -> Iterator[tuple[int, int]]:
    if not path:
        yield start, end
        return
    for box_type, payload_start, payload_end in iter_children(data, start, end):
        if box_type == path[0]:
            yield from _find_path(data, payload_start, payload_end, path[1:])


def read_moov(path: str | Path) -> bytes | None:
    """Return the payload of the complete top-level ``moov`` box, or None."""
    for box in top_level_boxes(path):
        if box.type == "moov" and not box.truncated and box.size <= _MAX_MOOV_BYTES:
            with Path(path).open("rb") as handle:
                handle.seek(box.payload_offset)
                return handle.read(box.size - box.header_size)
    return None


def parse_avcc(payload: bytes, *, width: int = 0, height: int = 0) -> AvcDecoderConfig:
    """Parse an ``avcC`` (AVCDecoderConfigurationRecord) payload."""
    if len(payload) < 7 or payload[0] != 1:
        raise ValueError("not an avcC record")
    nal_length_size = (payload[4] & 0x03) + 1
    offset = 5
    sps: list[bytes] = []
    for _ in range(payload[offset] & 0x1F):
        (length,) = struct.unpack_from(">H", payload, offset + 1)
        sps.append(payload[offset + 3 : offset + 3 + length])
        offset += 2 + length
    offset += 1
    pps: list[bytes] = []
    for _ in range(payload[offset]):
        (length,) = struct.unpack_from(">H", payload, offset + 1)
        pps.append(payload[offset + 3 : offset + 3 + length])
        offset += 2 + length
    if not sps or not pps:
        raise ValueError("avcC without SPS or PPS")
    return AvcDecoderConfig(
        nal_length_size=nal_length_size, sps=tuple(sps), pps=tuple(pps), width=width, height=height
    )


# Size of a VisualSampleEntry's fixed fields after its box header (ISO/IEC 14496-12).
_VISUAL_SAMPLE_ENTRY_FIXED = 78


def _max_sample_size(moov: bytes, stbl_start: int, stbl_end: int) -> int:
    for box_type, start, end in iter_children(moov, stbl_start, stbl_end):
        if box_type == "stsz" and end - start >= 12:
            fixed_size, count = struct.unpack_from(">II", moov, start + 4)
            if fixed_size:
                return int(fixed_size)
            count = min(count, (end - start - 12) // 4)
            sizes = struct.unpack_from(f">{count}I", moov, start + 12)
            return max(sizes, default=0)
    return 0


def read_avc_config(path: str | Path) -> AvcDecoderConfig | None:
    """Return the H.264 decoder configuration of the first ``avc1``/``avc3`` track, or None."""
    moov = read_moov(path)
    if moov is None:
        return None
    stbl_path = ["trak", "mdia", "minf", "stbl"]
    for stbl_start, stbl_end in _find_path(moov, 0, len(moov), stbl_path):
        for stsd_start, stsd_end in _find_path(moov, stbl_start, stbl_end, ["stsd"]):
            # stsd: version/flags (4) + entry_count (4), then sample entries.
            for entry_type, entry_start, entry_end in iter_children(moov, stsd_start + 8, stsd_end):
                if entry_type not in ("avc1", "avc3"):
                    continue
                width, height = struct.unpack_from(">HH", moov, entry_start + 24)
                children_start = entry_start + _VISUAL_SAMPLE_ENTRY_FIXED
                for child_type, child_start, child_end in iter_children(
                    moov, children_start, entry_end
                ):
                    if child_type == "avcC":
                        config = parse_avcc(moov[child_start:child_end], width=width, height=height)
                        return replace(
                            config, max_sample_size=_max_sample_size(moov, stbl_start, stbl_end)
                        )
    return None
