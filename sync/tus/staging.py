"""The staging file of one upload: bytes written once, hashed in the same pass.

Every method here is blocking (file I/O, hashing of 1 MiB buffers, fsync) and is
meant to run on a worker thread; hashlib and os.pwrite release the GIL for large
buffers, so the event loop keeps receiving while a thread writes.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sync.tus.protocol import TusError

_READ_BLOCK = 1024 * 1024

# hashlib's sha256 object; typed loosely because hashlib's type is private.
Hasher = Any


class StagingFile:
    """An open staging file positioned at `offset`, with the SHA-256 of bytes [0, offset)."""

    def __init__(self, *, path: Path, fd: int, offset: int, hasher: Hasher) -> None:
        self.path = path
        self.fd = fd
        self.offset = offset
        self.hasher = hasher

    @classmethod
    def open(cls, *, path: Path, offset: int, hasher: Hasher | None) -> StagingFile:
        """Open at the persisted offset: cut anything past it, restore the hash state.

        Bytes past the persisted offset were never acknowledged (no fsync + offset
        save happened after them), so they are dropped. Without a cached hasher for
        exactly this offset, the prefix is re-read once to rebuild it.
        """
        created = not path.exists()
        if created:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size < offset:
                raise TusError(
                    500,
                    "staging_file_lost",
                    "暂存文件缺失或被截断 / The staging file is missing or shorter than the "
                    "persisted offset",
                    details={"persisted_offset": offset, "file_size": size},
                )
            if size > offset:
                os.ftruncate(fd, offset)
            if created:
                _fsync_directory(path.parent)
            if hasher is None:
                hasher = hashlib.sha256()
                position = 0
                while position < offset:
                    block = os.pread(fd, min(_READ_BLOCK, offset - position), position)
                    if not block:
                        raise TusError(
                            500,
                            "staging_file_lost",
                            "暂存文件读取失败 / The staging file could not be re-read",
                            details={"position": position},
                        )
                    hasher.update(block)
                    position += len(block)
        except BaseException:
            os.close(fd)
            raise
        return cls(path=path, fd=fd, offset=offset, hasher=hasher)

    def write(self, chunks: list[bytes], request_hasher: Hasher | None) -> None:
        """Append the chunks at the current offset and feed the hashers, in one pass.

        One pwritev per batch: the received chunks go to the page cache as they are,
        without first being joined into another buffer.
        """
        position = self.offset
        total = sum(len(chunk) for chunk in chunks)
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

    def rollback(self, *, offset: int, hasher: Hasher | None) -> None:
        """Drop everything past `offset` (a refused request). Hash state must match."""
        os.ftruncate(self.fd, offset)
        os.fdatasync(self.fd)
        self.offset = offset
        if hasher is not None:
            self.hasher = hasher

    def close(self) -> None:
        os.close(self.fd)


def remove_staging_file(path: Path) -> None:
    path.unlink(missing_ok=True)


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
