"""What the tus endpoint needs from whoever keeps upload state.

Two implementations: `sync.uploads.DjangoUploadStore` (the product: rows in the
database, leases by conditional UPDATE) and `sync.tus.filestore.FileUploadStore`
(JSON files on disk, used to test the protocol core without Django).

The endpoint owns the bytes (the staging file); the store owns the state (offset,
length, lock lease, expiry). The invariant both keep: the persisted offset never
exceeds what has been fsynced to the staging file, and bytes below the persisted
offset are never rewritten.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol


class UploadStatus(enum.StrEnum):
    RECEIVING = "receiving"
    COMPLETE = "complete"
    MISMATCH = "mismatch"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class Caller:
    """An authenticated device. `device_key` is opaque to the protocol core."""

    device_key: str
    label: str = ""
    # Where live events about this device go (the device's unit path), if anywhere.
    unit_path: str | None = None


@dataclass(frozen=True)
class UploadInfo:
    id: uuid.UUID
    length: int | None
    offset: int
    status: UploadStatus
    expires_at: datetime | None
    staging_path: Path
    metadata: dict[str, str] = field(default_factory=dict)
    # The fencing token of the lease this state was read under (0: not under a lease).
    generation: int = 0
    # Until when a request holds the write lease (None: free); for a 423's Retry-After.
    lease_until: datetime | None = None

    @property
    def is_complete(self) -> bool:
        return self.length is not None and self.offset >= self.length


class UploadStore(Protocol):
    async def authenticate(self, *, token: str) -> Caller | None:
        """The device holding this bearer token, or None (unknown or revoked)."""
        ...

    async def create(
        self,
        *,
        caller: Caller,
        length: int | None,
        metadata: dict[str, str],
        expires_at: datetime,
    ) -> UploadInfo:
        """Open an upload (or hand back the pre-created one for the same clip).

        Raises TusError for refusals (unknown clip, wrong length, ...).
        """
        ...

    async def get(self, *, caller: Caller, upload_id: uuid.UUID) -> UploadInfo | None:
        """The upload if it exists and belongs to `caller`; None otherwise (-> 404)."""
        ...

    async def acquire_lock(
        self, *, caller: Caller, upload_id: uuid.UUID, token: uuid.UUID, lease_until: datetime
    ) -> UploadInfo | None:
        """Take the write lease if free, expired or held by a dead process; the fresh state
        with the lease's new generation (fencing token), or None when held."""
        ...

    async def checkpoint(
        self,
        *,
        upload_id: uuid.UUID,
        token: uuid.UUID,
        offset: int,
        length: int | None,
        lease_until: datetime,
        expires_at: datetime,
    ) -> bool:
        """Persist offset (and a late length), renew the lease; False if the lease was lost."""
        ...

    async def complete(self, *, upload_id: uuid.UUID, token: uuid.UUID, sha256: str) -> UploadInfo:
        """Mark the upload complete (offset already persisted at length); run the hook."""
        ...

    async def release_lock(self, *, upload_id: uuid.UUID, token: uuid.UUID) -> None: ...

    async def lost(self, *, upload_id: uuid.UUID, token: uuid.UUID, detail: dict[str, int]) -> None:
        """The staged bytes are gone (under the caller's lease): end this upload so the
        next manifest hands out a fresh one. Never touches a complete upload."""
        ...

    async def terminate(self, *, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        """Mark terminated (under the caller's lease); the endpoint removes the file."""
        ...

    async def progress(
        self, *, caller: Caller, upload: UploadInfo, offset: int, first: bool
    ) -> None:
        """Bytes up to `offset` are persisted (`first`: the first time in this request).

        For live status; must never fail an upload.
        """
        ...
