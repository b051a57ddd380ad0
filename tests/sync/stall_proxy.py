"""A TCP proxy in front of the real S3 server that can hold a PUT mid-body (a slow or
stuck object store), to crash a process while it is writing an object."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class StallProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stall_puts = threading.Event()  # set: a PUT's body stops after its first block
        self.put_held = threading.Event()  # a PUT is being held right now
        self._released = threading.Event()
        self._closing = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def release(self) -> None:
        """Stop holding: forward everything from now on."""
        self.stall_puts.clear()
        self._released.set()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, outbound: bool) -> None:
        in_put = False
        try:
            while True:
                block = source.recv(65536)
                if not block:
                    break
                if outbound and block.startswith(b"PUT "):
                    in_put = True
                elif outbound and in_put and self.stall_puts.is_set():
                    self.put_held.set()
                    self._released.wait()
                target.sendall(block)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closing = True
        self._released.set()
        self.listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> StallProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
