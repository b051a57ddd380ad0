"""The object store as configured in settings (one client per process)."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from media.object_store import ObjectStore, ObjectStoreConfig


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


def storage_ensure_buckets() -> None:
    store = object_store()
    store.ensure_bucket(settings.FV_ORIGINALS_BUCKET, object_lock=True)
    store.ensure_bucket(settings.FV_DERIVATIVES_BUCKET, object_lock=False)
