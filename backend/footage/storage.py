"""The object store as configured in settings (one client per process)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings

from media.object_store import ObjectStore, ObjectStoreConfig

if TYPE_CHECKING:
    from backend.footage.models import Recording


@lru_cache(maxsize=4)
def _store_for(endpoint: str, access_key: str, secret_key: str, region: str) -> ObjectStore:
    return ObjectStore(
        ObjectStoreConfig(
            endpoint_url=endpoint, access_key=access_key, secret_key=secret_key, region=region
        )
    )


def object_store() -> ObjectStore:
    return _store_for(
        settings.FV_S3_ENDPOINT_URL,
        settings.FV_S3_ACCESS_KEY,
        settings.FV_S3_SECRET_KEY,
        settings.FV_S3_REGION,
    )


def destruction_store() -> ObjectStore:
    """The separate S3 identity that may delete originals: retention destruction only."""
    return _store_for(
        settings.FV_S3_ENDPOINT_URL,
        settings.FV_S3_DESTRUCTION_ACCESS_KEY,
        settings.FV_S3_DESTRUCTION_SECRET_KEY,
        settings.FV_S3_REGION,
    )


def original_metadata(recording: Recording) -> dict[str, str]:
    """S3 user metadata (ASCII) stored with an original: enough to recreate its recording
    if the database loses it (backend/footage/recovery.py)."""
    return {
        "device-id": str(recording.device_id),
        "clip-id": recording.clip_id[:100],
        "file-name": quote(recording.file_name[:200]),
        "media-kind": recording.media_kind,
        "device-started-at": recording.device_started_at.isoformat(),
        "device-ended-at": recording.device_ended_at.isoformat(),
        "clock-offset-ms": str(recording.clock_offset_ms),
        "officer-id": str(recording.officer_id or ""),
    }


def original_version(recording: Recording) -> str | None:
    """The S3 version of a recording's original recorded at ingest (None: stored before
    versions were recorded; read by key, and verified against its SHA-256)."""
    return recording.storage_version_id or None


def original_version_params(recording: Recording) -> dict[str, Any]:
    """Extra parameters for a presigned GET of the original: its ingest version."""
    version = original_version(recording)
    return {"VersionId": version} if version else {}


def storage_ensure_buckets() -> None:
    store = object_store()
    store.ensure_bucket(settings.FV_ORIGINALS_BUCKET, object_lock=True)
    store.ensure_bucket(settings.FV_DERIVATIVES_BUCKET, object_lock=False)


def backup_store() -> ObjectStore:
    """The S3 endpoint and identity of the database's continuous backup (ops/litestream.py)."""
    return _store_for(
        settings.FV_BACKUP_S3_ENDPOINT_URL,
        settings.FV_BACKUP_S3_ACCESS_KEY,
        settings.FV_BACKUP_S3_SECRET_KEY,
        settings.FV_S3_REGION,
    )
