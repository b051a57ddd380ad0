"""The agent's configuration: a TOML file (stdlib tomllib), vendors included.

server = "https://fieldvault.example"
token = "fvd_…"                      # or token_file = "/etc/fieldvault-dock/token"
roots = ["/media/dock"]               # Windows: ["E:\\", "F:\\"] or ["drives"]
journal = "/var/lib/fieldvault-dock/journal.sqlite3"
delete_stored = true                  # else files are only marked synced (journal)
progress = "-"                        # JSON lines: "-" stdout, a path, or "" for none
[slots]                               # mount name → slot label (default: mount name)
"SLOT07" = "7"
[[vendor]]
name = "dsj"
kind = "body_camera"
id_files = ["DEVICE.ID"]              # serial: first line, or id_regex's `serial` group
id_regex = "serial\\s*[:=]\\s*(?P<serial>\\S+)"
label_regex = "^DSJ-(?P<serial>.+)$"
file_serial_regex = "^(?P<serial>[A-Z0-9-]+)_\\d+_\\d{14}_\\d+\\."
clock_file = "TIME.TXT"               # the camera's clock, if it exposes one
clock_format = "%Y-%m-%d %H:%M:%S"
timezone = "+08:00"
[[vendor.time_pattern]]
regex = "_(?P<start>\\d{14})_\\d+\\.\\w+$"
format = "%Y%m%d%H%M%S"
"""

from __future__ import annotations

import datetime
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEDIA_KINDS = {
    ".mp4": "video",
    ".mov": "video",
    ".avi": "video",
    ".ts": "video",
    ".mkv": "video",
    ".3gp": "video",
    ".amr": "audio",
    ".aac": "audio",
    ".m4a": "audio",
    ".wav": "audio",
    ".mp3": "audio",
    ".jpg": "photo",
    ".jpeg": "photo",
    ".png": "photo",
}


@dataclass(frozen=True)
class TimePattern:
    regex: re.Pattern[str]  # named groups `start` (required) and `end` (optional)
    format: str


@dataclass(frozen=True)
class Vendor:
    name: str
    kind: str = "body_camera"
    id_files: tuple[str, ...] = ()
    id_regex: re.Pattern[str] | None = None
    label_regex: re.Pattern[str] | None = None
    file_serial_regex: re.Pattern[str] | None = None
    time_patterns: tuple[TimePattern, ...] = ()
    clock_file: str = ""
    clock_format: str = "%Y-%m-%d %H:%M:%S"
    timezone: datetime.tzinfo = datetime.timezone(datetime.timedelta(hours=8))
    model_name: str = ""


@dataclass
class Config:
    server: str
    token: str
    roots: list[Path]
    journal: Path
    vendors: list[Vendor]
    delete_stored: bool = False
    progress: str = "-"
    slots: dict[str, str] = field(default_factory=dict)
    poll_seconds: float = 2.0
    settle_seconds: float = 2.0
    chunk_bytes: int = 8 * 1024 * 1024
    wait_stored_seconds: float = 120.0
    request_timeout: float = 60.0
    workers: int = 16  # one per slot: a dock has up to 16


def _tz(text: str) -> datetime.tzinfo:
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text.strip())
    if not match:
        raise ValueError(f"timezone must look like +08:00, not {text!r}")
    sign = 1 if match.group(1) == "+" else -1
    return datetime.timezone(
        sign * datetime.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    )


def _regex(value: Any) -> re.Pattern[str] | None:
    return re.compile(value) if value else None


def vendor_from(raw: dict[str, Any]) -> Vendor:
    return Vendor(
        name=str(raw.get("name", "vendor")),
        kind=str(raw.get("kind", "body_camera")),
        id_files=tuple(raw.get("id_files", ())),
        id_regex=_regex(raw.get("id_regex")),
        label_regex=_regex(raw.get("label_regex")),
        file_serial_regex=_regex(raw.get("file_serial_regex")),
        time_patterns=tuple(
            TimePattern(re.compile(p["regex"]), p["format"]) for p in raw.get("time_pattern", ())
        ),
        clock_file=str(raw.get("clock_file", "")),
        clock_format=str(raw.get("clock_format", "%Y-%m-%d %H:%M:%S")),
        timezone=_tz(raw.get("timezone", "+08:00")),
        model_name=str(raw.get("model_name", "")),
    )


def drive_roots() -> list[Path]:
    """Windows: every drive letter but the system's (C:); elsewhere nothing."""
    if os.name != "nt":
        return []
    return [Path(f"{letter}:\\") for letter in "DEFGHIJKLMNOPQRSTUVWXYZ"]


def load(path: Path) -> Config:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return from_dict(raw, base=path.parent)


def from_dict(raw: dict[str, Any], *, base: Path = Path()) -> Config:
    token = str(raw.get("token", ""))
    if not token and raw.get("token_file"):
        token = (base / str(raw["token_file"])).read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError("the configuration needs `token` or `token_file`")
    roots: list[Path] = []
    for root in raw.get("roots", []):
        roots.extend(drive_roots() if root == "drives" else [Path(root)])
    return Config(
        server=str(raw["server"]).rstrip("/"),
        token=token,
        roots=roots,
        journal=base / str(raw.get("journal", "fieldvault-dock.sqlite3")),
        vendors=[vendor_from(v) for v in raw.get("vendor", [])],
        delete_stored=bool(raw.get("delete_stored", False)),
        progress=str(raw.get("progress", "-")),
        slots={str(k): str(v) for k, v in raw.get("slots", {}).items()},
        poll_seconds=float(raw.get("poll_seconds", 2.0)),
        settle_seconds=float(raw.get("settle_seconds", 2.0)),
        chunk_bytes=int(raw.get("chunk_bytes", 8 * 1024 * 1024)),
        wait_stored_seconds=float(raw.get("wait_stored_seconds", 120.0)),
        request_timeout=float(raw.get("request_timeout", 60.0)),
        workers=int(raw.get("workers", 16)),
    )
