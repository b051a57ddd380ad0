"""Ports for servers this project starts on loopback (embedded stack, SeaweedFS, test servers).

A port found with `bind(("127.0.0.1", 0))` comes from the kernel's ephemeral range, the same
range every outgoing connection draws its local port from. Between choosing it and the
server binding it (SeaweedFS takes seconds to bring up its components, `ops.embedded` starts
the web process last) any client socket on the machine may take it: CI once saw the web
process fail with "address already in use" that way. So a listening port is chosen *below*
the ephemeral range, where the kernel never hands out ports on its own, and checked free.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10000  # above the registered services people run on a workstation


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(x) for x in _RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default
    return low, high


def port_free(port: int) -> bool:
    """Nothing listens on it and a new server can bind it."""
    with socket.socket() as client:
        client.settimeout(0.5)
        if client.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(*, taken: set[int] | None = None) -> int:
    """A free loopback TCP port outside the ephemeral range (see the module's note)."""
    low, _high = ephemeral_range()
    taken = taken if taken is not None else _handed_out
    top = low - 1 if low - 1 > _LOWEST + 1000 else 65535
    if top == 65535:  # an unusual range reaching down low: fall back to the kernel's choice
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])
    for _ in range(200):
        port = random.randint(_LOWEST, top)
        if port not in taken and port_free(port):
            taken.add(port)
            return port
    raise RuntimeError(f"no free port between {_LOWEST} and {top}")


# Ports this process has handed out already, so two calls in a row never give the same one
# before the first is bound.
_handed_out: set[int] = set()
