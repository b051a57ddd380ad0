"""Django's ASGI handler, with the whole synchronous request path in one thread switch.

Every view of this project is synchronous, and so is every middleware we load (Django's
own). Django's stock ASGI handler builds an *async* middleware chain and runs each sync
middleware's request and response hooks through ``sync_to_async`` separately: two
thread switches per middleware, about twenty per request. Measured with uvicorn on the
2-core development machine (tests/bench/bench_tablet_sync.py, one request at a time): a
trivial authenticated API GET cost 13.7 ms of server CPU that way, against 6–8 ms for the
same request through Django's test client. Here the chain is loaded synchronously and
the whole of it — middleware, view, response hooks — runs in one ``sync_to_async`` call,
as under WSGI; the body is still read and the response still sent by the async handler.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # thread_sensitive: the same thread as every other sync call of this process, as
        # Django's own handler does for sync views (database connections are per thread).
        response: Any = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        return response  # type: ignore[no-any-return]
