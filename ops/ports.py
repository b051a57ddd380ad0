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


def ephemeral_low() -> int:
    """The lowest port the kernel hands out by itself."""
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def port_free(port: int) -> bool:
    """Nothing listens on it and a new server can bind it (TIME_WAIT leftovers of closed
    connections do not count, as for any server using SO_REUSEADDR)."""
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


# Ports this process has handed out, so two calls in a row never give the same one before
# the first is bound.
_handed_out: set[int] = set()


def free_port() -> int:
    """A free loopback TCP port below the ephemeral range (see the module's note)."""
    top = ephemeral_low() - 1
    if top < _LOWEST + 1000:  # an unusual range reaching down low: take the kernel's choice
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])
    for _ in range(200):
        port = random.randint(_LOWEST, top)
        if port not in _handed_out and port_free(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port between {_LOWEST} and {top}")
