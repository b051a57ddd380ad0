"""Rebuild playable video from an MP4 whose index (``moov``) was never written.

Cameras write ``moov`` when a recording is closed; after a power loss the file ends inside
``mdat`` and no player can open it. The H.264 slices are still there, stored as
length-prefixed NAL units (AVCC) interleaved with audio. What is missing are the sequence
and picture parameter sets (SPS/PPS), which live in ``moov``: they are taken from an intact
recording of the same camera (same encoder settings), or from the stream itself when the
encoder repeats them in-band.

The scanner walks ``mdat``: at each position it reads a NAL length and accepts the unit only
if its header and (for slices) the first slice-header fields are plausible; otherwise it
advances one byte (that is how it steps over audio chunks). The units found are written as
an Annex-B elementary stream and remuxed by ffmpeg (no re-encoding) into a faststart MP4.
Audio is not recovered.
"""

from __future__ import annotations

import mmap
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media.integrity import check_integrity
from media.isobmff import AvcDecoderConfig, read_avc_config, top_level_boxes
from media.probe import probe_inprocess
from media.reasons import MediaUnreadable
from media.tools import ffmpeg_binary

START_CODE = b"\x00\x00\x00\x01"
DEFAULT_FPS = 30.0
_MAX_NAL_BYTES = 32 << 20
_SLICE_TYPES = frozenset({1, 5})
_NON_REF_TYPES = frozenset({6, 9, 12})  # SEI, access unit delimiter, filler: nal_ref_idc 0
_ACCEPTED_TYPES = frozenset({1, 5, 6, 7, 8, 9, 12})

METHOD_REFERENCE = "avcc_scan_reference_parameter_sets"
METHOD_INBAND = "avcc_scan_inband_parameter_sets"
METHOD_NONE = "none"


@dataclass(frozen=True)
class SalvageResult:
    """What a salvage attempt recovered. Never raised: failure is a result with notes."""

    recovered: bool
    method: str
    output_path: Path | None
    frames: int
    recovered_seconds: float | None
    notes: tuple[str, ...] = ()
    bytes_scanned: int = 0
    decode_errors: int | None = None
    reference_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary to store with the recording."""
        return {
            "recovered": self.recovered,
            "method": self.method,
            "output_path": str(self.output_path) if self.output_path else None,
            "frames": self.frames,
            "recovered_seconds": self.recovered_seconds,
            "notes": list(self.notes),
            "bytes_scanned": self.bytes_scanned,
            "decode_errors": self.decode_errors,
            "reference_path": self.reference_path,
        }


class _BitReader:
    """Exp-Golomb reader over the first bytes of a slice header."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def bit(self) -> int:
        byte_index = self.position >> 3
        if byte_index >= len(self.data):
            raise IndexError("out of bits")
        value = (self.data[byte_index] >> (7 - (self.position & 7))) & 1
        self.position += 1
        return value

    def unsigned_exp_golomb(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("invalid exp-Golomb code")
        value = 1
        for _ in range(zeros):
            value = (value << 1) | self.bit()
        return value - 1


@dataclass(frozen=True)
class _SliceHeader:
    first_mb: int
    slice_type: int
    pps_id: int


def _slice_header(nal_payload: bytes) -> _SliceHeader | None:
    reader = _BitReader(nal_payload[:16])
    try:
        return _SliceHeader(
            first_mb=reader.unsigned_exp_golomb(),
            slice_type=reader.unsigned_exp_golomb(),
            pps_id=reader.unsigned_exp_golomb(),
        )
    except (IndexError, ValueError):
        return None


@dataclass
class _ScanState:
    nals: list[tuple[int, int]] = field(default_factory=list)  # (offset, length) in file
    frames: int = 0
    started: bool = False
    inband_sps: list[bytes] = field(default_factory=list)
    inband_pps: list[bytes] = field(default_factory=list)
    skipped_bytes: int = 0
    truncated_tail: bool = False


def _pps_id(pps: bytes) -> int | None:
    reader = _BitReader(pps[1:9])
    try:
        return reader.unsigned_exp_golomb()
    except (IndexError, ValueError):
        return None


def _scan_mdat(
    data: mmap.mmap | bytes,
    start: int,
    end: int,
    *,
    nal_length_size: int,
    pps_ids: set[int] | None,
    max_macroblocks: int,
    max_nal_bytes: int,
    state: _ScanState,
) -> None:
    position = start
    size_bytes = nal_length_size
    while position + size_bytes + 1 <= end:
        length = int.from_bytes(data[position : position + size_bytes], "big")
        header_at = position + size_bytes
        header = data[header_at]
        nal_type = header & 0x1F
        ref_idc = (header >> 5) & 0x03
        plausible = (
            2 <= length <= max_nal_bytes
            and header & 0x80 == 0
            and nal_type in _ACCEPTED_TYPES
            and not (nal_type in _NON_REF_TYPES and ref_idc != 0)
            and not (nal_type in (5, 7, 8) and ref_idc == 0)
        )
        slice_header: _SliceHeader | None = None
        if plausible and nal_type in _SLICE_TYPES:
            slice_header = _slice_header(bytes(data[header_at + 1 : header_at + 17]))
            plausible = (
                slice_header is not None
                and slice_header.slice_type <= 9
                and slice_header.first_mb < max_macroblocks
                and (pps_ids is None or slice_header.pps_id in pps_ids)
                and not (nal_type == 5 and slice_header.slice_type % 5 not in (2, 4))
            )
        elif plausible and nal_type == 9:
            plausible = length == 2
        elif plausible:
            plausible = header_at + length <= end and data[header_at + length - 1] != 0
        if not plausible or _contains_start_code(data, header_at + 1, min(header_at + length, end)):
            position += 1
            state.skipped_bytes += 1
            continue
        if header_at + length > end:
            # Either the unit the power loss cut off, or audio bytes that happen to look
            # like a NAL header with a large length: keep scanning rather than stop.
            state.truncated_tail = True
            position += 1
            state.skipped_bytes += 1
            continue
        if nal_type == 7:
            state.inband_sps.append(bytes(data[header_at : header_at + length]))
        elif nal_type == 8:
            state.inband_pps.append(bytes(data[header_at : header_at + length]))
        if nal_type == 5:
            state.started = True
        if state.started:
            state.nals.append((header_at, length))
            if slice_header is not None and slice_header.first_mb == 0:
                state.frames += 1
        position = header_at + length


_FORBIDDEN_IN_NAL = (b"\x00\x00\x00", b"\x00\x00\x01", b"\x00\x00\x02")


def _contains_start_code(data: mmap.mmap | bytes, start: int, end: int) -> bool:
    """True if ``data[start:end]`` holds a sequence emulation prevention forbids in a NAL
    unit (H.264 7.4.1): such a span cannot be one NAL unit, it straddles other data."""
    return any(data.find(pattern, start, end) != -1 for pattern in _FORBIDDEN_IN_NAL)


def _not_recovered(notes: list[str], **kwargs: Any) -> SalvageResult:
    return SalvageResult(
        recovered=False,
        method=METHOD_NONE,
        output_path=None,
        frames=0,
        recovered_seconds=None,
        notes=tuple(notes),
        **kwargs,
    )


def salvage_moovless_mp4(
    damaged: str | Path,
    output: str | Path,
    reference: str | Path | None = None,
    *,
    fps: float | None = None,
    timeout_s: float | None = None,
) -> SalvageResult:
    """Try to rebuild a playable MP4 at ``output`` from the ``mdat`` of ``damaged``.

    ``reference`` is an intact MP4 from the same camera model (same encoder settings); its
    ``avcC`` supplies SPS/PPS, NAL length size and frame rate. Without it, parameter sets
    repeated in-band are used if present. Never raises for bad input: the result says what
    was (not) recovered and why. ``damaged`` is only read.
    """
    damaged_path = Path(damaged)
    output_path = Path(output)
    notes: list[str] = []
    reference_text = str(reference) if reference else None
    config: AvcDecoderConfig | None = None
    if reference is not None:
        try:
            config = read_avc_config(reference)
        except (OSError, ValueError) as error:
            notes.append(f"reference unreadable: {error}")
        if config is None:
            notes.append("reference has no H.264 (avcC) track; only H.264 can be salvaged")
        elif fps is None:
            try:
                reference_probe = probe_inprocess(reference)
                fps = reference_probe.video.fps if reference_probe.video else None
            except MediaUnreadable as error:
                notes.append(f"reference not probeable: {error.reason_code}")
    try:
        boxes = top_level_boxes(damaged_path)
    except OSError as error:
        return _not_recovered([*notes, f"cannot read file: {error}"], reference_path=reference_text)
    mdats = [box for box in boxes if box.type == "mdat"]
    if not mdats:
        return _not_recovered(
            [*notes, "no mdat box: no media data to scan"], reference_path=reference_text
        )

    file_size = damaged_path.stat().st_size
    nal_length_size = config.nal_length_size if config else 4
    pps_ids: set[int] | None = None
    max_macroblocks = 1 << 17
    max_nal_bytes = _MAX_NAL_BYTES
    if config is not None:
        pps_ids = {pid for pid in (_pps_id(pps) for pps in config.pps) if pid is not None} or None
        if config.width and config.height:
            max_macroblocks = ((config.width + 15) // 16) * ((config.height + 15) // 16)
            # A compressed picture is not larger than the raw one (4:2:0 is 384 B per MB).
            max_nal_bytes = max(64 << 10, max_macroblocks * 384 * 2)
        if config.max_sample_size:
            # Same camera, same settings: frames stay within a few times the reference's
            # largest. This bound is what keeps audio bytes from passing as a huge NAL.
            max_nal_bytes = min(max_nal_bytes, max(64 << 10, config.max_sample_size * 4))
    state = _ScanState()
    scanned = 0
    with (
        damaged_path.open("rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        for box in mdats:
            start, end = box.payload_offset, min(box.end, file_size)
            scanned += max(0, end - start)
            _scan_mdat(
                data,
                start,
                end,
                nal_length_size=nal_length_size,
                pps_ids=pps_ids,
                max_macroblocks=max_macroblocks,
                max_nal_bytes=max_nal_bytes,
                state=state,
            )
        if config is not None:
            sps, pps, method = list(config.sps), list(config.pps), METHOD_REFERENCE
        elif state.inband_sps and state.inband_pps:
            sps, pps, method = state.inband_sps[:1], state.inband_pps[:1], METHOD_INBAND
            notes.append("parameter sets found in the stream itself")
        else:
            return _not_recovered(
                [
                    *notes,
                    "no SPS/PPS: an intact recording from the same device model is needed",
                ],
                bytes_scanned=scanned,
                reference_path=reference_text,
            )
        if state.frames == 0:
            return _not_recovered(
                [*notes, "no decodable H.264 picture (no IDR frame) found in mdat"],
                bytes_scanned=scanned,
                reference_path=reference_text,
            )
        output_path.parent.mkdir(parents=True, exist_ok=True)
        elementary = output_path.with_name(f".{output_path.stem}.h264")
        with elementary.open("wb") as stream:
            for unit in (*sps, *pps):
                stream.write(START_CODE + unit)
            for offset, length in state.nals:
                stream.write(START_CODE)
                stream.write(data[offset : offset + length])
    if state.truncated_tail:
        notes.append("last NAL unit cut off by the truncation and dropped")
    notes.append("audio not recovered")
    frame_rate = fps or DEFAULT_FPS
    if fps is None:
        notes.append(f"frame rate unknown, assumed {DEFAULT_FPS:g} fps")
    partial = output_path.with_name(f".{output_path.name}.partial")
    command = [
        ffmpeg_binary(),
        "-nostdin",
        "-hide_banner",
        "-y",
        "-v",
        "error",
        "-fflags",
        "+genpts",
        "-framerate",
        f"{frame_rate:g}",
        "-f",
        "h264",
        "-i",
        str(elementary),
        "-c:v",
        "copy",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(partial),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        completed = None
    finally:
        elementary.unlink(missing_ok=True)
    if completed is None or completed.returncode != 0 or not partial.exists():
        partial.unlink(missing_ok=True)
        tail = completed.stderr.strip().splitlines()[-3:] if completed else ["timed out"]
        return _not_recovered(
            [*notes, "remux failed: " + " | ".join(tail)],
            bytes_scanned=scanned,
            reference_path=reference_text,
        )
    partial.replace(output_path)
    try:
        duration = probe_inprocess(output_path).duration_s
        report = check_integrity(output_path, timeout_s=timeout_s)
    except MediaUnreadable as error:
        output_path.unlink(missing_ok=True)
        return _not_recovered(
            [*notes, f"rebuilt file unreadable: {error.reason_code}"],
            bytes_scanned=scanned,
            reference_path=reference_text,
        )
    if not report.decodable:
        output_path.unlink(missing_ok=True)
        return _not_recovered(
            [*notes, "rebuilt stream does not decode: reference settings probably differ"],
            bytes_scanned=scanned,
            reference_path=reference_text,
        )
    if report.decode_errors:
        notes.append(f"{report.decode_errors} decode errors in the rebuilt stream")
    return SalvageResult(
        recovered=True,
        method=method,
        output_path=output_path,
        frames=state.frames,
        recovered_seconds=round(duration, 3)
        if duration is not None
        else round(state.frames / frame_rate, 3),
        notes=tuple(notes),
        bytes_scanned=scanned,
        decode_errors=report.decode_errors,
        reference_path=reference_text,
        extra={"skipped_bytes": state.skipped_bytes, "nal_units": len(state.nals)},
    )
