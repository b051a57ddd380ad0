"""Short-lived presigned URLs for the player: the proxy when processing made one, the
stored original otherwise (a view grant allows viewing the original's bytes)."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _

from backend.config.errors import Conflict
from backend.footage.models import MediaKind, Recording, RecordingState
from backend.footage.storage import object_store, original_version, original_version_params

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
