"""How every layout starts the ASGI server (uvicorn): one command, the same hardening.

- Proxy headers: uvicorn believes X-Forwarded-For/-Proto only from FV_TRUSTED_PROXIES (the
  same list the application reads, backend/config/client_address.py); with none configured
  it is told `--no-proxy-headers` (its default would believe 127.0.0.1, so anything on the
  same host could forge a client address).
- Header timeout: uvicorn closes idle keep-alive connections (--timeout-keep-alive) but
  has no limit for a connection that never finishes its request line and headers; such a
  connection was held forever. `HeaderTimeoutProtocol` (uvicorn's httptools protocol)
  closes it after FV_HEADER_TIMEOUT_SECONDS (default 15) counted from the connection or
  from the first byte of each request.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

APPLICATION = "backend.config.asgi:application"
DEFAULT_HEADER_TIMEOUT_SECONDS = 15.0


def header_timeout_seconds(env: Mapping[str, str] | None = None) -> float:
    raw = (env if env is not None else os.environ).get("FV_HEADER_TIMEOUT_SECONDS", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_HEADER_TIMEOUT_SECONDS
    except ValueError:
        raise SystemExit(f"FV_HEADER_TIMEOUT_SECONDS: not a number: {raw!r}") from None
    return value if value > 0 else DEFAULT_HEADER_TIMEOUT_SECONDS


def trusted_proxies(env: Mapping[str, str]) -> list[str]:
    return [item.strip() for item in env.get("FV_TRUSTED_PROXIES", "").split(",") if item.strip()]


def uvicorn_command(
    *, host: str, port: int, env: Mapping[str, str], access_log: bool = True
) -> list[str]:
    """The uvicorn command line for one web process of any layout."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        APPLICATION,
        "--host",
        host,
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--http",
        "ops.web:HeaderTimeoutProtocol",
        "--timeout-keep-alive",
        "5",
    ]
    proxies = trusted_proxies(env)
    if proxies:
        command += ["--proxy-headers", "--forwarded-allow-ips", ",".join(proxies)]
    else:
        command += ["--no-proxy-headers"]
    if not access_log:
        command.append("--no-access-log")
    return command


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request line and headers
    are not complete within the header timeout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout_seconds()
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()


def main(argv: list[str] | None = None) -> None:
    """`python -m ops.web --host 0.0.0.0 --port 8000` (docker-compose): exec uvicorn."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ops.web")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    command = uvicorn_command(host=args.host, port=args.port, env=os.environ)
    os.execv(command[0], command)  # noqa: S606 (our own interpreter, a fixed argument list)


if __name__ == "__main__":
    main()
