"""Run the upload endpoint as a real uvicorn subprocess on a free loopback port.

Used by the tus tests and the upload benchmarks: stock clients talk to a real server,
and a test can kill -9 it mid-request and start it again on the same port.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from ops.ports import free_port


class UvicornServer:
    """`with UvicornServer(factory="sync.tus.app:django_app_factory", env={...}) as server:`"""

    def __init__(
        self,
        *,
        factory: str,
        env: dict[str, str],
        port: int | None = None,
        workers: int = 1,
        log_path: Path | None = None,
        cwd: Path | None = None,
        app_dir: Path | None = None,
    ) -> None:
        self.factory = factory
        self.env = {**os.environ, **env}
        self.port = port or free_port()
        self.workers = workers
        self.log_path = log_path
        self.cwd = cwd or Path(__file__).resolve().parents[2]
        self.app_dir = app_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *, timeout: float = 30.0) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            self.factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--lifespan",
            "off",
            "--workers",
            str(self.workers),
            "--timeout-graceful-shutdown",
            "2",
        ]
        if self.app_dir is not None:
            command += ["--app-dir", str(self.app_dir)]
        log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"uvicorn exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"uvicorn did not listen on {self.port} within {timeout}s")

    def kill9(self) -> None:
        """SIGKILL the server (and, with workers, its whole process group's children)."""
        assert self.process is not None
        if self.workers > 1:
            for child in _children(self.process.pid):
                os.kill(child, signal.SIGKILL)
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> UvicornServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc/<pid>/status."""
    values = {"VmRSS": 0, "VmHWM": 0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


class AsgiResponse:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<AsgiResponse {self.status} {self.headers} {self.body[:200]!r}>"


async def asgi_request(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    chunks: list[bytes] | None = None,
    disconnect: bool = False,
) -> AsgiResponse | None:
    """Call an ASGI app in-process, feeding the body as the given `http.request` chunks.

    `disconnect=True` delivers `http.disconnect` after the chunks (a cut connection);
    then no response is expected and None is returned when the app sent none.
    """
    chunks = list(chunks or [])
    messages: list[dict[str, Any]] = []
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        messages.append(
            {"type": "http.request", "body": chunk, "more_body": disconnect or not last}
        )
    if not chunks and not disconnect:
        messages.append({"type": "http.request", "body": b"", "more_body": False})
    if disconnect:
        messages.append({"type": "http.disconnect"})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if not sent:
        return None
    start = sent[0]
    response_headers = {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in start["headers"]
    }
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return AsgiResponse(start["status"], response_headers, body)
