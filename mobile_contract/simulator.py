"""Reference device client: what a body camera, terminal or tablet does when it syncs.

    python -m mobile_contract.simulator enrol --server http://127.0.0.1:8000 \
        --code ABCD-EFGH-JKLM --serial DSJ-0001 --kind body_camera
    python -m mobile_contract.simulator sync --server http://127.0.0.1:8000 \
        --token fvd_… --folder ./clips [--delete-stored]
    python -m mobile_contract.simulator generate --folder ./clips --count 3
    python -m mobile_contract.simulator tablet {log,sync,show} …  (see tablet_simulator.py)

`sync` builds a manifest of the folder, uploads what the server lacks with tus 1.0.0
(HEAD for the offset, PATCH with a per-request SHA-256 checksum, resuming after any cut),
and deletes a local file only when the server answers `stored` for it. A clip may have a
sidecar `<file>.json` with `recorded_start`, `recorded_end`, `latitude`, `longitude`,
`trigger_reason`; without one the file's modification time is used.

Only the standard library and `requests`: device developers can read it as a spec.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from media.tools import ffmpeg_binary

MEDIA_KINDS = {
    ".mp4": "video",
    ".mov": "video",
    ".avi": "video",
    ".ts": "video",
    ".mkv": "video",
    ".amr": "audio",
    ".aac": "audio",
    ".m4a": "audio",
    ".wav": "audio",
    ".mp3": "audio",
    ".jpg": "photo",
    ".jpeg": "photo",
    ".png": "photo",
}
CHUNK_SIZE = 8 * 1024 * 1024
TUS_HEADERS = {"Tus-Resumable": "1.0.0"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class LocalClip:
    path: Path
    clip_id: str
    size: int
    sha256: str
    recorded_start: datetime.datetime
    recorded_end: datetime.datetime
    media_kind: str
    extra: dict[str, Any] = field(default_factory=dict)

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "clip_id": self.clip_id,
            "file_name": self.path.name,
            "size": self.size,
            "sha256": self.sha256,
            "recorded_start": self.recorded_start.isoformat(),
            "recorded_end": self.recorded_end.isoformat(),
            "media_kind": self.media_kind,
            **self.extra,
        }


def scan_folder(folder: Path) -> list[LocalClip]:
    clips = []
    for path in sorted(folder.iterdir()):
        kind = MEDIA_KINDS.get(path.suffix.lower())
        if kind is None or not path.is_file():
            continue
        sidecar = path.with_name(path.name + ".json")
        meta: dict[str, Any] = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        mtime = datetime.datetime.fromtimestamp(path.stat().st_mtime, tz=datetime.UTC)
        start = datetime.datetime.fromisoformat(meta.pop("recorded_start", mtime.isoformat()))
        end = datetime.datetime.fromisoformat(meta.pop("recorded_end", start.isoformat()))
        extra: dict[str, Any] = {
            k: meta[k] for k in ("latitude", "longitude", "trigger_reason") if k in meta
        }
        clips.append(
            LocalClip(
                path=path,
                clip_id=meta.get("clip_id", path.stem),
                size=path.stat().st_size,
                sha256=sha256_file(path),
                recorded_start=start,
                recorded_end=end,
                media_kind=kind,
                extra=extra,
            )
        )
    return clips


class DeviceClient:
    def __init__(
        self, server: str, token: str, *, chunk_size: int = CHUNK_SIZE, timeout: float = 60
    ):
        self.server = server.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.chunk_size = chunk_size
        self.timeout = timeout

    def manifest(self, clips: list[LocalClip]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "device_time": datetime.datetime.now(tz=datetime.UTC).isoformat(),
            "clips": [clip.manifest_entry() for clip in clips],
        }
        response = self.session.post(
            f"{self.server}/api/sync/v1/manifest", json=body, timeout=self.timeout
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def offset(self, upload_url: str) -> int:
        response = self.session.head(
            self.server + upload_url, headers=TUS_HEADERS, timeout=self.timeout
        )
        response.raise_for_status()
        return int(response.headers["Upload-Offset"])

    def upload(
        self,
        clip: LocalClip,
        upload_url: str,
        *,
        max_attempts: int = 20,
        on_chunk: Callable[[int], None] | None = None,
    ) -> None:
        """Send the missing bytes of one clip, resuming from the server offset after any failure."""
        attempt = 0
        while True:
            try:
                offset = self.offset(upload_url)
                with clip.path.open("rb") as handle:
                    handle.seek(offset)
                    while offset < clip.size:
                        chunk = handle.read(self.chunk_size)
                        checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
                        response = self.session.patch(
                            self.server + upload_url,
                            data=chunk,
                            headers={
                                **TUS_HEADERS,
                                "Content-Type": "application/offset+octet-stream",
                                "Upload-Offset": str(offset),
                                "Upload-Checksum": f"sha256 {checksum}",
                            },
                            timeout=self.timeout,
                        )
                        if response.status_code == 409:  # our idea of the offset was stale
                            break
                        response.raise_for_status()
                        offset = int(response.headers["Upload-Offset"])
                        if on_chunk is not None:
                            on_chunk(offset)
                if offset >= clip.size:
                    return
            except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as exc:
                attempt += 1
                if attempt >= max_attempts:
                    raise
                status = getattr(getattr(exc, "response", None), "status_code", None)
                if status is not None and 400 <= status < 500 and status not in (409, 423):
                    raise
                time.sleep(min(0.2 * 2**attempt, 5))


@dataclass
class SyncReport:
    uploaded: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)


def sync_folder(
    client: DeviceClient,
    folder: Path,
    *,
    delete_stored: bool,
    wait_seconds: float = 60,
    log: Callable[[str], None] = print,
) -> SyncReport:
    clips = scan_folder(folder)
    by_id = {clip.clip_id: clip for clip in clips}
    report = SyncReport()
    answer = client.manifest(clips)
    log(f"manifest: {len(clips)} clips, clock offset {answer['clock_offset_ms']} ms")
    for item in answer["clips"]:
        if item.get("upload_url"):
            log(f"  upload {item['clip_id']} ({item['status']}, from {item['offset']})")
            client.upload(by_id[item["clip_id"]], item["upload_url"])
            report.uploaded.append(item["clip_id"])
    deadline = time.monotonic() + wait_seconds
    while True:
        answer = client.manifest(clips)
        statuses = {item["clip_id"]: item for item in answer["clips"]}
        pending = [
            cid
            for cid, item in statuses.items()
            if item["status"] in ("storing", "partial", "missing") and cid in report.uploaded
        ]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for clip_id, item in statuses.items():
        if item["status"] == "stored":
            report.stored.append(clip_id)
            if delete_stored:
                # The only condition under which a device may delete its copy.
                by_id[clip_id].path.unlink()
                sidecar = by_id[clip_id].path.with_name(by_id[clip_id].path.name + ".json")
                sidecar.unlink(missing_ok=True)
                report.deleted.append(clip_id)
        else:
            report.kept[clip_id] = item["status"]
    log(f"stored {len(report.stored)}, deleted {len(report.deleted)}, kept {report.kept}")
    return report


def enrol(
    server: str,
    *,
    code: str,
    serial: str,
    model_name: str = "",
    firmware: str = "",
    timeout: float = 30,
) -> dict[str, str]:
    """Redeem a one-time enrolment code; returns {"device_id", "token"} (keep the token secret)."""
    response = requests.post(
        f"{server.rstrip('/')}/api/sync/v1/enrol",
        json={"code": code, "serial": serial, "model_name": model_name, "firmware": firmware},
        timeout=timeout,
    )
    response.raise_for_status()
    result: dict[str, str] = response.json()
    return result


def generate_clips(
    folder: Path,
    *,
    count: int,
    seconds: int = 2,
    start: datetime.datetime | None = None,
    starts: list[datetime.datetime] | None = None,
) -> list[Path]:
    """Make small real H.264 clips with sidecars, as a camera would have recorded them:
    `count` clips one second apart from `start`, or one clip at each of `starts`."""
    folder.mkdir(parents=True, exist_ok=True)
    begin = start or datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(hours=2)
    if starts:
        begin, count = starts[0], len(starts)
    paths = []
    for index in range(count):
        path = folder / f"DSJ_{begin:%Y%m%d}_{index:04d}.mp4"
        subprocess.run(
            [
                ffmpeg_binary(),
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size=640x360:rate=25:duration={seconds}",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={440 + index * 110}:duration={seconds}",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-c:a",
                "aac",
                "-shortest",
                str(path),
            ],
            check=True,
        )
        clip_start = (
            starts[index] if starts else begin + datetime.timedelta(seconds=index * (seconds + 1))
        )
        path.with_name(path.name + ".json").write_text(
            json.dumps(
                {
                    "recorded_start": clip_start.isoformat(),
                    "recorded_end": (clip_start + datetime.timedelta(seconds=seconds)).isoformat(),
                    "latitude": 36.19,
                    "longitude": 113.12,
                    "trigger_reason": "manual",
                }
            )
        )
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="simulator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sync_cmd = sub.add_parser(
        "sync", help="manifest, upload with resume, delete only what is stored"
    )
    sync_cmd.add_argument("--server", default="http://127.0.0.1:8000")
    sync_cmd.add_argument("--token", required=True)
    sync_cmd.add_argument("--folder", type=Path, required=True)
    sync_cmd.add_argument("--delete-stored", action="store_true")
    sync_cmd.add_argument("--chunk-mib", type=int, default=8)
    enrol_cmd = sub.add_parser("enrol", help="redeem a one-time enrolment code for a token")
    enrol_cmd.add_argument("--server", default="http://127.0.0.1:8000")
    enrol_cmd.add_argument("--code", required=True)
    enrol_cmd.add_argument("--serial", required=True)
    enrol_cmd.add_argument("--model", default="FV-SIMULATOR")
    enrol_cmd.add_argument("--firmware", default="1.0")
    gen = sub.add_parser("generate", help="make small camera-like clips with ffmpeg")
    gen.add_argument("--folder", type=Path, required=True)
    gen.add_argument("--count", type=int, default=3)
    from mobile_contract import tablet_simulator

    tablet_simulator.add_arguments(
        sub.add_parser("tablet", help="tablet record sync: log offline, push, pull")
    )
    args = parser.parse_args(argv)
    if args.command == "tablet":
        return tablet_simulator.run(args)
    if args.command == "enrol":
        result = enrol(
            args.server,
            code=args.code,
            serial=args.serial,
            model_name=args.model,
            firmware=args.firmware,
        )
        print(json.dumps(result))
        return 0
    if args.command == "generate":
        for path in generate_clips(args.folder, count=args.count):
            print(path)
        return 0
    client = DeviceClient(args.server, args.token, chunk_size=args.chunk_mib * 1024 * 1024)
    report = sync_folder(client, args.folder, delete_stored=args.delete_stored)
    return 0 if not report.kept else 1


if __name__ == "__main__":
    sys.exit(main())
