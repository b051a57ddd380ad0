"""ASGI entry point: uploads, websockets and everything else.

The tus upload endpoint is a plain ASGI callable routed *before* Django: Django's ASGI
handler reads a whole request body into a temporary file before any view runs, and an
upload must be written to disk exactly once (shared/FACTS.md).
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")

import django

django.setup(set_prefix=False)

from backend.config.handlers import SyncChainASGIHandler  # noqa: E402

# Not django.core.asgi.get_asgi_application(): see backend/config/handlers.py.
django_application = SyncChainASGIHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from backend.config.routing import websocket_application  # noqa: E402
from sync.tus.app import build_upload_app  # noqa: E402

UPLOAD_PREFIX = "/api/sync/v1/uploads"

from backend.config.body_limit import BodyLimit  # noqa: E402

_upload_application = build_upload_app()
_django_http = BodyLimit(
    (
        ASGIStaticFilesHandler(django_application)
        if getattr(settings, "FV_SERVE_STATIC", True)
        else django_application
    ),
    max_bytes=settings.FV_MAX_REQUEST_BYTES,
)


async def http_application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path: str = scope.get("path", "")
    if path == UPLOAD_PREFIX or path.startswith(UPLOAD_PREFIX + "/"):
        await _upload_application(scope, receive, send)
    else:
        await _django_http(scope, receive, send)


from backend.config.logs import RequestIdASGI  # noqa: E402

# A request id for every connection, outermost: the tus endpoint's lines carry it too.
application = RequestIdASGI(
    ProtocolTypeRouter(
        {
            "http": http_application,
            "websocket": websocket_application,
        }
    )
)
