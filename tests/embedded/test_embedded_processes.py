"""The real `python -m ops.embedded` (what `make run` runs) on a temporary var dir and free
ports: a failing demo stops every child and frees the ports; a worker killed with SIGKILL
is restarted; SIGTERM stops everything. Children are found by scanning /proc for processes
whose environment names this test's var dir, independently of the supervisor's own books."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ops.ports import free_port, port_free

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def stack_processes(var: Path) -> dict[int, str]:
    """pid → command line of every live process started for this var dir."""
    found = {}
    marker = f"FV_VAR_DIR={var}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, PermissionError):
            continue
        if re.search(r"^State:\s+Z", status, re.MULTILINE):
            continue  # a zombie holds nothing
        if marker in environ.split(b"\0"):
            found[int(entry.name)] = cmdline
    found.pop(os.getpid(), None)
    return found


class Embedded:
    """One `python -m ops.embedded`, its output collected line by line."""

    def __init__(self, tmp_path: Path, **extra: str) -> None:
        self.var = (tmp_path / "var").resolve()
        self.web_port = free_port()
        self.s3_port = free_port()
        self.tsa_port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "FV_", "DATABASE_URL", "REDIS"))
        }
        env.update(
            FV_VAR_DIR=str(self.var),
            FV_PORT=str(self.web_port),
            FV_S3_PORT=str(self.s3_port),
            FV_TSA_PORT=str(self.tsa_port),
            FV_DEMO_PASSWORD="demo-pass-1",
            PYTHONPATH=str(ROOT),
            **extra,
        )
        self.lines: list[str] = []
        self.seen: dict[int, str] = {}  # every stack process ever sampled
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ops.embedded"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while self.process.poll() is None:
            self.seen.update(stack_processes(self.var))
            time.sleep(0.1)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.process.poll() is not None:
                self.reader.join(timeout=5)
                pytest.fail(f"ops.embedded exited ({self.process.returncode}):\n{self.output}")
            time.sleep(0.2)
        pytest.fail(f"no line matching {pattern!r} in {timeout}s:\n{self.output}")

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return code

    def kill_everything(self) -> None:
        """Test clean-up only: whatever survived (it should be nothing) is killed."""
        if self.process.poll() is None:
            self.process.kill()
        for pid in stack_processes(self.var):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def embedded_factory(tmp_path: Path) -> Iterator[list[Embedded]]:
    started: list[Embedded] = []
    yield started
    for stack in started:
        stack.kill_everything()


def wait_until_gone(var: Path, timeout: float = 10) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while (left := stack_processes(var)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_a_failing_demo_stops_every_child_and_frees_the_ports(
    tmp_path: Path, embedded_factory: list[Embedded]
) -> None:
    # The demo camera's ffmpeg fails after SeaweedFS, web, worker and scheduler are up.
    stack = Embedded(tmp_path, FV_FFMPEG="/bin/false")
    embedded_factory.append(stack)
    code = stack.wait(timeout=240)

    assert "FieldVault is running" in stack.output
    children = stack.seen.values()
    assert any("uvicorn" in c for c in children), stack.seen
    assert any("fieldvault_worker" in c for c in children), stack.seen
    assert any("ops.scheduler" in c for c in children), stack.seen
    assert any("weed" in c and " mini" in c for c in children), stack.seen
    assert any("provenance.local_tsa" in c for c in children), stack.seen

    assert code != 0
    failure = [line for line in stack.lines if line.startswith("fieldvault: start-up failed")]
    assert len(failure) == 1, stack.output
    assert "demo camera" in failure[0]
    assert "Traceback" not in "\n".join(stack.lines[-3:])
    assert wait_until_gone(stack.var) == {}
    assert port_free(stack.web_port)
    assert port_free(stack.s3_port)
    assert port_free(stack.tsa_port)


DEMO_STATE = """
import json
from backend.footage.models import Recording
from backend.review.models import AccessRequest
print(json.dumps({
    "clips": [
        [r.state, getattr(getattr(r, "processing", None), "state", ""),
         r.officer.user.username if r.officer and r.officer.user else None]
        for r in Recording.objects.select_related("officer__user")
    ],
    "requests": [[a.requester.username, a.state] for a in AccessRequest.objects.all()],
}))
"""


def demo_state(stack: Embedded) -> dict[str, Any]:
    """Read the stack's own database (SQLite under its var dir) with manage.py shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FV_"))}
    env.update(DJANGO_SETTINGS_MODULE="backend.config.settings", FV_VAR_DIR=str(stack.var))
    out = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", DEMO_STATE],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    state: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return state


def test_the_demo_clips_end_ready_as_the_demo_officers_and_a_killed_worker_is_restarted(
    tmp_path: Path, embedded_factory: list[Embedded]
) -> None:
    stack = Embedded(tmp_path)
    embedded_factory.append(stack)
    stack.wait_for_line(r"Ctrl\+C stops everything", timeout=240)
    assert "stored 6, deleted 6, kept {}" in stack.output
    deadline = time.monotonic() + 120
    while True:
        state = demo_state(stack)
        if all(clip[1] == "ready" for clip in state["clips"]) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert state["clips"] == [["stored", "ready", "demo-field-officer"]] * 6
    assert state["requests"] == [["demo-legal-officer", "pending"]]
    workers = [p for p, c in stack_processes(stack.var).items() if "fieldvault_worker" in c]
    assert len(workers) == 1
    os.kill(workers[0], signal.SIGKILL)

    stack.wait_for_line(rf"worker \(pid {workers[0]}\) exited with code -9; restarting", 30)
    stack.wait_for_line(r"worker restarted \(pid \d+, restart #1\)", 30)
    new_workers = [p for p, c in stack_processes(stack.var).items() if "fieldvault_worker" in c]
    assert len(new_workers) == 1 and new_workers != workers
    assert stack.process.poll() is None  # the rest kept running
    with socket.create_connection(("127.0.0.1", stack.web_port), timeout=5):
        pass

    # SeaweedFS dying is no reason to stop either: its runner exits and is restarted, and
    # S3 answers again on the same port.
    weeds = [p for p, c in stack_processes(stack.var).items() if "weed" in c and " mini" in c]
    assert len(weeds) == 1
    os.kill(weeds[0], signal.SIGKILL)
    stack.wait_for_line(r"seaweedfs \(pid \d+\) exited with code \d+; restarting", 30)
    stack.wait_for_line(r"seaweedfs restarted \(pid \d+, restart #1\)", 30)
    deadline = time.monotonic() + 60
    while port_free(stack.s3_port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not port_free(stack.s3_port)
    assert stack.process.poll() is None

    stack.process.send_signal(signal.SIGTERM)
    assert stack.wait(timeout=60) == 0
    assert "fieldvault: SIGTERM received; stopping" in stack.output
    assert wait_until_gone(stack.var) == {}
    assert port_free(stack.web_port)
    assert port_free(stack.s3_port)


def test_ctrl_c_during_start_up_stops_every_child(
    tmp_path: Path, embedded_factory: list[Embedded]
) -> None:
    stack = Embedded(tmp_path, FV_DEMO_SYNC="0")
    embedded_factory.append(stack)
    stack.wait_for_line(r"SeaweedFS S3 ready", timeout=120)  # migrate runs next
    stack.process.send_signal(signal.SIGINT)

    assert stack.wait(timeout=60) == 128 + signal.SIGINT
    assert "fieldvault: SIGINT received; stopping" in stack.output
    assert "FieldVault is running" not in stack.output
    assert wait_until_gone(stack.var) == {}
    assert port_free(stack.s3_port)
    assert port_free(stack.web_port)
