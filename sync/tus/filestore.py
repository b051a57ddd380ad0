"""A small file-backed `UploadStore`: one JSON state file per upload.

It exists to test the protocol core without Django and to run the endpoint on its
own (benchmarks). Every state change is a read-modify-write under an exclusive
`flock` on the upload's lock file, so the write lease works across processes the
same way the database store's conditional UPDATE does.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sync.tus.store import Caller, UploadInfo, UploadStatus

T = TypeVar("T")


class FileUploadStore:
    def __init__(self, *, root: Path, tokens: dict[str, str]) -> None:
        """`tokens` maps bearer token -> device key."""
        self.root = root
        self.tokens = tokens
        (root / "state").mkdir(parents=True, exist_ok=True)
        (root / "staging").mkdir(parents=True, exist_ok=True)

    # -- helpers (blocking; called through asyncio.to_thread)
    def staging_path(self, upload_id: uuid.UUID) -> Path:
        return self.root / "staging" / f"{upload_id}.bin"

    def _state_path(self, upload_id: uuid.UUID) -> Path:
        return self.root / "state" / f"{upload_id}.json"

    @contextmanager
    def _locked(self, upload_id: uuid.UUID) -> Iterator[None]:
        lock_path = self.root / "state" / f"{upload_id}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self, upload_id: uuid.UUID) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self._state_path(upload_id).read_text()))
        except FileNotFoundError:
            return None

    def _write(self, state: dict[str, Any]) -> None:
        path = self._state_path(uuid.UUID(state["id"]))
        temporary = path.with_suffix(".tmp")
        with temporary.open("w") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)

    def _info(self, state: dict[str, Any]) -> UploadInfo:
        upload_id = uuid.UUID(state["id"])
        expires = state.get("expires_at")
        held_until = state.get("lock_expires_at") if state.get("lock_token") else None
        return UploadInfo(
            id=upload_id,
            length=state["length"],
            offset=state["offset"],
            status=UploadStatus(state["status"]),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            staging_path=self.staging_path(upload_id),
            metadata=dict(state.get("metadata", {})),
            generation=int(state.get("lock_generation", 0)),
            lease_until=datetime.fromisoformat(held_until) if held_until else None,
        )

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(function, *args)

    # -- UploadStore
    async def authenticate(self, *, token: str) -> Caller | None:
        device_key = self.tokens.get(token)
        return Caller(device_key=device_key) if device_key else None

    async def create(
        self,
        *,
        caller: Caller,
        length: int | None,
        metadata: dict[str, str],
        expires_at: datetime,
    ) -> UploadInfo:
        state: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "device": caller.device_key,
            "length": length,
            "offset": 0,
            "status": UploadStatus.RECEIVING.value,
            "metadata": metadata,
            "expires_at": expires_at.isoformat(),
            "lock_token": None,
            "lock_expires_at": None,
            "sha256": None,
        }
        await self._call(self._write, state)
        return self._info(state)

    async def get(self, *, caller: Caller, upload_id: uuid.UUID) -> UploadInfo | None:
        state = await self._call(self._read, upload_id)
        if state is None or state["device"] != caller.device_key:
            return None
        return self._info(state)

    async def acquire_lock(
        self, *, caller: Caller, upload_id: uuid.UUID, token: uuid.UUID, lease_until: datetime
    ) -> UploadInfo | None:
        def acquire() -> UploadInfo | None:
            with self._locked(upload_id):
                state = self._read(upload_id)
                if state is None or state["device"] != caller.device_key:
                    return None
                held_until = state.get("lock_expires_at")
                if (
                    state.get("lock_token")
                    and held_until
                    and datetime.fromisoformat(held_until) > datetime.now(UTC)
                ):
                    return None
                state["lock_token"] = str(token)
                state["lock_expires_at"] = lease_until.isoformat()
                state["lock_generation"] = int(state.get("lock_generation", 0)) + 1
                self._write(state)
                return self._info(state)

        return await self._call(acquire)

    def _update_if_holder(self, upload_id: uuid.UUID, token: uuid.UUID, **changes: Any) -> bool:
        with self._locked(upload_id):
            state = self._read(upload_id)
            # The token alone decides: a lease that ran out but was not taken over is ours.
            if state is None or state.get("lock_token") != str(token):
                return False
            state.update(changes)
            self._write(state)
            return True

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
        return await self._call(
            lambda: self._update_if_holder(
                upload_id,
                token,
                offset=offset,
                length=length,
                lock_expires_at=lease_until.isoformat(),
                expires_at=expires_at.isoformat(),
            )
        )

    async def complete(self, *, upload_id: uuid.UUID, token: uuid.UUID, sha256: str) -> UploadInfo:
        def finish() -> UploadInfo:
            with self._locked(upload_id):
                state = self._read(upload_id)
                assert state is not None
                declared = state["metadata"].get("sha256")
                matches = declared is None or declared.lower() == sha256
                state["status"] = (
                    UploadStatus.COMPLETE if matches else UploadStatus.MISMATCH
                ).value
                state["sha256"] = sha256
                self._write(state)
                return self._info(state)

        return await self._call(finish)

    async def release_lock(self, *, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        await self._call(
            lambda: self._update_if_holder(upload_id, token, lock_token=None, lock_expires_at=None)
        )

    async def lost(self, *, upload_id: uuid.UUID, token: uuid.UUID, detail: dict[str, int]) -> None:
        await self._call(
            lambda: self._update_if_holder(
                upload_id, token, status=UploadStatus.TERMINATED.value, lost=detail
            )
        )

    async def progress(
        self, *, caller: Caller, upload: UploadInfo, offset: int, first: bool
    ) -> None:
        return None

    async def terminate(self, *, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        await self._call(
            lambda: self._update_if_holder(upload_id, token, status=UploadStatus.TERMINATED.value)
        )


def build_file_app() -> Any:
    """uvicorn factory for the endpoint on the file store (tests, benchmarks).

    FV_TUS_ROOT: state + staging folder; FV_TUS_TOKENS: `token=device,token2=device2`;
    FV_TUS_MAX_BYTES, FV_TUS_LEASE_SECONDS, FV_TUS_IO_IN_THREAD (1/0) optional.
    """
    from datetime import timedelta

    from sync.tus.app import TusApp, TusConfig

    tokens = dict(
        pair.split("=", 1) for pair in os.environ.get("FV_TUS_TOKENS", "").split(",") if pair
    )
    config = TusConfig(
        max_size=int(os.environ.get("FV_TUS_MAX_BYTES", str(16 * 1024**3))),
        expires_after=timedelta(seconds=int(os.environ.get("FV_TUS_EXPIRY_SECONDS", "86400"))),
        lock_lease=timedelta(seconds=float(os.environ.get("FV_TUS_LEASE_SECONDS", "30"))),
        io_in_thread=os.environ.get("FV_TUS_IO_IN_THREAD", "1") == "1",
        buffer_bytes=int(os.environ.get("FV_TUS_BUFFER_BYTES", str(1024 * 1024))),
    )
    store = FileUploadStore(root=Path(os.environ["FV_TUS_ROOT"]), tokens=tokens)
    return TusApp(store=store, config=config)
