"""A cap on request bodies, before Django reads them and before any authentication.

Django's ASGI handler reads the whole body into a temporary file before middleware or a
view runs: an unauthenticated 315 MB POST to /api/sync/v1/enrol was read in full before its
400. This ASGI wrapper answers 413 at once when Content-Length is over FV_MAX_REQUEST_BYTES,
and stops a body without Content-Length (chunked) as soon as it passes the cap. Uploads
never come here (the tus endpoint is routed before it, with its own limits).
"""

from __future__ import annotations

import json
from typing import Any

from backend.config.errors import error_body

Scope = dict[str, Any]


def _too_large_body(max_bytes: int) -> bytes:
    return json.dumps(
        error_body(
            "payload_too_large",
            "The request body is larger than the server accepts.",
            {"max_bytes": max_bytes},
        )
    ).encode()


async def _send_413(send: Any, max_bytes: int) -> None:
    body = _too_large_body(max_bytes)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            await _send_413(send, self.max_bytes)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message: dict[str, Any] = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    return {"type": "http.disconnect"}  # Django stops reading: RequestAborted
            return message

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracked_send)
        if exceeded and not started:
            await _send_413(send, self.max_bytes)
