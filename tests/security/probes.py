"""What an unauthenticated client on the same host can do with a TCP port.

`listening_ports` finds every port a process tree listens on (its socket inodes in
/proc/<pid>/fd matched against /proc/net/tcp{,6} LISTEN rows); `unauthenticated_access`
tries the three ways in: plain HTTP/1.1, plaintext HTTP/2 (gRPC without TLS) and TLS
without a client certificate, and says which of them got an answer.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterable
from pathlib import Path

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
# Go's TLS server answers a plaintext HTTP request with this and serves nothing.
TLS_ONLY = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server"


def process_tree(roots: Iterable[int]) -> set[int]:
    pids = set(roots)
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in pids and pid not in pids:
                pids.add(pid)
                grew = True
    return pids


def listening_ports(pids: Iterable[int]) -> set[int]:
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(payload)
        received = b""
        try:
            while len(received) < 200:
                chunk = sock.recv(200)
                if not chunk:
                    break
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return received


def _tls_without_certificate(port: int) -> bytes | None:
    """The server's first bytes to a TLS client that has no certificate; None if refused."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=3) as sock,
            context.wrap_socket(sock, server_hostname="localhost") as tls,
        ):
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return tls.recv(200)  # TLS 1.3: the certificate_required alert arrives here
    except (ssl.SSLError, ConnectionResetError, TimeoutError):
        return None


def unauthenticated_access(port: int) -> list[str]:
    """The ways a client without credentials got a service answer (empty: refused)."""
    got = []
    http = _exchange(port, b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    if http and not http.startswith(TLS_ONLY):
        got.append(f"plain HTTP answered {http[:40]!r}")
    h2 = _exchange(port, H2_PREFACE)
    # A plaintext gRPC server answers the preface with a SETTINGS frame (type 0x04).
    if len(h2) >= 9 and h2[3] == 0x04:
        got.append("plaintext HTTP/2 (gRPC) answered")
    elif h2 and not h2.startswith(TLS_ONLY):
        got.append(f"plaintext HTTP/2 preface answered {h2[:40]!r}")
    tls = _tls_without_certificate(port)
    if tls:
        got.append(f"TLS without a client certificate answered {tls[:40]!r}")
    return got
