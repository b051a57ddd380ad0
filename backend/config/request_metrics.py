"""Per-process request counters for /metrics: responses by route and status class, and the
bytes upload bodies brought in. Each web process counts its own (Prometheus scrapes every
process, or sums them: `sum by (route, status) (rate(fieldvault_http_responses_total[5m]))`).

Django requests are counted by the route pattern (`api/sync/v1/manifest`, never the path
with ids); the tus endpoint, routed before Django, by `RequestIdASGI` as `uploads`."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_responses: Counter[tuple[str, str, str]] = Counter()  # (method, route, status class)
_upload_bytes = 0
_uploads_streaming = 0


def count_response(method: str, route: str, status: int) -> None:
    with _lock:
        _responses[(method, route or "unmatched", f"{status // 100}xx")] += 1


def count_upload_bytes(size: int) -> None:
    global _upload_bytes
    with _lock:
        _upload_bytes += size


def upload_streaming(delta: int) -> None:
    global _uploads_streaming
    with _lock:
        _uploads_streaming += delta


def snapshot() -> tuple[dict[tuple[str, str, str], int], int, int]:
    with _lock:
        return dict(_responses), _upload_bytes, _uploads_streaming


class ResponseCountMiddleware:
    """Counts each Django response by method, route pattern and status class."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else ""
        count_response(request.method or "", route, response.status_code)
        return response
