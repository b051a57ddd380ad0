"""What a view needs to know about the request beyond Django's own."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings

from backend.config.client_address import IPNetwork, client_address, networks_parse


@functools.lru_cache(maxsize=4)
def _trusted_proxies(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return networks_parse(entries)


def client_ip(request: Any) -> str | None:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For when REMOTE_ADDR is one of
    FV_TRUSTED_PROXIES (backend/config/client_address.py)."""
    if request is None:
        return None
    return client_address(
        remote_addr=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted_proxies=_trusted_proxies(tuple(getattr(settings, "FV_TRUSTED_PROXIES", ()))),
    )
