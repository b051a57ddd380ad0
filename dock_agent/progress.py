"""Per-slot progress: JSON lines for a dock display, a bar per camera on a terminal."""

from __future__ import annotations

import datetime
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any


@dataclass
class SlotProgress:
    slot: str
    serial: str = ""
    state: str = "identifying"  # identifying | hashing | uploading | waiting | done | error
    files: int = 0
    files_stored: int = 0
    files_deleted: int = 0
    bytes_total: int = 0
    bytes_received: int = 0  # acknowledged by the server (tus offsets)
    bytes_stored: int = 0  # answered `stored`: safe to delete
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def eta_seconds(self) -> float | None:
        elapsed = time.monotonic() - self.started
        if self.bytes_received <= 0 or elapsed <= 0 or self.bytes_total <= 0:
            return None
        rate = self.bytes_received / elapsed
        return max(0.0, (self.bytes_total - self.bytes_received) / rate)


class Progress:
    """Thread-safe; each update writes one JSON line (throttled while bytes flow)."""

    def __init__(self, target: str, *, terminal: bool | None = None):
        self._lock = threading.Lock()
        self._slots: dict[str, SlotProgress] = {}
        self._out: IO[str] | None
        if target == "-":
            self._out = sys.stdout
        elif target:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out = path.open("a", encoding="utf-8", buffering=1)
        else:
            self._out = None
        self._terminal = sys.stderr.isatty() if terminal is None else terminal
        self._last_line = 0.0

    def slot(self, slot: str) -> SlotProgress:
        with self._lock:
            return self._slots.setdefault(slot, SlotProgress(slot=slot))

    def reset(self, slot: str, serial: str) -> SlotProgress:
        with self._lock:
            self._slots[slot] = SlotProgress(slot=slot, serial=serial)
            return self._slots[slot]

    def emit(self, slot: str, event: str, *, force: bool = True, **extra: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_line < 0.5:
                return
            self._last_line = now
            state = self._slots.get(slot) or SlotProgress(slot=slot)
            line = {
                "at": datetime.datetime.now(datetime.UTC).isoformat(),
                "event": event,
                **{k: v for k, v in asdict(state).items() if k != "started"},
                "eta_seconds": state.eta_seconds(),
                **extra,
            }
            if self._out is not None:
                self._out.write(json.dumps(line, ensure_ascii=False) + "\n")
                self._out.flush()
            if self._terminal:
                self._draw()

    def _draw(self) -> None:
        rows = []
        for slot in sorted(self._slots):
            s = self._slots[slot]
            total = max(s.bytes_total, 1)
            done = int(30 * s.bytes_received / total)
            stored = int(30 * s.bytes_stored / total)
            bar = "#" * stored + "=" * max(0, done - stored) + "." * (30 - max(done, stored))
            eta = s.eta_seconds()
            rows.append(
                f"[{slot:>4}] {s.serial[:18]:<18} [{bar}] {s.files_stored}/{s.files} "
                f"{s.bytes_received / 1e6:8.1f}/{s.bytes_total / 1e6:.1f} MB "
                f"{s.state:<9} {'' if eta is None else f'ETA {eta:5.0f}s'}"
                + (f" ! {s.errors[-1][:40]}" if s.errors else "")
            )
        sys.stderr.write("\x1b[s" + "\n".join(rows) + "\x1b[u")
        sys.stderr.flush()
