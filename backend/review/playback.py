"""Short-lived presigned URLs for the player: the proxy when processing made one, the
stored original otherwise (a view grant allows viewing the original's bytes)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from backend.footage.models import MediaKind, Recording, RecordingState
from backend.footage.storage import object_store

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
        )
        return MediaUrls(url, media_type, "original", poster, thumbs, seconds)
    return MediaUrls(None, "", "", poster, thumbs, seconds)


def original_download_url(recording: Recording) -> str:
    seconds = int(settings.FV_PRESIGNED_URL_SECONDS)
    name = recording.file_name.encode("ascii", "replace").decode().replace('"', "_")
    return object_store().presigned_get(
        bucket=settings.FV_ORIGINALS_BUCKET,
        key=recording.storage_key,
        expires_seconds=seconds,
        ResponseContentDisposition=f'attachment; filename="{name}"',
    )
