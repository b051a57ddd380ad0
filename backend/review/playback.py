"""Short-lived presigned URLs for the player: the proxy when processing made one, the
stored original otherwise (a view grant allows viewing the original's bytes)."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.config.errors import Conflict
from backend.footage.models import MediaKind, Recording, RecordingState
from backend.footage.storage import object_store, original_version, original_version_params
from media.reasons import ReasonCode

logger = logging.getLogger(__name__)

PROXY_PROFILES: dict[str, str] = {
    MediaKind.VIDEO: "proxy-720p",
    MediaKind.AUDIO: "proxy-audio",
    MediaKind.PHOTO: "photo-1920",
}


@dataclass(frozen=True)
class MediaUrls:
    media: str | None
    media_type: str
    source: str  # "proxy", "original" or "" (nothing playable yet)
    poster: str | None
    thumbnails: str | None
    expires_seconds: int


def _derivatives(recording: Recording) -> dict[str, Any]:
    manager = getattr(recording, "derivatives", None)  # footage.RecordingDerivative
    if manager is None:
        return {}
    return {d.profile: d for d in manager.all()}


def processing_state(recording: Recording) -> tuple[str, str]:
    """(state, label) of media processing, ("", "") when processing has not reported."""
    try:
        processing = recording.processing  # type: ignore[attr-defined]
    except (ObjectDoesNotExist, AttributeError):
        return "", ""
    return processing.state, str(processing.get_state_display())


def recording_media_urls(recording: Recording) -> MediaUrls:
    seconds = int(settings.FV_PRESIGNED_URL_SECONDS)
    if recording.state == RecordingState.DESTROYED:  # its objects are gone: sign nothing
        return MediaUrls(None, "", "", None, None, seconds)
    store = object_store()
    derivatives = _derivatives(recording)

    def signed(derivative: Any) -> str:
        return store.presigned_get(
            bucket=derivative.bucket, key=derivative.key, expires_seconds=seconds
        )

    poster = signed(derivatives["poster"]) if "poster" in derivatives else None
    thumbs = signed(derivatives["thumb-strip"]) if "thumb-strip" in derivatives else None
    proxy = derivatives.get(PROXY_PROFILES.get(recording.media_kind, ""))
    if proxy is not None:
        return MediaUrls(signed(proxy), proxy.content_type, "proxy", poster, thumbs, seconds)
    if recording.state == RecordingState.STORED and recording.storage_key:
        media_type = mimetypes.guess_type(recording.file_name)[0] or "application/octet-stream"
        url = store.presigned_get(
            bucket=settings.FV_ORIGINALS_BUCKET,
            key=recording.storage_key,
            expires_seconds=seconds,
            ResponseContentType=media_type,
            **original_version_params(recording),
        )
        return MediaUrls(url, media_type, "original", poster, thumbs, seconds)
    return MediaUrls(None, "", "", poster, thumbs, seconds)


class OriginalMismatch(RuntimeError):
    """The stored bytes read back do not hash to the recording's SHA-256."""


def original_download_check(recording: Recording) -> None:
    """Before a download starts: the ingest version is there and has the recorded size."""
    head = object_store().head(
        settings.FV_ORIGINALS_BUCKET, recording.storage_key, version_id=original_version(recording)
    )
    if head is None:
        raise Conflict(
            _("存储中找不到该原始文件"),
            code="original_missing",
            details={"recording": str(recording.pk)},
        )
    if int(head.get("ContentLength", -1)) != recording.size_bytes:
        logger.error("original %s: stored size differs from the recorded size", recording.pk)
        raise Conflict(
            _("存储中的原始文件与入库记录不一致，已拒绝下载"),
            code="original_integrity_failed",
            details={"recording": str(recording.pk)},
        )


def original_download_stream(recording: Recording) -> Iterator[bytes]:
    """The original's bytes (the version written at ingest), hashed on the way out.

    One chunk is always held back until the SHA-256 of everything read is known: when it
    differs from the recorded one the stream stops short of its Content-Length and the
    client never holds a complete file, only a failed download.
    """
    digest = hashlib.sha256()
    held: bytes | None = None
    for chunk in object_store().iter_object(
        settings.FV_ORIGINALS_BUCKET, recording.storage_key, version_id=original_version(recording)
    ):
        digest.update(chunk)
        if held is not None:
            yield held
        held = chunk
    if digest.hexdigest() != recording.sha256:
        logger.error(
            "original %s read back with SHA-256 %s, recorded %s: download refused",
            recording.pk,
            digest.hexdigest(),
            recording.sha256,
        )
        raise OriginalMismatch(f"{recording.pk}: stored bytes do not match the recorded SHA-256")
    if held is not None:
        yield held


def original_download_response(recording: Recording) -> StreamingHttpResponse:
    original_download_check(recording)
    name = recording.file_name.encode("ascii", "replace").decode().replace('"', "_")
    response = StreamingHttpResponse(
        original_download_stream(recording),
        content_type=mimetypes.guess_type(recording.file_name)[0] or "application/octet-stream",
    )
    response["Content-Length"] = str(recording.size_bytes)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-SHA256"] = recording.sha256
    return response


def poster_urls(recordings: Iterable[Recording]) -> dict[Any, str]:
    """Presigned poster URLs for a page of (readable) recordings, in one query: the
    ``poster`` derivative of each that has one. Destroyed recordings have none."""
    from backend.footage.models import RecordingDerivative

    keys = [r.pk for r in recordings if r.state != RecordingState.DESTROYED]
    if not keys:
        return {}
    seconds = int(settings.FV_PRESIGNED_URL_SECONDS)
    store = object_store()
    return {
        d.recording_id: store.presigned_get(bucket=d.bucket, key=d.key, expires_seconds=seconds)
        for d in RecordingDerivative.objects.filter(recording_id__in=keys, profile="poster").only(
            "recording_id", "bucket", "key"
        )
    }


# The media reason codes (media/reasons.py) in words; English comes from the catalogue.
DAMAGE_REASONS: dict[str, Any] = {
    ReasonCode.MOOV_MISSING: gettext_lazy("文件不完整：缺少索引（moov），可能因断电中断录制"),
    ReasonCode.EMPTY_FILE: gettext_lazy("文件为空（0 字节），设备未写入任何数据"),
    ReasonCode.NOT_MEDIA: gettext_lazy("不是可识别的音视频或照片文件"),
    ReasonCode.WRONG_EXTENSION: gettext_lazy("文件扩展名与实际内容不符，已按实际内容处理"),
    ReasonCode.DIMENSIONS_TOO_LARGE: gettext_lazy("画面尺寸异常过大，为保护系统未做处理"),
    ReasonCode.UNDECODABLE: gettext_lazy("文件无法解码，内容可能已损坏"),
    ReasonCode.PARTLY_CORRUPT: gettext_lazy("文件部分损坏：解码时发现错误，已生成可播放副本"),
}


def damage_reason_text(code: str) -> str:
    """The reason a recording is damaged (or flagged), in the user's language; an unknown
    code (a newer worker) reads as a generic sentence, never as the bare code."""
    if not code:
        return ""
    text = DAMAGE_REASONS.get(code)
    return str(text) if text is not None else str(gettext_lazy("文件无法处理（原因未登记）"))
