"""Export packages: a ZIP streamed straight to the client.

Inside: the originals exactly as stored (bytes copied from S3, never re-encoded), a
`SHA256SUMS` file that `sha256sum -c` checks with nothing else installed, a manifest with
each file's SHA-256 and metadata, the audit extract, the integrity/ folder (inclusion
proofs, day roots and tokens, the offline verifier), a README in Chinese and English, and
for outside parties watermarked proxy copies (requester, date), burned in by ffmpeg in a
background job before the download (backend.review.services.export_proxies_prepare).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.footage.models import MediaKind, Recording
from backend.footage.storage import object_store, original_version
from backend.hooks import HookPoint
from backend.review.models import ExportPackage
from media.fonts import cjk_font_path
from media.tools import ffmpeg_binary

# Extra folders of an export package, from apps review does not import (today: integrity's
# proofs, backend/wiring/registry.py). Each receiver gets the package's recordings and the
# function naming each one's file, and returns (path inside the package, bytes) pairs.
PACKAGE_FILES_HOOKS: HookPoint[
    [list[Recording], Callable[[Recording], str]], list[tuple[str, bytes]]
] = HookPoint(
    "review.package_files",
    "Extra files of an export package: (recordings, name_of) -> [(path, bytes)].",
)

_SAFE_PATH = re.compile(r"^[A-Za-z0-9/._-]+$")
_UNSAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)

README = """\
执法音像记录导出包 / Enforcement footage export package
=======================================================

导出编号 / Export: {export_id}
导出时间 / Exported at: {created_at}
调阅事由 / Purpose: {purpose}
授权编号 / Grant: {grant_id}

一、如何校验（只需 sha256sum）
1. 解压本压缩包，进入解压后的目录（本文件所在目录）。
2. 运行： sha256sum -c SHA256SUMS
3. 每一行都应显示“OK”（或“成功”）。任何一行显示 FAILED，说明该文件与系统存储时
   记录的 SHA-256 不一致，不得作为原始证据使用。
originals/ 目录中的文件是设备上传、系统校验后按原样保存的原始音视频资料，字节未经任何
改动；其 SHA-256 与 manifest.json 中记录的、设备申报并经系统校验的值相同。
{proxy_note_zh}
audit-extract.jsonl 是与这些记录相关的审计日志条目（含每条的哈希链值）。
integrity/ 目录含每个文件的完整性证明（默克尔审计路径、每日根、可信时间戳）和离线核验
脚本 verify_fieldvault.py，用法见 integrity/README.txt。

How to verify (sha256sum only)
1. Unzip this package and change into the unpacked folder (where this file is).
2. Run:  sha256sum -c SHA256SUMS
3. Every line must say "OK". A line saying FAILED means that file differs from the
   SHA-256 recorded when it was stored; do not use it as original evidence.
The files in originals/ are the original recordings exactly as the devices uploaded them
and the system verified and stored them; their bytes were not changed. Their SHA-256
values equal those in manifest.json (declared by the device, verified on receipt).
{proxy_note_en}
audit-extract.jsonl holds the audit-log entries about these recordings (with each entry's
hash-chain values).
integrity/ holds each file's proof of integrity (Merkle audit path, day root, trusted
timestamp) and the offline verifier verify_fieldvault.py; see integrity/README.txt.
"""

PROXY_NOTE_ZH = (
    "proxies/ 目录中的文件是带可见水印（申请人、日期）的转码副本，仅供查看，不是原始资料。"
)
PROXY_NOTE_EN = (
    "The files in proxies/ are transcoded viewing copies carrying a visible watermark\n"
    "(requester, date); they are not the originals."
)


def watermark_clean_text(text: str) -> str:
    """One printable line of at most 120 characters: control characters (new lines
    included) become spaces. Markup, quotes, colons and percent signs stay as they are:
    ffmpeg reads the text from a file with expansion off, so none of them means anything."""
    cleaned = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return " ".join(cleaned.split())[:120]


def watermark_filter(*, text_file: Path, font_file: str) -> str:
    """The drawtext filter for a watermark. The text itself never enters the filter
    string (it is read from `text_file`), so it needs no escaping; the two paths are
    checked to hold only characters with no meaning in a filtergraph."""
    for path in (str(text_file), font_file):
        if not _SAFE_PATH.match(path):
            raise ValueError(f"unsafe path for a filtergraph: {path!r}")
    options = [
        f"fontfile={font_file}",
        f"textfile={text_file}",
        "expansion=none",
        "fontcolor=white@0.85",
        "fontsize=h/18",
        "box=1",
        "boxcolor=black@0.45",
        "boxborderw=8",
        "x=(w-text_w)/2",
        "y=h-text_h-h/12",
    ]
    return "drawtext=" + ":".join(options)


def viewing_copy_command(
    *, source: str, target: Path, media_kind: str, overlay: str | None = None
) -> list[str]:
    """The ffmpeg command for a viewing copy (a photo at most 1920 wide, a video as 480p
    H.264/AAC with faststart), with `overlay` (a filter such as the watermark) drawn on it."""
    if media_kind == MediaKind.PHOTO:
        scale, output = "scale='min(1920,iw)':-2", ["-frames:v", "1"]
    else:
        scale = "scale=-2:'min(480,ih)'"
        output = [
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
            "-movflags",
            "+faststart",
        ]
    video_filter = f"{scale},{overlay}" if overlay else scale
    return [
        ffmpeg_binary(),
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-i",
        source,
        "-vf",
        video_filter,
        *output,
        str(target),
    ]


def watermark_media(
    *, source: str, target: Path, text: str, media_kind: str, work_dir: Path
) -> None:
    """Burn `text` into a viewing copy of `source` (a path or URL) with ffmpeg."""
    text_file = work_dir / "watermark.txt"
    text_file.write_text(watermark_clean_text(text), encoding="utf-8")
    drawtext = watermark_filter(text_file=text_file, font_file=str(cjk_font_path()))
    command = viewing_copy_command(
        source=source, target=target, media_kind=media_kind, overlay=drawtext
    )
    result = subprocess.run(command, capture_output=True, timeout=900, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            "ffmpeg watermark failed: " + result.stderr.decode("utf-8", "replace")[-500:]
        )


class _Sink:
    """A write-only, non-seekable file: zipfile then writes data descriptors, so the
    archive can be sent while it is being made."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def package_file_name(recording: Recording) -> str:
    safe = _UNSAFE_NAME.sub("_", recording.file_name).strip("._") or "recording"
    return f"{str(recording.pk)[:8]}_{safe}"


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=timezone.localtime().timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def audit_extract(export: ExportPackage, recording_ids: list[str]) -> list[dict[str, object]]:
    request_id = str(export.grant.request_id)
    events = AuditEvent.objects.filter(
        Q(object_type="recording", object_id__in=recording_ids)
        | Q(object_type="access_request", object_id=request_id)
    ).order_by("sequence")
    return [
        {
            "sequence": e.sequence,
            "occurred_at": e.occurred_at.isoformat(),
            "actor_kind": e.actor_kind,
            "actor_id": e.actor_id,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "data": e.data,
            "previous_hash": e.previous_hash,
            "entry_hash": e.entry_hash,
        }
        for e in events
    ]


def export_stream(export: ExportPackage) -> Iterator[bytes]:
    """Yield the ZIP of `export` piece by piece (memory stays at one S3 chunk)."""
    store = object_store()
    recordings = list(
        export.grant.recordings.select_related("device", "officer").order_by("started_at")
    )
    sink = _Sink()
    sums: list[tuple[str, str]] = []
    problems: list[str] = []
    with zipfile.ZipFile(sink, mode="w", allowZip64=True) as archive:  # type: ignore[call-overload]
        for recording in recordings:
            name = f"originals/{package_file_name(recording)}"
            digest = hashlib.sha256()
            with archive.open(_entry(name), mode="w", force_zip64=True) as member:
                for chunk in store.iter_object(
                    settings.FV_ORIGINALS_BUCKET,
                    recording.storage_key,
                    version_id=original_version(recording),
                ):
                    digest.update(chunk)
                    member.write(chunk)
                    yield sink.drain()
            if digest.hexdigest() != recording.sha256:
                problems.append(
                    f"{name}: stored bytes hash {digest.hexdigest()}, expected {recording.sha256}"
                )
            # The recorded hash, not the one just computed: a mismatch then shows in sha256sum.
            sums.append((recording.sha256, name))
        yield sink.drain()
        if export.proxies:
            yield from _proxies(export, archive, sink, sums, problems)
        manifest = {
            "export_id": str(export.pk),
            "grant_id": str(export.grant_id),
            "created_at": export.created_at.isoformat(),
            "purpose": export.purpose,
            "watermark": export.watermark_text,
            "files": [{"path": path, "sha256": sha} for sha, path in sums],
            **export.manifest,
        }
        texts = {
            "manifest.json": json.dumps(manifest, ensure_ascii=False, indent=2),
            "audit-extract.jsonl": "\n".join(
                json.dumps(e, ensure_ascii=False, sort_keys=True)
                for e in audit_extract(export, [str(r.pk) for r in recordings])
            )
            + "\n",
        }
        for path, text in texts.items():
            data = text.encode("utf-8")
            archive.writestr(_entry(path), data)
            sums.append((hashlib.sha256(data).hexdigest(), path))
        for files in PACKAGE_FILES_HOOKS.fire(list(recordings), package_file_name):
            for path, data in files:
                archive.writestr(_entry(path), data)
                sums.append((hashlib.sha256(data).hexdigest(), path))
        if problems:
            archive.writestr(_entry("INTEGRITY-PROBLEMS.txt"), "\n".join(problems) + "\n")
        archive.writestr(_entry("SHA256SUMS"), "".join(f"{sha}  {path}\n" for sha, path in sums))
        readme = README.format(
            export_id=export.pk,
            created_at=timezone.localtime(export.created_at).isoformat(),
            purpose=export.purpose,
            grant_id=export.grant_id,
            proxy_note_zh=PROXY_NOTE_ZH if export.proxies else "",
            proxy_note_en=PROXY_NOTE_EN if export.proxies else "",
        )
        archive.writestr(_entry("README.txt"), readme.replace("\n", "\r\n").encode("utf-8"))
    yield sink.drain()


def _proxies(
    export: ExportPackage,
    archive: zipfile.ZipFile,
    sink: _Sink,
    sums: list[tuple[str, str]],
    problems: list[str],
) -> Iterator[bytes]:
    """The watermarked viewing copies made by export_proxies_prepare, streamed from the
    derivatives bucket; their recorded SHA-256 goes into SHA256SUMS."""
    store = object_store()
    for proxy in export.proxies:
        name = str(proxy["path"])
        digest = hashlib.sha256()
        with archive.open(_entry(name), mode="w", force_zip64=True) as member:
            for chunk in store.iter_object(str(proxy["bucket"]), str(proxy["key"])):
                digest.update(chunk)
                member.write(chunk)
                yield sink.drain()
        if digest.hexdigest() != proxy["sha256"]:
            problems.append(
                f"{name}: stored bytes hash {digest.hexdigest()}, expected {proxy['sha256']}"
            )
        sums.append((str(proxy["sha256"]), name))
