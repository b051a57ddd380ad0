"""Structured logs: one JSON object per line, every line of a request (and of the jobs it
queued) carrying its request id, and no secret in any line.

- `RequestIdASGI` (outermost in backend/config/asgi.py) gives every HTTP and websocket
  connection a request id: the caller's `X-Request-ID` when it is a plain token of 8–64
  characters (a proxy's or a device's), else a fresh one; it is answered in `X-Request-ID`.
  The tus endpoint runs before Django and gets it too. `RequestIdMiddleware` does the same
  for Django requests that did not come through ASGI (the test client, WSGI).
- `DatabaseBackend` (django-tasks-db) stores the request id beside a job's arguments, and the
  worker (`task_started`) puts it back in force while the job runs, with the job's id.
- `RedactingFilter`, on every handler, rewrites Bearer tokens, device tokens (`fvd_…`),
  Authorization/Cookie values, session and CSRF cookies and `token=` query parameters to
  `[redacted]`, in the message, its arguments and the traceback.
- `JsonFormatter`: ts (UTC, ISO 8601), level, logger, message, request_id, task_id, and
  exc for a traceback. FV_LOG_FORMAT=json selects it (docker-compose sets it); the default
  stays the plain one-line format for a developer's terminal.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from backend.config import request_metrics

UPLOAD_PREFIX = "/api/sync/v1/uploads"
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "fv_request_id", default=None
)
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("fv_task_id", default=None)
HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

REDACTED = "[redacted]"
_PATTERNS = [
    # Authorization: Bearer <token> / Basic <…> and any bare "Bearer <token>"
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:[A-Za-z]+\s+)?[^'\",\s]+"),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\bfvd_[A-Za-z0-9_-]+"), "fvd_" + REDACTED),
    (re.compile(r"(?i)\b(sessionid|csrftoken|fv_session)=[^;\s,'\"]+"), r"\1=" + REDACTED),
    (re.compile(r"(?i)([?&](?:token|access_token|code)=)[^&\s'\"]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(cookie['\"]?\s*[:=]\s*['\"]?)[^'\"\n]+"), r"\1" + REDACTED),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def current_request_id() -> str | None:
    return request_id_var.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    return value if value and _ACCEPTED.match(value) else new_request_id()


class RedactingFilter(logging.Filter):
    """Rewrites secrets out of a record (message, arguments, traceback) before any handler
    formats it; adds request_id/task_id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.task_id = task_id_var.get()
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None if record.exc_text else record.exc_info
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "task_id": getattr(record, "task_id", None),
            "process": record.process,
        }
        if record.exc_text:
            entry["exc"] = record.exc_text
        elif record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


def logging_config(*, json_lines: bool, level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "backend.config.logs.RedactingFilter"}},
        "formatters": {
            "json": {"()": "backend.config.logs.JsonFormatter"},
            "plain": {"()": "backend.config.logs.PlainFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # uvicorn's own handlers print without our filter: route them through ours.
            "uvicorn": {"handlers": ["console"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["console"], "level": level, "propagate": False},
        },
    }


# -- request ids -------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class RequestIdASGI:
    """Outermost ASGI wrapper: a request id for every HTTP/websocket connection."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = accepted_request_id(given)
        token = request_id_var.set(request_id)
        # The tus endpoint (routed before Django) is counted here (request_metrics).
        upload = scope["type"] == "http" and scope.get("path", "").startswith(UPLOAD_PREFIX)
        if upload:
            receive = _counting_receive(receive)
            request_metrics.upload_streaming(+1)

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if upload:
                    request_metrics.count_response(
                        scope.get("method", ""), "uploads", int(message.get("status", 0))
                    )
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _v in headers):
                    headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            if upload:
                request_metrics.upload_streaming(-1)


def _counting_receive(receive: Receive) -> Receive:
    async def counted() -> MutableMapping[str, Any]:
        message = await receive()
        if message.get("type") == "http.request":
            request_metrics.count_upload_bytes(len(message.get("body", b"")))
        return message

    return counted


class RequestIdMiddleware:
    """Django middleware: the request id in force (set by RequestIdASGI) or a new one, on
    `request.request_id` and in the answer's X-Request-ID."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        request_id = request_id_var.get()
        token = None
        if request_id is None:
            request_id = accepted_request_id(request.headers.get(HEADER))
            token = request_id_var.set(request_id)
        request.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            if token is not None:
                request_id_var.reset(token)
        if HEADER not in response:
            response[HEADER] = request_id
        return response


# -- jobs ----------------------------------------------------------------------------------

_task_tokens: dict[str, tuple[contextvars.Token[str | None], contextvars.Token[str | None]]] = {}


def task_started_receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """In the worker: the job's request id (stored at enqueue) and its id while it runs."""
    request_id = None
    try:
        from django_tasks_db.models import DBTaskResult

        stored = (
            DBTaskResult.objects.filter(pk=task_result.id)
            .values_list("args_kwargs", flat=True)
            .first()
        )
        if isinstance(stored, dict):
            request_id = stored.get("request_id")
    except Exception:  # another backend (immediate: the context is already the caller's)
        request_id = None
    tokens = (
        request_id_var.set(request_id or request_id_var.get()),
        task_id_var.set(str(task_result.id)),
    )
    _task_tokens[str(task_result.id)] = tokens


def task_finished_receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
    tokens = _task_tokens.pop(str(task_result.id), None)
    if tokens is not None:
        task_id_var.reset(tokens[1])
        request_id_var.reset(tokens[0])
