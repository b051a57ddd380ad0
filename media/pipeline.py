"""One call that turns an original into metadata and derivative files, or a damage verdict.

:func:`process_original` runs sniff → probe → classify → integrity → derivatives on a local
file and writes derivatives into ``workdir`` only. It never modifies the original, never
talks to S3 or Django, and never raises for bad input: the worker stores the outcome
(``ready`` or ``damaged`` with a reason a person understands) and uploads the files under
their keys.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import av.error

from media.classify import DEFAULT_MAX_DIMENSION, MediaKind, classify, sniff
from media.hashing import sha256_file
from media.integrity import IntegrityReport, check_integrity
from media.photos import PhotoMetadata, make_display_image, make_thumbnail, read_photo_metadata
from media.posters import NoFrameDecoded, make_poster, make_thumbnail_strip, make_waveform
from media.probe import ProbeResult, probe, probe_inprocess
from media.profiles import (
    PHOTO_DISPLAY,
    PHOTO_THUMBNAIL,
    POSTER,
    PROXY_AUDIO,
    PROXY_VIDEO,
    SALVAGED_VIDEO,
    THUMBNAIL_STRIP,
    WAVEFORM,
    Profile,
    derivative_key,
)
from media.reasons import MediaUnreadable, Reason, ReasonCode, make_reason
from media.salvage import SalvageResult, salvage_moovless_mp4
from media.transcode import is_audio_only, transcode_checked


class OutcomeStatus(StrEnum):
    """Final processing state of an original."""

    READY = "ready"
    DAMAGED = "damaged"


@dataclass(frozen=True)
class ProducedFile:
    """A derivative written to the work directory, with the key to upload it under."""

    profile: str
    profile_version: int
    path: Path
    key: str
    content_type: str
    size_bytes: int
    width: int | None = None
    height: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


@dataclass(frozen=True)
class ProcessingOutcome:
    """Everything the worker needs to store about one processed original."""

    status: OutcomeStatus
    original_path: Path
    original_sha256: str
    original_size: int
    kind: MediaKind
    container: str
    probe: ProbeResult | None = None
    photo: PhotoMetadata | None = None
    integrity: IntegrityReport | None = None
    files: tuple[ProducedFile, ...] = ()
    warnings: tuple[Reason, ...] = ()
    damage: Reason | None = None
    salvage: SalvageResult | None = None
    notes: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    # Seconds per stage (hash, probe, integrity, proxy, posters, ...), for operators.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def reason_codes(self) -> list[str]:
        """Damage code first (if any), then warning codes."""
        codes = [self.damage.code.value] if self.damage else []
        return codes + [warning.code.value for warning in self.warnings]

    def file_for(self, profile: Profile) -> ProducedFile | None:
        """The produced file of ``profile``, if any."""
        return next((f for f in self.files if f.profile == profile.name), None)

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable metadata to keep on the recording."""
        data: dict[str, Any] = {
            "kind": self.kind.value,
            "container": self.container,
            "size_bytes": self.original_size,
            "sha256": self.original_sha256,
        }
        if self.probe is not None:
            data.update(
                format_name=self.probe.format_name,
                duration_s=self.probe.duration_s,
                bit_rate=self.probe.bit_rate,
                creation_time=self.probe.creation_time.isoformat()
                if self.probe.creation_time
                else None,
                creation_time_raw=self.probe.creation_time_raw,
                video=asdict(self.probe.video) if self.probe.video else None,
                audio=asdict(self.probe.audio) if self.probe.audio else None,
            )
        if self.photo is not None:
            offset = self.photo.utc_offset
            data["photo"] = {
                "format": self.photo.format,
                "width": self.photo.width,
                "height": self.photo.height,
                "orientation": self.photo.orientation,
                "taken_at_local": self.photo.taken_at_local.isoformat()
                if self.photo.taken_at_local
                else None,
                "utc_offset_minutes": int(offset.total_seconds() // 60) if offset else None,
                "taken_at": self.photo.taken_at.isoformat() if self.photo.taken_at else None,
                "gps_latitude": self.photo.gps_latitude,
                "gps_longitude": self.photo.gps_longitude,
                "gps_altitude_m": self.photo.gps_altitude_m,
            }
        if self.integrity is not None:
            data["decode_errors"] = self.integrity.decode_errors
            data["decode_error_samples"] = list(self.integrity.error_samples)
        return data

    def as_dict(self) -> dict[str, Any]:
        """The whole outcome as JSON-serialisable data."""
        return {
            "status": self.status.value,
            "reason_codes": self.reason_codes,
            "damage": self.damage.as_dict() if self.damage else None,
            "warnings": [warning.as_dict() for warning in self.warnings],
            "metadata": self.metadata(),
            "files": [produced.as_dict() for produced in self.files],
            "salvage": self.salvage.as_dict() if self.salvage else None,
            "notes": list(self.notes),
            "elapsed_s": round(self.elapsed_s, 3),
            "timings": dict(self.timings),
        }


def _produced(
    profile: Profile,
    path: Path,
    sha256: str,
    *,
    width: int | None = None,
    height: int | None = None,
) -> ProducedFile:
    return ProducedFile(
        profile=profile.name,
        profile_version=profile.version,
        path=path,
        key=derivative_key(sha256, profile),
        content_type=profile.content_type,
        size_bytes=path.stat().st_size,
        width=width,
        height=height,
    )


@dataclass
class _Run:
    """Mutable state while one original is processed."""

    path: Path
    workdir: Path
    sha256: str
    size: int
    started: float
    threads: int = 0  # per ffmpeg run; 0: ffmpeg's choice (every core)
    kind: MediaKind = MediaKind.UNKNOWN
    container: str = "unknown"
    probe: ProbeResult | None = None
    photo: PhotoMetadata | None = None
    integrity: IntegrityReport | None = None
    files: list[ProducedFile] = field(default_factory=list)
    warnings: list[Reason] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    salvage: SalvageResult | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage into ``timings``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started

    def finish(self, status: OutcomeStatus, damage: Reason | None = None) -> ProcessingOutcome:
        return ProcessingOutcome(
            status=status,
            original_path=self.path,
            original_sha256=self.sha256,
            original_size=self.size,
            kind=self.kind,
            container=self.container,
            probe=self.probe,
            photo=self.photo,
            integrity=self.integrity,
            files=tuple(self.files),
            warnings=tuple(self.warnings),
            damage=damage,
            salvage=self.salvage,
            notes=tuple(self.notes),
            elapsed_s=time.perf_counter() - self.started,
            timings={name: round(seconds, 3) for name, seconds in self.timings.items()},
        )

    def output(self, profile: Profile) -> Path:
        return self.workdir / profile.filename


def _salvage(run: _Run, reference: Path | None) -> None:
    target = run.output(SALVAGED_VIDEO)
    with run.stage("salvage"):
        result = salvage_moovless_mp4(run.path, target, reference)
    run.salvage = result
    if not result.recovered or result.output_path is None:
        return
    salvaged_probe = probe_inprocess(result.output_path)
    video = salvaged_probe.video
    run.files.append(
        _produced(
            SALVAGED_VIDEO,
            result.output_path,
            run.sha256,
            width=video.width if video else None,
            height=video.height if video else None,
        )
    )
    try:
        with run.stage("posters"):
            poster = make_poster(result.output_path, run.output(POSTER), salvaged_probe)
        run.files.append(
            _produced(POSTER, poster.path, run.sha256, width=poster.width, height=poster.height)
        )
    except (NoFrameDecoded, av.error.FFmpegError) as error:
        run.notes.append(f"poster of salvaged video failed: {error}")


def _process_photo(run: _Run) -> ProcessingOutcome:
    try:
        with run.stage("photo"):
            run.photo = read_photo_metadata(run.path)
            display = make_display_image(run.path, run.output(PHOTO_DISPLAY))
            thumbnail = make_thumbnail(run.path, run.output(PHOTO_THUMBNAIL))
    except (OSError, ValueError, SyntaxError) as error:  # Pillow's decoder errors
        return run.finish(
            OutcomeStatus.DAMAGED,
            make_reason(ReasonCode.UNDECODABLE, detail_en=str(error)[:200], tool_output=str(error)),
        )
    run.files.append(
        _produced(
            PHOTO_DISPLAY, display.path, run.sha256, width=display.width, height=display.height
        )
    )
    run.files.append(
        _produced(
            PHOTO_THUMBNAIL,
            thumbnail.path,
            run.sha256,
            width=thumbnail.width,
            height=thumbnail.height,
        )
    )
    return run.finish(OutcomeStatus.READY)


def tool_timeout_s(duration_s: float | None, *, factor: float, minimum: float = 120.0) -> float:
    """Time limit for one ffmpeg run over a recording of ``duration_s`` seconds.

    Measured: full decode ~6x realtime, 1080p->720p transcode ~2.4x realtime on 2 cores;
    ``factor`` x duration leaves room for a loaded machine.
    """
    return max(minimum, (duration_s or 0.0) * factor)


def _process_audio_video(run: _Run, probe_result: ProbeResult) -> ProcessingOutcome:
    audio_only = is_audio_only(probe_result)
    proxy_profile = PROXY_AUDIO if audio_only else PROXY_VIDEO
    # One ffmpeg run decodes the original once for both the integrity check and the proxy.
    with run.stage("integrity+proxy"):
        checked = transcode_checked(
            run.path,
            run.output(proxy_profile),
            probe_result,
            timeout_s=tool_timeout_s(probe_result.duration_s, factor=4.0),
            threads=run.threads,
        )
    integrity = checked.integrity
    if checked.failure is not None:
        # ffmpeg failed: an unreadable original or an encoder that gave up? Decode alone.
        with run.stage("integrity"):
            integrity = check_integrity(
                run.path,
                timeout_s=tool_timeout_s(probe_result.duration_s, factor=1.0),
                threads=run.threads,
            )
    run.integrity = integrity
    if not integrity.decodable:
        return run.finish(
            OutcomeStatus.DAMAGED,
            make_reason(
                ReasonCode.UNDECODABLE,
                decode_errors=integrity.decode_errors,
                error_samples=list(integrity.error_samples),
            ),
        )
    if integrity.decode_errors:
        run.warnings.append(
            make_reason(
                ReasonCode.PARTLY_CORRUPT,
                detail_zh=f"{integrity.decode_errors} 处解码错误",
                detail_en=f"{integrity.decode_errors} decode errors",
                decode_errors=integrity.decode_errors,
                error_samples=list(integrity.error_samples),
            )
        )
    proxy = checked.proxy
    if proxy is None:
        failure = checked.failure
        return run.finish(
            OutcomeStatus.DAMAGED,
            make_reason(ReasonCode.UNDECODABLE, tool_output=failure.tool_output if failure else ""),
        )
    run.files.append(
        _produced(
            proxy_profile, proxy.output_path, run.sha256, width=proxy.width, height=proxy.height
        )
    )
    if audio_only:
        with run.stage("waveform"):
            waveform = make_waveform(run.path, run.output(WAVEFORM), probe_result)
        run.files.append(
            _produced(
                WAVEFORM, waveform.path, run.sha256, width=waveform.width, height=waveform.height
            )
        )
        return run.finish(OutcomeStatus.READY)
    # Posters come from the original (full quality); a damaged stretch is skipped by the
    # decoder, and a failure here does not make an otherwise playable recording damaged.
    try:
        with run.stage("posters"):
            poster = make_poster(run.path, run.output(POSTER), probe_result, threads=run.threads)
        run.files.append(
            _produced(POSTER, poster.path, run.sha256, width=poster.width, height=poster.height)
        )
        with run.stage("posters"):
            strip = make_thumbnail_strip(
                run.path, run.output(THUMBNAIL_STRIP), probe_result, threads=run.threads
            )
        run.files.append(
            _produced(
                THUMBNAIL_STRIP, strip.path, run.sha256, width=strip.width, height=strip.height
            )
        )
    except (NoFrameDecoded, av.error.FFmpegError) as error:
        run.notes.append(f"poster/strip failed: {error}")
    return run.finish(OutcomeStatus.READY)


def process_original(
    path: str | Path,
    workdir: str | Path,
    reference_for_salvage: str | Path | None = None,
    *,
    max_dimension: int = DEFAULT_MAX_DIMENSION,
    threads: int = 0,
) -> ProcessingOutcome:
    """Process one original file into an outcome and derivative files in ``workdir``.

    ``reference_for_salvage`` is an intact MP4 of the same device model; it is used only if
    the original is an MP4 without index (``moov_missing``). Re-running on the same input
    writes the same file names and keys (see :mod:`media.profiles`). ``threads`` > 0 caps
    each ffmpeg run (integrity decode, transcode) at that many threads.

    Bad input never raises. :class:`~media.reasons.ToolTimeout` (ffmpeg slower than the
    duration-based limit) does: it is transient, the job should retry.
    """
    original = Path(path)
    target = Path(workdir)
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    run = _Run(
        path=original,
        workdir=target,
        sha256=sha256_file(original),
        size=original.stat().st_size,
        started=started,
        threads=threads,
    )
    run.timings["hash"] = time.perf_counter() - started
    if run.size == 0:
        return run.finish(OutcomeStatus.DAMAGED, make_reason(ReasonCode.EMPTY_FILE))
    sniffed = sniff(original)
    run.kind, run.container = sniffed.kind, sniffed.container
    try:
        with run.stage("probe"):
            probe_result = probe(original)
    except MediaUnreadable as error:
        classification = classify(original, None, sniffed=sniffed)
        run.warnings.extend(
            w for w in classification.warnings if error.reason_code != ReasonCode.NOT_MEDIA
        )
        if error.reason_code == ReasonCode.MOOV_MISSING:
            _salvage(run, Path(reference_for_salvage) if reference_for_salvage else None)
            if run.salvage is not None and run.salvage.recovered:
                run.kind = MediaKind.VIDEO
        return run.finish(OutcomeStatus.DAMAGED, error.to_reason())
    run.probe = probe_result
    classification = classify(original, probe_result, max_dimension=max_dimension, sniffed=sniffed)
    run.kind = classification.kind
    run.warnings.extend(classification.warnings)
    if classification.rejection is not None:
        return run.finish(OutcomeStatus.DAMAGED, classification.rejection)
    if classification.kind == MediaKind.PHOTO:
        return _process_photo(run)
    return _process_audio_video(run, probe_result)
