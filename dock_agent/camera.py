"""A docked camera's volume: who it is (serial), its clock, its clips and their times."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dock_agent.config import MEDIA_KINDS, Vendor


@dataclass(frozen=True)
class Camera:
    vendor: Vendor
    kind: str
    serial: str
    how: str  # id_file | label | file_name


def volume_label(mount: Path) -> str:
    """The volume's label: Windows asks the OS; elsewhere the mount point's name (udisks
    mounts a volume at /media/<user>/<LABEL>)."""
    if os.name == "nt":  # pragma: no cover - Windows only
        import ctypes

        buffer = ctypes.create_unicode_buffer(261)
        ok = ctypes.windll.kernel32.GetVolumeInformationW(  # type: ignore[attr-defined]
            ctypes.c_wchar_p(str(mount)), buffer, 261, None, None, None, None, 0
        )
        return buffer.value if ok else ""
    return mount.name


def media_files(mount: Path) -> Iterator[Path]:
    """Video, audio and photos anywhere on the volume (hidden and system folders skipped)."""
    for directory, subdirs, files in os.walk(mount):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "$", "System Volume")))
        for name in sorted(files):
            if Path(name).suffix.lower() in MEDIA_KINDS and not name.startswith("."):
                yield Path(directory) / name


def identify(mount: Path, vendors: list[Vendor]) -> Camera | None:
    """The camera on this volume, by the first vendor rule that names a serial: an ID file,
    then the volume label, then a media file's name."""
    for vendor in vendors:
        for id_file in vendor.id_files:
            path = mount / id_file
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            serial = ""
            if vendor.id_regex is not None:
                match = vendor.id_regex.search(text)
                serial = match.group("serial") if match else ""
            else:
                serial = next((line.strip() for line in text.splitlines() if line.strip()), "")
            if serial:
                return Camera(vendor, vendor.kind, serial.strip()[:100], "id_file")
    label = volume_label(mount)
    for vendor in vendors:
        if vendor.label_regex is not None and label:
            match = vendor.label_regex.search(label)
            if match:
                return Camera(vendor, vendor.kind, match.group("serial")[:100], "label")
    for vendor in vendors:
        if vendor.file_serial_regex is None:
            continue
        for path in media_files(mount):
            match = vendor.file_serial_regex.search(path.name)
            if match:
                return Camera(vendor, vendor.kind, match.group("serial")[:100], "file_name")
    return None


def camera_clock(mount: Path, vendor: Vendor) -> datetime.datetime | None:
    """The camera's clock, where it exposes one (a file it keeps its time in)."""
    if not vendor.clock_file:
        return None
    try:
        text = (mount / vendor.clock_file).read_text(encoding="utf-8", errors="replace").strip()
        return datetime.datetime.strptime(text, vendor.clock_format).replace(tzinfo=vendor.timezone)
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class RecordedTimes:
    start: datetime.datetime
    end: datetime.datetime
    source: str  # file_name | file_name+container | container | file_times


def _probe(path: Path) -> tuple[datetime.datetime | None, float | None]:
    """(creation time, duration in seconds) from the container: PyAV, else ffprobe."""
    try:
        import av  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        av = None  # type: ignore[assignment]
    if av is not None:
        try:
            with av.open(str(path)) as container:
                created = container.metadata.get("creation_time")
                duration = container.duration / 1_000_000 if container.duration else None
                return _parse_utc(created), duration
        except Exception:
            return None, None
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None, None
    try:
        out = subprocess.run(
            [ffprobe, "-v", "error", "-print_format", "json", "-show_format", str(path)],
            capture_output=True,
            timeout=30,
            check=True,
        ).stdout
        fmt = json.loads(out).get("format", {})
        duration = float(fmt["duration"]) if fmt.get("duration") else None
        return _parse_utc(fmt.get("tags", {}).get("creation_time")), duration
    except (OSError, subprocess.SubprocessError, ValueError):
        return None, None


def _parse_utc(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    # A container written without a clock says 1970 or 1904: no creation time at all.
    return value if value.year >= 2000 else None


def recorded_times(path: Path, vendor: Vendor, media_kind: str) -> RecordedTimes:
    """Start and end in the camera's clock: from the file name by the vendor's patterns,
    else the container's creation time + duration, else the file's times."""
    start = end = None
    for pattern in vendor.time_patterns:
        match = pattern.regex.search(path.name)
        if not match:
            continue
        try:
            start = datetime.datetime.strptime(match.group("start"), pattern.format)
            if "end" in pattern.regex.groupindex and match.group("end"):
                end = datetime.datetime.strptime(match.group("end"), pattern.format)
        except ValueError:
            start = end = None
            continue
        start = start.replace(tzinfo=vendor.timezone)
        end = end.replace(tzinfo=vendor.timezone) if end else None
        break
    if start is not None and end is not None and end >= start:
        return RecordedTimes(start, end, "file_name")
    created, duration = (None, None) if media_kind == "photo" else _probe(path)
    if start is not None:
        if duration is not None:
            return RecordedTimes(
                start, start + datetime.timedelta(seconds=duration), "file_name+container"
            )
        return RecordedTimes(start, start, "file_name")
    if created is not None:
        created = created.astimezone(vendor.timezone)
        length = datetime.timedelta(seconds=duration or 0)
        return RecordedTimes(created, created + length, "container")
    stat = path.stat()
    modified = datetime.datetime.fromtimestamp(stat.st_mtime, tz=vendor.timezone)
    if duration is not None:
        return RecordedTimes(
            modified - datetime.timedelta(seconds=duration), modified, "file_times"
        )
    return RecordedTimes(modified, modified, "file_times")
