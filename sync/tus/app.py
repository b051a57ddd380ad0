"""The tus 1.0.0 upload endpoint as a plain ASGI callable.

Why not a Django view: Django's ASGI handler reads the whole request body into a
temporary file before any view runs, and an upload must be written to disk exactly
once. Here the ASGI `http.request` chunks are batched into ~1 MiB (no copy) that a
worker thread writes to the staging file and feeds to SHA-256 in the same pass,
while the event loop keeps receiving.

Durability: at the end of every PATCH (also a cut one) and every `checkpoint_bytes`
the file is fdatasync'ed and only then is the offset persisted, so a kill -9 loses
at most one checkpoint interval and a resume truncates the file to the persisted
offset. Only the holder of the upload's lease (a conditional UPDATE in the store,
valid across processes) writes.

A device never has two requests in flight for one upload: a HEAD or PATCH of the device
arriving while a request of this process still holds the upload is its resume after a
cut connection (the old request may be a dead mobile connection the server has not
noticed, or still draining a closed one's buffered bytes). The old request is stopped
at once: it persists what it received (or, with a request checksum, discards it, fenced)
and releases the lease, so the HEAD answers the offset the PATCH can resume from and
the resume never waits for the lease to run out. A lease held by another process answers
423 with Retry-After of the lease's real remaining time.

Extensions: creation, creation-with-upload, creation-defer-length, expiration,
checksum (sha256, per request, 460 on mismatch), termination.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import logging
import math
import re
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sync.tus.protocol import (
    CHECKSUM_ALGORITHMS,
    OFFSET_CONTENT_TYPE,
    TUS_EXTENSIONS,
    TUS_VERSION,
    TusError,
    encode_metadata,
    http_date,
    parse_checksum,
    parse_metadata,
    parse_non_negative_int,
)
from sync.tus.staging import (
    Hasher,
    HasherCache,
    StagingFile,
    StagingLost,
    remove_staging_file,
)
from sync.tus.store import Caller, UploadInfo, UploadStatus, UploadStore

logger = logging.getLogger("sync.tus")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

T = TypeVar("T")

_UUID_PATH = re.compile(
    r"/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/?"
)


@dataclass(frozen=True)
class TusConfig:
    max_size: int
    expires_after: timedelta
    prefix: str = "/api/sync/v1/uploads"
    lock_lease: timedelta = timedelta(seconds=30)
    # A HEAD or PATCH finding the upload held by a request of this process stops that
    # request and waits up to this long for it to wind down (fsync, checkpoint, release)
    # instead of answering 423.
    lock_wait: timedelta = timedelta(seconds=2)
    checkpoint_bytes: int = 64 * 1024 * 1024
    # A PATCH may start up to this far below the offset when those bytes are a resend
    # of what is staged (verified byte for byte, nothing rewritten; see `_Receiver`).
    resend_window: int = 256 * 1024 * 1024
    buffer_bytes: int = 1024 * 1024
    io_threads: int = 8
    # Write + hash on a worker thread (True) or inline on the event loop (False).
    io_in_thread: bool = True


@dataclass
class _Outcome:
    """What one receive pass ended with."""

    info: UploadInfo
    disconnected: bool = False
    # Stopped because a newer request of the device took the upload over.
    interrupted: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)


class TusApp:
    def __init__(self, *, store: UploadStore, config: TusConfig) -> None:
        self.store = store
        self.config = config
        self.hashers = HasherCache()
        # Requests of this process writing an upload now (one per upload: the lease holder).
        self._active: dict[uuid.UUID, _Receiver] = {}
        # PATCHes of this process per upload, from their headers until they end.
        self._incoming: Counter[uuid.UUID] = Counter()
        self._io = ThreadPoolExecutor(max_workers=config.io_threads, thread_name_prefix="tus-io")

    # ---------------------------------------------------------------- ASGI entry
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        response = _Response(send, head=scope["method"] == "HEAD")
        try:
            await self._dispatch(scope, receive, response)
        except TusError as error:
            headers = _headers(scope)
            logger.info(
                "tus %s %s -> %s %s (offset=%s length=%s content-length=%s)",
                scope.get("method"),
                scope.get("path"),
                error.status,
                error.code,
                headers.get("upload-offset"),
                headers.get("upload-length"),
                headers.get("content-length"),
            )
            if not response.started:
                await response.error(error)
        except OSError as error:
            logger.exception("tus request failed: %s %s", scope.get("method"), scope.get("path"))
            if not response.started:
                full = error.errno in (errno.ENOSPC, errno.EDQUOT)
                await response.error(
                    TusError(
                        507, "insufficient_storage", "服务器存储空间不足 / Server storage is full"
                    )
                    if full
                    else TusError(500, "staging_io_error", "服务器写入失败 / Server I/O error")
                )
        except Exception:
            logger.exception("tus request failed: %s %s", scope.get("method"), scope.get("path"))
            if not response.started:
                await response.error(
                    TusError(500, "internal_error", "服务器内部错误 / Internal server error")
                )

    async def _dispatch(self, scope: Scope, receive: Receive, response: _Response) -> None:
        headers = _headers(scope)
        method = scope["method"].upper()
        override = headers.get("x-http-method-override")
        if method == "POST" and override:
            method = override.strip().upper()
        path: str = scope.get("path", "")
        prefix = self.config.prefix
        if not path.startswith(prefix):
            raise _not_found()
        rest = path[len(prefix) :]
        upload_id: uuid.UUID | None = None
        if rest not in ("", "/"):
            match = _UUID_PATH.fullmatch(rest)
            if match is None:
                raise _not_found()
            upload_id = uuid.UUID(match.group(1))

        if method == "OPTIONS":
            await response.send(204, self._capability_headers())
            return
        _check_tus_resumable(headers)
        if method == "PATCH" and upload_id is not None:
            # Counted from its headers on, before any database call: a HEAD of the
            # device's resume that overtakes it waits for it (see `_head`).
            self._incoming[upload_id] += 1
            try:
                await self._dispatch_upload(method, upload_id, headers, receive, response)
            finally:
                self._incoming[upload_id] -= 1
                if not self._incoming[upload_id]:
                    del self._incoming[upload_id]
            return
        await self._dispatch_upload(method, upload_id, headers, receive, response)

    async def _dispatch_upload(
        self,
        method: str,
        upload_id: uuid.UUID | None,
        headers: dict[str, str],
        receive: Receive,
        response: _Response,
    ) -> None:
        caller = await self._authenticate(headers)
        if upload_id is None:
            if method != "POST":
                raise _method_not_allowed("OPTIONS, POST")
            await self._create(caller, headers, receive, response)
            return
        if method == "HEAD":
            await self._head(caller, upload_id, response)
        elif method == "PATCH":
            await self._patch(caller, upload_id, headers, receive, response)
        elif method == "DELETE":
            await self._delete(caller, upload_id, response)
        else:
            raise _method_not_allowed("OPTIONS, HEAD, PATCH, DELETE")

    # ---------------------------------------------------------------- handlers
    def _capability_headers(self) -> dict[str, str]:
        return {
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": ",".join(TUS_EXTENSIONS),
            "Tus-Max-Size": str(self.config.max_size),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        }

    async def _authenticate(self, headers: dict[str, str]) -> Caller:
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TusError(
                401,
                "not_authenticated",
                "缺少设备凭证 / Missing device credential (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        caller = await self.store.authenticate(token=token.strip())
        if caller is None:
            raise TusError(
                401,
                "invalid_token",
                "设备凭证无效或已吊销 / Device credential is unknown or revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return caller

    async def _load(self, caller: Caller, upload_id: uuid.UUID) -> UploadInfo:
        info = await self.store.get(caller=caller, upload_id=upload_id)
        if info is None or info.status == UploadStatus.TERMINATED:
            raise _not_found()
        if info.status == UploadStatus.RECEIVING and _expired(info):
            raise TusError(
                410,
                "upload_expired",
                "上传已过期，请重新开始 / The upload has expired; start a new one",
                details={"expires_at": info.expires_at.isoformat() if info.expires_at else None},
            )
        return info

    async def _head(self, caller: Caller, upload_id: uuid.UUID, response: _Response) -> None:
        info = await self._load(caller, upload_id)
        # A PATCH read before this HEAD but not yet writing is the device's cut request
        # (the device asks HEAD only after giving a PATCH up): let it begin, then stop it,
        # so that this answer counts the bytes it received.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.lock_wait.total_seconds()
        while (
            self._incoming.get(upload_id)
            and upload_id not in self._active
            and loop.time() < deadline
        ):
            await asyncio.sleep(0.01)
        if await self._take_over(caller, upload_id):
            info = await self._load(caller, upload_id)  # the offset the old request left
        if info.status == UploadStatus.RECEIVING and info.is_complete:
            info = await self._finish_interrupted(caller, info)
        await response.send(200, {**self._upload_headers(info), "Cache-Control": "no-store"})

    async def _finish_interrupted(self, caller: Caller, info: UploadInfo) -> UploadInfo:
        """Every byte is persisted but completion never ran (killed between the two).

        A client that sees Upload-Offset == Upload-Length sends nothing more, so the
        HEAD that precedes any resume finishes the job: re-hash, hand over. If another
        request holds the lease, it will do it; answer with the state as it is.
        """

        async def no_body() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        try:
            outcome = await self._receive(
                caller=caller,
                info=info,
                start_offset=info.offset,
                new_length=None,
                checksum=None,
                receive=no_body,
            )
        except TusError as error:
            if error.status in (409, 423):
                return info
            raise
        return outcome.info

    def _upload_headers(self, info: UploadInfo) -> dict[str, str]:
        headers = {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(info.offset)}
        if info.length is None:
            headers["Upload-Defer-Length"] = "1"
        else:
            headers["Upload-Length"] = str(info.length)
        if info.metadata:
            headers["Upload-Metadata"] = encode_metadata(info.metadata)
        if info.status == UploadStatus.RECEIVING and info.expires_at is not None:
            headers["Upload-Expires"] = http_date(info.expires_at)
        if info.status != UploadStatus.RECEIVING:
            headers["FV-Upload-Status"] = str(info.status)
        return headers

    async def _create(
        self, caller: Caller, headers: dict[str, str], receive: Receive, response: _Response
    ) -> None:
        length = parse_non_negative_int(
            headers.get("upload-length"), header="Upload-Length", code="invalid_upload_length"
        )
        defer = headers.get("upload-defer-length")
        if defer is not None and defer.strip() != "1":
            raise TusError(
                400,
                "invalid_upload_defer_length",
                "Upload-Defer-Length 只能为 1 / Upload-Defer-Length must be 1",
            )
        if length is None and defer is None:
            raise TusError(
                400,
                "missing_upload_length",
                "缺少 Upload-Length 或 Upload-Defer-Length / "
                "Upload-Length or Upload-Defer-Length is required",
            )
        if length is not None and defer is not None:
            raise TusError(
                400,
                "conflicting_upload_length",
                "Upload-Length 与 Upload-Defer-Length 不能同时出现 / "
                "Send Upload-Length or Upload-Defer-Length, not both",
            )
        if length is not None:
            self._check_max_size(length)
        metadata = parse_metadata(headers.get("upload-metadata"))
        has_body = _has_body(headers)
        checksum = parse_checksum(headers.get("upload-checksum")) if has_body else None
        content_length = _content_length(headers)
        if has_body:
            _check_content_type(headers)
            limit = length if length is not None else self.config.max_size
            if content_length is not None and content_length > limit:
                raise _length_exceeded(limit)

        info = await self.store.create(
            caller=caller,
            length=length,
            metadata=metadata,
            expires_at=datetime.now(UTC) + self.config.expires_after,
        )
        extra: dict[str, str] = {}
        if has_body or (info.length == 0 and info.status == UploadStatus.RECEIVING):
            # creation-with-upload (or an empty file, complete at creation).
            outcome = await self._receive(
                caller=caller,
                info=info,
                start_offset=info.offset,
                new_length=None,
                checksum=checksum,
                receive=receive,
            )
            if outcome.interrupted:
                raise _taken_over()
            if outcome.disconnected:
                return
            info = outcome.info
            extra = outcome.extra_headers
        await response.send(
            201,
            {
                **self._upload_headers(info),
                **extra,
                "Location": f"{self.config.prefix}/{info.id}",
            },
        )

    async def _patch(
        self,
        caller: Caller,
        upload_id: uuid.UUID,
        headers: dict[str, str],
        receive: Receive,
        response: _Response,
    ) -> None:
        _check_content_type(headers)
        offset = parse_non_negative_int(
            headers.get("upload-offset"), header="Upload-Offset", code="invalid_upload_offset"
        )
        if offset is None:
            raise TusError(
                400, "missing_upload_offset", "缺少 Upload-Offset / Upload-Offset is required"
            )
        checksum = parse_checksum(headers.get("upload-checksum"))
        content_length = _content_length(headers)
        late_length = parse_non_negative_int(
            headers.get("upload-length"), header="Upload-Length", code="invalid_upload_length"
        )

        info = await self._load(caller, upload_id)
        if await self._take_over(caller, upload_id):
            info = await self._load(caller, upload_id)  # the offset the old request left
        if info.status != UploadStatus.RECEIVING:
            if offset == info.offset and not content_length:
                await response.send(204, self._upload_headers(info))
                return
            raise TusError(
                409,
                "upload_complete",
                "该上传已完成 / This upload is already complete",
                details={"offset": info.offset, "status": str(info.status)},
            )
        if offset != info.offset and not self._resend_allowed(info, offset, checksum):
            raise _offset_mismatch(info.offset, offset)
        new_length: int | None = None
        if late_length is not None:
            if info.length is None:
                self._check_max_size(late_length)
                if late_length < info.offset:
                    raise TusError(
                        400,
                        "invalid_upload_length",
                        "Upload-Length 小于已接收的字节数 / Upload-Length is below the offset",
                        details={"offset": info.offset},
                    )
                new_length = late_length
            elif late_length != info.length:
                raise TusError(
                    400,
                    "upload_length_immutable",
                    "Upload-Length 不可修改 / Upload-Length cannot change",
                    details={"upload_length": info.length},
                )
        length = new_length if new_length is not None else info.length
        limit = length if length is not None else self.config.max_size
        if content_length is not None and offset + content_length > limit:
            raise _length_exceeded(limit)

        outcome = await self._receive(
            caller=caller,
            info=info,
            start_offset=offset,
            new_length=new_length,
            checksum=checksum,
            receive=receive,
        )
        if outcome.interrupted:
            raise _taken_over()
        if outcome.disconnected:
            return
        await response.send(204, {**self._upload_headers(outcome.info), **outcome.extra_headers})

    async def _delete(self, caller: Caller, upload_id: uuid.UUID, response: _Response) -> None:
        info = await self._load(caller, upload_id)
        if info.status != UploadStatus.RECEIVING:
            raise TusError(
                409,
                "upload_complete",
                "已完成的上传不能终止 / A complete upload cannot be terminated",
                details={"status": str(info.status)},
            )
        token = uuid.uuid4()
        locked = await self.store.acquire_lock(
            caller=caller, upload_id=upload_id, token=token, lease_until=self._lease_until()
        )
        if locked is None:
            raise _locked(await self.store.get(caller=caller, upload_id=upload_id))
        try:
            await self.store.terminate(upload_id=upload_id, token=token)
            self.hashers.drop(upload_id)
            await self._run_io(remove_staging_file, info.staging_path)
        finally:
            await self.store.release_lock(upload_id=upload_id, token=token)
        await response.send(204, {"Tus-Resumable": TUS_VERSION})

    # ---------------------------------------------------------------- receiving
    async def _receive(
        self,
        *,
        caller: Caller,
        info: UploadInfo,
        start_offset: int,
        new_length: int | None,
        checksum: tuple[str, bytes] | None,
        receive: Receive,
    ) -> _Outcome:
        token = uuid.uuid4()
        locked, local_holder = await self._acquire_waiting(caller, info.id, token)
        if locked is None:
            # A request of this process still winding down frees the lease in moments.
            raise _locked(
                None if local_holder else await self.store.get(caller=caller, upload_id=info.id)
            )
        receiver = _Receiver(
            app=self,
            caller=caller,
            info=locked,
            token=token,
            start_offset=start_offset,
            new_length=new_length,
            checksum=checksum,
        )
        self._active[info.id] = receiver
        try:
            return await receiver.run(receive)
        finally:
            if self._active.get(info.id) is receiver:
                del self._active[info.id]
            try:
                await self.store.release_lock(upload_id=info.id, token=token)
            except Exception:
                logger.exception("releasing the lease of upload %s failed", info.id)
            receiver.finished.set()

    async def _acquire_waiting(
        self, caller: Caller, upload_id: uuid.UUID, token: uuid.UUID
    ) -> tuple[UploadInfo | None, bool]:
        """The lease (or None) and whether a request of this process held the upload.

        An older request of this process still on the upload is the device's own
        abandoned one: it is stopped first (its lease may not even have run out)."""
        local_holder = await self._take_over(caller, upload_id)
        locked = await self.store.acquire_lock(
            caller=caller, upload_id=upload_id, token=token, lease_until=self._lease_until()
        )
        return locked, local_holder

    async def _take_over(self, caller: Caller, upload_id: uuid.UUID) -> bool:
        """Stop the request of this process holding `upload_id` for `caller`, if any, and
        wait (at most `lock_wait`) until it has persisted its bytes and released the lease.
        True when there was one."""
        holder = self._active.get(upload_id)
        if holder is None or holder.caller.device_key != caller.device_key:
            return False
        holder.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(holder.finished.wait(), self.config.lock_wait.total_seconds())
        return True

    def _resend_allowed(
        self, info: UploadInfo, offset: int, checksum: tuple[str, bytes] | None
    ) -> bool:
        """A PATCH from below the offset is taken as a resend when it starts inside the
        window and has no request checksum (its bytes up to the offset are compared
        with the staged ones, never rewritten; a difference is 409 as usual).

        Why: a device that cut a PATCH and asked HEAD at once can be answered before
        the server has even begun reading the cut connection; by the time it resumes,
        the cut request has kept its bytes and the offset moved. A 409 there costs the
        device a whole body sent in vain and another round trip."""
        return (
            checksum is None
            and offset < info.offset
            and info.offset - offset <= self.config.resend_window
        )

    def _lease_until(self) -> datetime:
        return datetime.now(UTC) + self.config.lock_lease

    def _check_max_size(self, length: int) -> None:
        if length > self.config.max_size:
            raise TusError(
                413,
                "upload_too_large",
                "文件超过允许的最大大小 / Upload-Length exceeds the maximum upload size",
                details={"max_bytes": self.config.max_size, "upload_length": length},
                headers={"Tus-Max-Size": str(self.config.max_size)},
            )

    async def _run_io(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io, lambda: function(*args, **kwargs))


class _Receiver:
    """One request body streamed into the staging file under the upload's lease."""

    def __init__(
        self,
        *,
        app: TusApp,
        caller: Caller,
        info: UploadInfo,
        token: uuid.UUID,
        start_offset: int,
        new_length: int | None,
        checksum: tuple[str, bytes] | None,
    ) -> None:
        self.app = app
        self.caller = caller
        self.progress_reported = False
        self.store = app.store
        self.config = app.config
        self.info = info
        self.token = token
        self.start_offset = start_offset
        self.new_length = new_length
        self.length = new_length if new_length is not None else info.length
        self.checksum = checksum
        self.persisted = info.offset
        self.lease_until = datetime.now(UTC) + self.config.lock_lease
        self.staging: StagingFile | None = None
        self.pending: asyncio.Future[None] | None = None
        self.checkpoint_task: asyncio.Task[None] | None = None
        self.expires_at: datetime | None = info.expires_at
        self.request_hasher: Hasher | None = hashlib.sha256() if checksum else None
        self.start_hasher: Hasher | None = None
        self.state_lock = asyncio.Lock()
        self.client_gone = False
        self.finished = asyncio.Event()
        self.resend_left = 0
        # A newer request of the device took over: stop receiving (see `stop`).
        self.stop_requested = False
        self.task: asyncio.Task[Any] | None = None
        self.in_receive = False
        self.cancel_sent = False

    def stop(self) -> None:
        """Stop receiving now, as if the client had disconnected. A request waiting for
        body bytes (a dead mobile connection sends none, ever) is woken by cancelling
        that one wait; `_stream` recognises its own cancellation and winds down."""
        self.stop_requested = True
        if self.in_receive and self.task is not None and not self.cancel_sent:
            self.cancel_sent = True
            self.task.cancel()

    async def _next_message(self, receive: Receive) -> Message | None:
        """The next ASGI message, or None when a takeover stopped this request."""
        if self.stop_requested:
            return None
        self.in_receive = True
        try:
            return await receive()
        except asyncio.CancelledError:
            task = self.task
            # Only our own cancel is absorbed; any other (shutdown) goes on.
            if not self.cancel_sent or task is None or task.uncancel() > 0:
                raise
            return None
        finally:
            self.in_receive = False

    async def run(self, receive: Receive) -> _Outcome:
        self.task = asyncio.current_task()
        info = self.info
        if info.status == UploadStatus.TERMINATED:
            raise _not_found()
        if info.status != UploadStatus.RECEIVING or (
            info.offset != self.start_offset
            and (
                self.new_length is not None
                or not self.app._resend_allowed(info, self.start_offset, self.checksum)
            )
        ):
            raise _offset_mismatch(info.offset, self.start_offset)
        # Bytes of this request below the offset: a resend, compared and not written.
        self.resend_left = info.offset - self.start_offset
        hasher = self.app.hashers.take(info.id, info.offset)
        try:
            staging = await self.app._run_io(
                StagingFile.open,
                path=info.staging_path,
                offset=info.offset,
                hasher=hasher,
                generation=info.generation or None,
            )
        except StagingLost as lost:
            # Never a 500 loop: end this upload; the next manifest hands out a fresh one.
            self.app.hashers.drop(info.id)
            await self.store.lost(upload_id=info.id, token=self.token, detail=lost.details)
            raise
        self.staging = staging
        if self.checksum is not None:
            self.start_hasher = staging.hasher.copy()
        try:
            return await self._stream(receive, staging)
        finally:
            try:
                await self._drain()
            except Exception:
                logger.exception("staging write of upload %s failed", info.id)
            await self.app._run_io(staging.close)

    async def _stream(self, receive: Receive, staging: StagingFile) -> _Outcome:
        limit = self.length if self.length is not None else self.config.max_size
        room = limit - self.start_offset
        interrupted = False
        received = 0
        batch: list[bytes] = []
        batched = 0
        disconnected = False
        overflow = False
        while True:
            message = await self._next_message(receive)
            if message is None:
                # Taken over: end like a cut request (its bytes kept, or discarded when
                # under a request checksum), then answer 423 if the client still listens.
                disconnected = interrupted = True
                break
            if message["type"] == "http.disconnect":
                disconnected = self.client_gone = True
                break
            body = message.get("body", b"")
            if body:
                if received + len(body) > room:
                    overflow = True
                    break
                received += len(body)
                if self.resend_left:
                    body = await self._compare_resend(bytes(body), staging)
                if body:
                    batch.append(bytes(body))
                batched += len(body)
                if batched >= self.config.buffer_bytes:
                    await self._write(batch)
                    batch, batched = [], 0
            if not message.get("more_body", False):
                break
        if overflow:
            await self._drain()
            await self._rollback()
            raise _length_exceeded(limit)
        if self.checksum is not None and disconnected:
            # A cut request cannot be verified against its checksum: discard it, if the
            # upload is still ours (a late disconnect after a takeover touches nothing).
            await self._drain()
            try:
                await self._rollback()
            except TusError as error:
                if error.status != 423:
                    raise
                logger.info(
                    "upload %s: late disconnect after a takeover, nothing cut", self.info.id
                )
            return _Outcome(info=self.info, disconnected=True, interrupted=interrupted)
        if batch:
            await self._write(batch)
        await self._drain()

        if (
            self.checksum is not None
            and self.request_hasher is not None
            and self.request_hasher.digest() != self.checksum[1]
        ):
            await self._rollback()
            raise TusError(
                460,
                "checksum_mismatch",
                "校验和不匹配，本次请求的数据已丢弃 / Checksum mismatch; this request's bytes "
                "were discarded",
                details={"offset": self.start_offset},
            )

        await self.app._run_io(staging.sync)
        await self._checkpoint(staging.offset)
        info = _with(
            self.info, offset=staging.offset, length=self.length, expires_at=self.expires_at
        )
        extra: dict[str, str] = {}
        if info.is_complete:
            sha256 = staging.hasher.hexdigest()
            self.app.hashers.drop(info.id)
            info = await self.store.complete(upload_id=info.id, token=self.token, sha256=sha256)
            extra["FV-Upload-SHA256"] = sha256
        else:
            self.app.hashers.put(info.id, staging.offset, staging.hasher)
        return _Outcome(
            info=info, disconnected=disconnected, interrupted=interrupted, extra_headers=extra
        )

    async def _compare_resend(self, body: bytes, staging: StagingFile) -> bytes:
        """Check the resent head of `body` against the staged bytes; the rest of it."""
        part, rest = body[: self.resend_left], body[self.resend_left :]
        position = staging.offset - self.resend_left
        if not await self.app._run_io(staging.matches, position, part):
            logger.info("upload %s: a resend differs from the staged bytes", self.info.id)
            raise TusError(
                409,
                "offset_mismatch",
                "Upload-Offset 与服务器记录不一致 / Upload-Offset does not match the "
                "server's offset",
                details={"expected_offset": staging.offset, "upload_offset": self.start_offset},
            )
        self.resend_left -= len(part)
        return rest

    async def _write(self, data: list[bytes]) -> None:
        """Hand one batch to the I/O thread; at most one write in flight per request."""
        staging = self.staging
        assert staging is not None
        if self.pending is not None:
            pending, self.pending = self.pending, None
            await pending
        self._maybe_start_checkpoint(staging.offset)
        await self._ensure_lease()
        if self.config.io_in_thread:
            loop = asyncio.get_running_loop()
            self.pending = loop.run_in_executor(
                self.app._io, staging.write, data, self.request_hasher
            )
        else:
            staging.write(data, self.request_hasher)

    def _maybe_start_checkpoint(self, offset: int) -> None:
        """Every `checkpoint_bytes`: fdatasync then persist the offset, in the background.

        The flush of one interval overlaps the receiving of the next. Not with a request
        checksum: those bytes may still be refused as a whole at the end.
        """
        if self.checksum is not None:
            return
        if self.checkpoint_task is not None:
            if not self.checkpoint_task.done():
                return
            task, self.checkpoint_task = self.checkpoint_task, None
            task.result()  # a lost lease or a failed fsync stops the request here
        if offset - self.persisted >= self.config.checkpoint_bytes:
            self.checkpoint_task = asyncio.create_task(self._checkpoint_while_behind())

    async def _checkpoint_while_behind(self) -> None:
        staging = self.staging
        assert staging is not None
        # Loop so that a client that stalls right after a burst still gets that burst
        # persisted. `staging.offset` only moves after a write has completed, so every
        # byte below the value read here was written before the fdatasync starts.
        while (offset := staging.offset) - self.persisted >= self.config.checkpoint_bytes:
            await self.app._run_io(staging.sync)
            await self._checkpoint(offset)

    async def _drain(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            await pending
        if self.checkpoint_task is not None:
            task, self.checkpoint_task = self.checkpoint_task, None
            await task

    async def _ensure_lease(self) -> None:
        # Renew when less than two thirds of the lease remain, so a write never
        # starts on a lease that could run out before it lands.
        remaining = self.lease_until - datetime.now(UTC)
        if remaining < self.config.lock_lease * 2 / 3:
            await self._checkpoint(None)

    async def _checkpoint(self, offset: int | None) -> None:
        """Persist `offset` (None: keep the persisted one) and renew the lease."""
        async with self.state_lock:
            if offset is None:
                offset = self.persisted
            lease_until = datetime.now(UTC) + self.config.lock_lease
            expires_at = datetime.now(UTC) + self.config.expires_after
            ok = await self.store.checkpoint(
                upload_id=self.info.id,
                token=self.token,
                offset=offset,
                length=self.length,
                lease_until=lease_until,
                expires_at=expires_at,
            )
            if not ok:
                raise TusError(
                    423,
                    "upload_lock_lost",
                    "上传锁已被其他请求接管 / Another request took over this upload",
                )
            advanced = offset > self.persisted
            self.persisted = offset
            self.lease_until = lease_until
            self.expires_at = expires_at
        if advanced:
            await self._report_progress(offset)

    async def _report_progress(self, offset: int) -> None:
        first, self.progress_reported = not self.progress_reported, True
        try:
            await self.store.progress(
                caller=self.caller, upload=self.info, offset=offset, first=first
            )
        except Exception:
            logger.exception("progress report of upload %s failed", self.info.id)

    async def _rollback(self) -> None:
        """Discard this request's bytes: persisted offset, then file, back to the start.

        Both steps are fenced: the offset moves back only while this request still holds
        the lease (else 423 and nothing is touched), and the truncate only while the
        staging file's fence still carries this lease's generation. The offset goes
        first so that it never exceeds the bytes on disk.
        """
        staging = self.staging
        assert staging is not None
        if self.persisted != self.start_offset:
            await self._checkpoint(self.start_offset)
        else:
            await self._ensure_lease()
        await self.app._run_io(staging.rollback, offset=self.start_offset, hasher=self.start_hasher)
        if self.start_hasher is not None:
            self.app.hashers.put(self.info.id, self.start_offset, self.start_hasher)
        else:
            self.app.hashers.drop(self.info.id)


# -------------------------------------------------------------------- helpers
class _Response:
    def __init__(self, send: Send, *, head: bool) -> None:
        self._send = send
        self._head = head
        self.started = False

    async def send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.started = True
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        raw.append((b"content-length", str(0 if self._head else len(body)).encode()))
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": b"" if self._head else body})

    async def error(self, error: TusError) -> None:
        body = json.dumps(error.as_body(), ensure_ascii=False).encode("utf-8")
        headers = {
            "Tus-Resumable": TUS_VERSION,
            "Content-Type": "application/json; charset=utf-8",
            **error.headers,
        }
        if error.status == 412:
            headers["Tus-Version"] = TUS_VERSION
        await self.send(error.status, headers, body)


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


def _check_tus_resumable(headers: dict[str, str]) -> None:
    version = headers.get("tus-resumable")
    if version is None:
        raise TusError(
            412,
            "missing_tus_resumable",
            "缺少 Tus-Resumable 头 / The Tus-Resumable header is required",
            details={"supported": [TUS_VERSION]},
        )
    if version.strip() != TUS_VERSION:
        raise TusError(
            412,
            "unsupported_tus_version",
            "不支持的 tus 协议版本 / Unsupported tus protocol version",
            details={"requested": version[:32], "supported": [TUS_VERSION]},
        )


def _check_content_type(headers: dict[str, str]) -> None:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != OFFSET_CONTENT_TYPE:
        raise TusError(
            415,
            "unsupported_content_type",
            f"Content-Type 必须是 {OFFSET_CONTENT_TYPE} / Content-Type must be "
            f"{OFFSET_CONTENT_TYPE}",
            details={"content_type": headers.get("content-type", "")[:100]},
        )


def _content_length(headers: dict[str, str]) -> int | None:
    return parse_non_negative_int(
        headers.get("content-length"), header="Content-Length", code="invalid_content_length"
    )


def _has_body(headers: dict[str, str]) -> bool:
    if "transfer-encoding" in headers:
        return True
    length = _content_length(headers)
    return bool(length)


def _expired(info: UploadInfo) -> bool:
    return info.expires_at is not None and info.expires_at <= datetime.now(UTC)


def _with(
    info: UploadInfo, *, offset: int, length: int | None, expires_at: datetime | None
) -> UploadInfo:
    return UploadInfo(
        id=info.id,
        length=length,
        offset=offset,
        status=info.status,
        expires_at=expires_at,
        staging_path=info.staging_path,
        metadata=info.metadata,
    )


def _not_found() -> TusError:
    return TusError(404, "upload_not_found", "上传不存在 / Upload not found")


def _method_not_allowed(allowed: str) -> TusError:
    return TusError(
        405,
        "method_not_allowed",
        "不支持的请求方法 / Method not allowed",
        headers={"Allow": allowed},
    )


def _locked(info: UploadInfo | None) -> TusError:
    """423, with Retry-After: the seconds the holder's lease really has left (a holder in
    another process; one of this process was stopped instead)."""
    remaining = 1.0
    if info is not None and info.lease_until is not None:
        remaining = (info.lease_until - datetime.now(UTC)).total_seconds()
    retry_after = max(1, math.ceil(remaining))
    return TusError(
        423,
        "upload_locked",
        "该上传正被另一个请求写入，请稍后重试 / Another request is writing this upload; retry",
        details={"retry_after_seconds": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def _taken_over() -> TusError:
    return TusError(
        423,
        "upload_lock_lost",
        "上传锁已被其他请求接管 / Another request took over this upload",
    )


def _offset_mismatch(expected: int, given: int) -> TusError:
    return TusError(
        409,
        "offset_mismatch",
        "Upload-Offset 与服务器记录不一致 / Upload-Offset does not match the server's offset",
        details={"expected_offset": expected, "upload_offset": given},
    )


def _length_exceeded(limit: int) -> TusError:
    return TusError(
        413,
        "upload_length_exceeded",
        "请求体超出 Upload-Length / The body goes past Upload-Length",
        details={"upload_length": limit},
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def build_upload_app() -> ASGIApp:
    """The endpoint backed by the Django store, configured from django.conf.settings."""
    from django.conf import settings

    from sync.uploads import DjangoUploadStore, leases_release_at_start

    leases_release_at_start()
    config = TusConfig(
        max_size=settings.FV_UPLOAD_MAX_BYTES,
        expires_after=timedelta(seconds=settings.FV_UPLOAD_EXPIRY_SECONDS),
        lock_lease=timedelta(seconds=getattr(settings, "FV_UPLOAD_LOCK_LEASE_SECONDS", 15)),
        checkpoint_bytes=getattr(settings, "FV_UPLOAD_CHECKPOINT_BYTES", 64 * 1024 * 1024),
    )
    return TusApp(store=DjangoUploadStore(), config=config)


def django_app_factory() -> ASGIApp:
    """`uvicorn --factory sync.tus.app:django_app_factory`: the endpoint alone (tests, bench).

    FV_UPLOAD_LOCK_LEASE_SECONDS / FV_UPLOAD_CHECKPOINT_BYTES in the environment override
    the settings (tests shorten the lease to resume quickly after a kill -9).
    """
    import os

    import django
    from django.conf import settings

    django.setup()
    for name in ("FV_UPLOAD_LOCK_LEASE_SECONDS", "FV_UPLOAD_CHECKPOINT_BYTES"):
        if name in os.environ:
            setattr(settings, name, int(os.environ[name]))
    return build_upload_app()
