"""Content-Security-Policy on every HTML page.

The pages load only their own scripts and styles (backend/review/static: htmx, live.js,
activity.js, review.css; no inline script or style — base.html turns off htmx's injected
indicator style and its eval), so the policy is strict: an injected <script> or inline event
handler does not run. Media and images may also come from the object store (presigned
playback URLs), and the live page opens a WebSocket to this host.

The API docs (/api/docs, /api/redoc) are third-party pages with inline scripts and styles:
they get a policy that allows those but nothing from elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DOCS_PATHS = ("/api/docs", "/api/redoc")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def page_policy(request: HttpRequest) -> str:
    store = _origin(getattr(settings, "FV_S3_ENDPOINT_URL", ""))
    host = request.get_host()
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: {store}".strip(),
            f"media-src 'self' blob: {store}".strip(),
            f"connect-src 'self' ws://{host} wss://{host}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        if request.path.startswith(DOCS_PATHS):
            response["Content-Security-Policy"] = DOCS_POLICY
        else:
            response["Content-Security-Policy"] = page_policy(request)
        return response
