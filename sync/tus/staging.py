"""The staging file of one upload: bytes written once, hashed in the same pass.

Every method here is blocking (file I/O, hashing of 1 MiB buffers, fsync) and is
meant to run on a worker thread; hashlib and os.pwrite release the GIL for large
buffers, so the event loop keeps receiving while a thread writes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sync.tus.protocol import TusError

_READ_BLOCK = 1024 * 1024

# hashlib's sha256 object; typed loosely because hashlib's type is private.
Hasher = Any


class StagingLost(TusError):
    """The staged bytes no longer match the persisted offset (shorter, unreadable)."""

    def __init__(self, *, persisted_offset: int, file_size: int) -> None:
        super().__init__(
            410,
            "staging_file_lost",
            "暂存文件缺失或被截断，请按清单重新上传该片段 / The staged bytes are lost; sync the "
            "manifest again and upload this clip from a fresh URL",
            details={"persisted_offset": persisted_offset, "file_size": file_size},
        )


def _fence_lost(mine: int, current: int) -> TusError:
    return TusError(
        423,
        "upload_lock_lost",
        "上传锁已被其他请求接管 / Another request took over this upload",
        details={"generation": mine, "current_generation": current},
    )


def fence_path_of(staging_path: Path) -> Path:
    """The fence next to a staging file: the generation of the lease allowed to touch it."""
    return staging_path.with_suffix(".fence")


class Fence:
    """The fencing token on disk, next to the staged bytes.

    The lease holder of generation G writes G here (under an exclusive `flock`) when it
    opens the staging file; every later mutation (write, truncate) of any request takes
    the same `flock`, re-reads the number and goes ahead only if it is still its own. A
    request whose lease was taken over can therefore never cut or overwrite bytes that
    the new holder owns, however late its own disconnect arrives. The lock is held for
    one mutation at a time, never across a network wait, so a stalled request blocks
    nobody.
    """

    def __init__(self, *, path: Path, generation: int) -> None:
        self.path = path
        self.generation = generation
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def _current(self) -> int:
        raw = os.pread(self.fd, 32, 0).strip()
        try:
            return int(raw) if raw else 0
        except ValueError:
            return 0

    def claim(self) -> None:
        """Install this generation (caller holds the flock); refuse if a newer one is in."""
        current = self._current()
        if current > self.generation:
            raise _fence_lost(self.generation, current)
        if current != self.generation:
            data = f"{self.generation:020d}\n".encode()
            os.pwrite(self.fd, data, 0)
            os.ftruncate(self.fd, len(data))

    @contextmanager
    def held(self) -> Iterator[None]:
        """Exclusive for one mutation, and only while this generation is the fence's."""
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            current = self._current()
            if current != self.generation:
                raise _fence_lost(self.generation, current)
            yield
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self.fd)


class StagingFile:
    """An open staging file positioned at `offset`, with the SHA-256 of bytes [0, offset)."""

    def __init__(
        self, *, path: Path, fd: int, offset: int, hasher: Hasher, fence: Fence | None
    ) -> None:
        self.path = path
        self.fd = fd
        self.offset = offset
        self.hasher = hasher
        self.fence = fence

    @classmethod
    def open(
        cls, *, path: Path, offset: int, hasher: Hasher | None, generation: int | None = None
    ) -> StagingFile:
        """Open at the persisted offset: cut anything past it, restore the hash state.

        Bytes past the persisted offset were never acknowledged (no fsync + offset
        save happened after them), so they are dropped. Without a cached hasher for
        exactly this offset, the prefix is re-read once to rebuild it. With a
        `generation` (the lease's fencing token) the fence is claimed first, under
        its lock, so an older holder's late truncate or write is refused from here on.
        A file shorter than the persisted offset raises `StagingLost` (410).
        """
        created = not path.exists()
        if created:
            path.parent.mkdir(parents=True, exist_ok=True)
        fence = Fence(path=fence_path_of(path), generation=generation) if generation else None
        fd = -1
        try:
            if fence is not None:
                fcntl.flock(fence.fd, fcntl.LOCK_EX)
            try:
                if fence is not None:
                    fence.claim()
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                size = os.fstat(fd).st_size
                if size < offset:
                    raise StagingLost(persisted_offset=offset, file_size=size)
                if size > offset:
                    os.ftruncate(fd, offset)
            finally:
                if fence is not None:
                    fcntl.flock(fence.fd, fcntl.LOCK_UN)
            if created:
                _fsync_directory(path.parent)
            if hasher is None:
                hasher = hashlib.sha256()
                position = 0
                while position < offset:
                    block = os.pread(fd, min(_READ_BLOCK, offset - position), position)
                    if not block:
                        raise StagingLost(persisted_offset=offset, file_size=position)
                    hasher.update(block)
                    position += len(block)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            if fence is not None:
                fence.close()
            raise
        return cls(path=path, fd=fd, offset=offset, hasher=hasher, fence=fence)

    def _fenced(self) -> AbstractContextManager[None]:
        return self.fence.held() if self.fence is not None else nullcontext()

    def write(self, chunks: list[bytes], request_hasher: Hasher | None) -> None:
        """Append the chunks at the current offset and feed the hashers, in one pass.

        One pwritev per batch: the received chunks go to the page cache as they are,
        without first being joined into another buffer. Fenced: refused (423) once
        another request holds the upload.
        """
        position = self.offset
        total = sum(len(chunk) for chunk in chunks)
        with self._fenced():
            written = os.pwritev(self.fd, chunks, position)
            if written < total:  # short write (rare on a regular file): finish byte-exactly
                rest = memoryview(b"".join(chunks))[written:]
                while rest:
                    count = os.pwrite(self.fd, rest, position + written)
                    written += count
                    rest = rest[count:]
        for chunk in chunks:
            self.hasher.update(chunk)
            if request_hasher is not None:
                request_hasher.update(chunk)
        self.offset = position + total

    def sync(self) -> None:
        os.fdatasync(self.fd)

    def matches(self, position: int, data: bytes) -> bool:
        """Whether the staged bytes at `position` are `data` (a resend; nothing written)."""
        staged = os.pread(self.fd, len(data), position)
        return staged == data

    def rollback(self, *, offset: int, hasher: Hasher | None) -> None:
        """Drop everything past `offset` (a refused request). Hash state must match.

        Fenced: a request that lost the upload to another never cuts its file.
        """
        with self._fenced():
            os.ftruncate(self.fd, offset)
            os.fdatasync(self.fd)
        self.offset = offset
        if hasher is not None:
            self.hasher = hasher

    def close(self) -> None:
        os.close(self.fd)
        if self.fence is not None:
            self.fence.close()


def remove_staging_file(path: Path) -> None:
    path.unlink(missing_ok=True)
    fence_path_of(path).unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class HasherCache:
    """Hash states of the uploads this process last wrote, keyed by upload id + offset.

    A PATCH takes the entry out (it holds the upload's lease, so nobody else may
    use it) and puts it back at the offset it persisted. Bytes below a persisted
    offset never change, so an entry for the same id and offset is always valid,
    even if another process wrote in between and the offset came back around.
    """

    def __init__(self, *, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[uuid.UUID, tuple[int, Hasher]] = OrderedDict()
        self._max_entries = max_entries
        self._mutex = threading.Lock()

    def take(self, upload_id: uuid.UUID, offset: int) -> Hasher | None:
        with self._mutex:
            entry = self._entries.pop(upload_id, None)
        if entry is None or entry[0] != offset:
            return None
        return entry[1]

    def put(self, upload_id: uuid.UUID, offset: int, hasher: Hasher) -> None:
        with self._mutex:
            self._entries[upload_id] = (offset, hasher)
            self._entries.move_to_end(upload_id)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def drop(self, upload_id: uuid.UUID) -> None:
        with self._mutex:
            self._entries.pop(upload_id, None)

    def __len__(self) -> int:
        return len(self._entries)
