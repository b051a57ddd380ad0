"""Object storage for originals and derivatives, on any S3 (SeaweedFS, MinIO, Ceph, AWS).

Originals are content-addressed (`originals/sha256/ab/cd/<sha256>`), written once with
Object Lock in COMPLIANCE mode and the S3 server checking our SHA-256; the same content
twice is stored once. Nothing here rewrites or deletes an original. Every read of an
original names the version written at ingest (`version_id`): a later PUT on the same key
(the app's S3 identity may write, so it may) adds a version that nothing reads.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

MULTIPART_THRESHOLD = 2 * 1024**3
PART_SIZE = 64 * 1024**2
READ_CHUNK = 1024**2


class ObjectStoreError(RuntimeError):
    """The store refused or could not be reached; the caller keeps its staged bytes."""


class IntegrityMismatch(ObjectStoreError):
    """An object exists under a content address but its recorded hash differs."""


@dataclass(frozen=True)
class ObjectStoreConfig:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    version_id: str | None
    size: int
    already_present: bool


def original_key(sha256_hex: str) -> str:
    if len(sha256_hex) != 64 or any(c not in "0123456789abcdef" for c in sha256_hex):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return f"originals/sha256/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class ObjectStore:
    def __init__(
        self, config: ObjectStoreConfig, *, connect_timeout: float = 5, read_timeout: float = 120
    ):
        self.config = config
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=config.endpoint_url,
            aws_access_key_id=config.access_key,
            aws_secret_access_key=config.secret_key,
            region_name=config.region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": 3, "mode": "standard"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    # -- buckets -----------------------------------------------------------------------
    def ensure_bucket(self, bucket: str, *, object_lock: bool) -> None:
        try:
            self.client.head_bucket(Bucket=bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise ObjectStoreError(f"cannot reach bucket {bucket}: {exc}") from exc
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if object_lock:
            kwargs["ObjectLockEnabledForBucket"] = True
        try:
            self.client.create_bucket(**kwargs)
        except ClientError as exc:
            if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise ObjectStoreError(f"cannot create bucket {bucket}: {exc}") from exc

    # -- originals ---------------------------------------------------------------------
    def head(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> dict[str, Any] | None:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            response: dict[str, Any] = self.client.head_object(**kwargs)
            return response
        except ClientError as exc:
            if _error_code(exc) in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}:
                return None
            raise ObjectStoreError(f"HEAD {key} failed: {exc}") from exc
        except BotoCoreError as exc:  # unreachable endpoint, timeouts
            raise ObjectStoreError(f"HEAD {key} failed: {exc}") from exc

    def put_original(
        self,
        *,
        bucket: str,
        path: Path,
        sha256_hex: str,
        retain_until: datetime.datetime,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        """Store a verified original under its content address, locked in COMPLIANCE mode.

        Idempotent: when the address already holds an object with the same SHA-256, nothing
        is written and `already_present` is True. A differing hash there raises.
        """
        key = original_key(sha256_hex)
        size = path.stat().st_size
        existing = self._existing_original(bucket, key, sha256_hex)
        if existing is not None:
            return existing
        meta = {"sha256": sha256_hex, **(metadata or {})}
        lock = {
            "ObjectLockMode": "COMPLIANCE",
            "ObjectLockRetainUntilDate": retain_until,
        }
        try:
            if size > MULTIPART_THRESHOLD:
                version_id = self._put_multipart(bucket, key, path, meta, lock)
            else:
                with path.open("rb") as body:
                    response = self.client.put_object(
                        Bucket=bucket,
                        Key=key,
                        Body=body,
                        ContentLength=size,
                        ChecksumSHA256=_b64(sha256_hex),
                        Metadata=meta,
                        IfNoneMatch="*",
                        **lock,
                    )
                version_id = response.get("VersionId")
        except ClientError as exc:
            if _error_code(exc) in {"PreconditionFailed", "412"}:
                # Someone stored the same content between our HEAD and PUT.
                existing = self._existing_original(bucket, key, sha256_hex)
                if existing is not None:
                    return existing
            raise ObjectStoreError(f"PUT {key} failed: {exc}") from exc
        except Exception as exc:  # connection refused, timeouts: the caller retries later
            raise ObjectStoreError(f"PUT {key} failed: {exc}") from exc
        return StoredObject(
            bucket=bucket, key=key, version_id=version_id, size=size, already_present=False
        )

    def _existing_original(self, bucket: str, key: str, sha256_hex: str) -> StoredObject | None:
        head = self.head(bucket, key)
        if head is None:
            return None
        recorded = head.get("Metadata", {}).get("sha256")
        if recorded != sha256_hex:
            raise IntegrityMismatch(f"{key} holds an object whose recorded hash is {recorded!r}")
        return StoredObject(
            bucket=bucket,
            key=key,
            version_id=head.get("VersionId"),
            size=int(head.get("ContentLength", 0)),
            already_present=True,
        )

    def _put_multipart(
        self, bucket: str, key: str, path: Path, meta: dict[str, str], lock: dict[str, Any]
    ) -> str | None:
        # Multipart checksums are composite ("…-N"): each part is verified by the server
        # and the whole-file hash travels in our own metadata.
        upload = self.client.create_multipart_upload(
            Bucket=bucket, Key=key, Metadata=meta, ChecksumAlgorithm="SHA256", **lock
        )
        upload_id = upload["UploadId"]
        parts = []
        try:
            with path.open("rb") as source:
                number = 1
                while True:
                    chunk = source.read(PART_SIZE)
                    if not chunk:
                        break
                    digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode("ascii")
                    part = self.client.upload_part(
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                        ChecksumSHA256=digest,
                    )
                    parts.append(
                        {"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": digest}
                    )
                    number += 1
            done = self.client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except Exception:
            self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
        version: str | None = done.get("VersionId")
        return version

    def iter_object(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> Iterator[bytes]:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            body = self.client.get_object(**kwargs)["Body"]
        except ClientError as exc:
            raise ObjectStoreError(f"GET {key} failed: {exc}") from exc
        try:
            yield from body.iter_chunks(READ_CHUNK)
        finally:
            body.close()

    def sha256_of_object(self, bucket: str, key: str, *, version_id: str | None = None) -> str:
        digest = hashlib.sha256()
        for chunk in self.iter_object(bucket, key, version_id=version_id):
            digest.update(chunk)
        return digest.hexdigest()

    def retention_of(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        retention: dict[str, Any] = self.client.get_object_retention(**kwargs)["Retention"]
        return retention

    # -- derivatives -------------------------------------------------------------------
    def put_file(self, *, bucket: str, key: str, path: Path, content_type: str) -> None:
        with path.open("rb") as body:
            self.put_stream(bucket=bucket, key=key, body=body, content_type=content_type)

    def put_stream(self, *, bucket: str, key: str, body: BinaryIO, content_type: str) -> None:
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        except Exception as exc:
            raise ObjectStoreError(f"PUT {key} failed: {exc}") from exc

    def presigned_get(self, *, bucket: str, key: str, expires_seconds: int, **params: Any) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key, **params}, ExpiresIn=expires_seconds
        )
        return url
