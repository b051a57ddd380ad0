"""`make run`: the embedded stack on one machine, with a small demo.

SQLite, the in-memory channel layer, SeaweedFS `weed mini` on loopback, the ASGI server
on http://127.0.0.1:8000, one worker and the scheduler. Everything binds to 127.0.0.1.

Every child runs in its own process group and is stopped with its whole group (SIGTERM,
then SIGKILL after a grace period), and each child is told by the kernel to stop when this
process dies. Any failure during start-up or the demo stops every child and exits non-zero
with one line; Ctrl+C and SIGTERM stop everything too. Once the stack is up, a child that
dies (web, worker, scheduler, SeaweedFS) is restarted with back-off and logged: one crash
is never a reason to stop the rest.

Environment: FV_VAR_DIR (default ./var), FV_HOST/FV_PORT (web, default 127.0.0.1:8000),
FV_S3_PORT (default 8333), FV_DEMO_SYNC=0 skips the demo camera's sync,
FV_DEMO_PASSWORD (random if empty). Without FV_TSA_URL a local test RFC 3161 TSA is started
too (FV_TSA_PORT, default 8318) to timestamp the daily integrity roots.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from ops.seaweed import SeaweedServer
from ops.web import uvicorn_command

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
GRACE_SECONDS = 15.0
# Back-off between restarts of a child that died: 1, 2, 4 … capped; reset after a long run.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
HEALTHY_AFTER = 60.0

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the kernel sends SIGTERM to this child when the embedded supervisor dies,
    even by SIGKILL, so nothing is left holding the ports."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def log(line: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] fieldvault: {line}", flush=True)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. A BaseException, like KeyboardInterrupt: a step's own
    `except Exception` (SeaweedServer.wait_ready retries on any error) must not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StepFailed(RuntimeError):
    """A start-up step or the demo failed; the message is the one line the user reads."""


@dataclass
class Child:
    """A long-running child process, restarted with back-off when it dies."""

    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


@dataclass
class Supervisor:
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)
    transient: list[subprocess.Popen[bytes]] = field(default_factory=list)
    stopping: bool = False

    def _spawn(self, command: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            list(command),
            env=kwargs.pop("env", self.env),
            cwd=ROOT,
            start_new_session=True,  # own process group: stopped as a whole
            preexec_fn=_die_with_parent,
            **kwargs,
        )

    # -- one-shot steps (migrate, demo_load …) -------------------------------------------
    def run_step(self, name: str, command: Sequence[str], *, capture: bool = False) -> str:
        process = self._spawn(command, stdout=subprocess.PIPE if capture else None)
        self.transient.append(process)
        out, _ = process.communicate()  # an interruption leaves it listed: stop_all ends it
        self.transient.remove(process)
        if process.returncode != 0:
            raise StepFailed(
                f"{name} failed (exit code {process.returncode}; see its output above)"
            )
        return out.decode() if capture and out else ""

    def manage(self, *args: str, capture: bool = False) -> str:
        return self.run_step(
            f"manage.py {args[0]}", [PY, str(ROOT / "manage.py"), *args], capture=capture
        )

    # -- long-running children -----------------------------------------------------------
    def start(self, name: str, command: list[str]) -> Child:
        child = Child(name=name, command=command, env=self.env)
        self.children.append(child)
        self._launch(child)
        return child

    def _launch(self, child: Child) -> None:
        child.process = self._spawn(child.command, env=child.env)
        child.started_at = time.monotonic()
        child.restart_at = None

    def check_alive(self, *names: str) -> None:
        """During start-up a child that dies is a start-up failure."""
        for child in self.children:
            if (not names or child.name in names) and child.process is not None:
                code = child.process.poll()
                if code is not None:
                    raise StepFailed(f"{child.name} exited during start-up (exit code {code})")

    def supervise_once(self) -> None:
        """Restart children that died, with back-off; log each death and each restart."""
        now = time.monotonic()
        for child in self.children:
            if self.stopping or child.process is None:
                continue
            code = child.process.poll()
            if code is None:
                if now - child.started_at > HEALTHY_AFTER:
                    child.backoff = BACKOFF_FIRST
                continue
            if child.restart_at is None:
                _kill_group(child.process.pid, signal.SIGKILL)  # leftovers of its group
                if now - child.started_at > HEALTHY_AFTER:
                    child.backoff = BACKOFF_FIRST
                child.restart_at = now + child.backoff
                log(
                    f"{child.name} (pid {child.process.pid}) exited with code {code}; "
                    f"restarting in {child.backoff:.0f}s"
                )
                child.backoff = min(child.backoff * 2, BACKOFF_MAX)
            elif now >= child.restart_at:
                child.restarts += 1
                self._launch(child)
                log(f"{child.name} restarted (pid {child.pid}, restart #{child.restarts})")

    def stop_all(self) -> None:
        """SIGTERM every child's process group, wait, then SIGKILL what is left."""
        self.stopping = True
        processes = [c.process for c in reversed(self.children) if c.process is not None]
        processes += list(self.transient)
        for process in processes:
            _kill_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            _kill_group(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)


def _kill_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def wait_http(url: str, supervisor: Supervisor, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor.check_alive()
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own loopback server
            return
        except Exception as exc:
            if getattr(exc, "code", None):  # any HTTP answer means the server is up
                return
            time.sleep(0.3)
    raise StepFailed(f"{url} did not answer in {timeout:.0f}s")


def wait_seaweed(server: SeaweedServer, supervisor: Supervisor, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        supervisor.check_alive("seaweedfs")
        try:
            server.wait_ready(timeout=min(5.0, max(0.5, deadline - time.monotonic())))
            return
        except RuntimeError as exc:
            if time.monotonic() >= deadline:
                raise StepFailed(f"SeaweedFS did not become ready: {exc}") from exc


def start_local_tsa(env: dict[str, str], supervisor: Supervisor, var: Path) -> None:
    """Without FV_TSA_URL the day roots are stamped by a real local RFC 3161 TSA
    (provenance/local_tsa.py: openssl ts -reply, a test CA made at first start in
    var/tsa), supervised like the other children. Production names a real TSA."""
    from provenance.local_tsa import authority_make

    directory = var / "tsa"
    authority_make(directory)
    port = int(env.get("FV_TSA_PORT", "8318"))
    env["FV_TSA_URL"] = f"http://127.0.0.1:{port}/"
    env.setdefault("FV_TSA_TRUST_ANCHOR", str(directory / "ca.pem"))
    log(f"starting the local test TSA on 127.0.0.1:{port} (set FV_TSA_URL for a real one) …")
    supervisor.start(
        "tsa", [PY, "-m", "provenance.local_tsa", "--dir", str(directory), "--port", str(port)]
    )
    deadline = time.monotonic() + 30
    while True:
        supervisor.check_alive("tsa")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if time.monotonic() > deadline:
            raise StepFailed(f"the local TSA did not listen on 127.0.0.1:{port} within 30 s")
        time.sleep(0.2)


def _handle_signal(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def run(env: dict[str, str], supervisor: Supervisor, on_up: Callable[[], None]) -> None:
    var = Path(env["FV_VAR_DIR"])
    host = env.get("FV_HOST", "127.0.0.1")
    port = int(env.get("FV_PORT", "8000"))
    from media.tools import describe

    log(describe())
    s3_port = int(env.get("FV_S3_PORT", "8333"))
    weed = SeaweedServer(
        data_dir=var / "seaweedfs",
        s3_port=s3_port,
        access_key=env.get("FV_S3_ACCESS_KEY", "fieldvault-embedded"),
        secret_key=env.get("FV_S3_SECRET_KEY", "fieldvault-embedded-secret"),
    )
    env["FV_S3_ENDPOINT_URL"] = weed.endpoint_url
    log(f"starting SeaweedFS (S3 on 127.0.0.1:{s3_port}) …")
    supervisor.start(
        "seaweedfs",
        [PY, "-m", "ops.seaweed", "--dir", str(var / "seaweedfs"), "--s3-port", str(s3_port)],
    )
    wait_seaweed(weed, supervisor)
    if not env.get("FV_TSA_URL"):
        start_local_tsa(env, supervisor, var)
    supervisor.manage("migrate", "--noinput", "-v", "0")
    supervisor.manage("storage_init")
    if env.get("DATABASE_URL", "sqlite:").startswith("sqlite:"):
        # Continuous backup of the SQLite file to S3 (ops/litestream.py); no port.
        log("starting Litestream (continuous backup of the database to S3) …")
        supervisor.start("litestream", [PY, "-m", "ops.litestream", "replicate"])
    roster = ROOT / "mobile_contract" / "examples" / "officers.csv"
    demo = json.loads(
        supervisor.manage(
            "demo_load",
            "--roster",
            str(roster),
            "--password",
            env.get("FV_DEMO_PASSWORD", ""),
            capture=True,
        )
    )
    supervisor.start(
        "web",
        uvicorn_command(host=host, port=port, env=env, access_log=False),
    )
    worker_command = env.get("FV_WORKER_COMMAND", "fieldvault_worker")
    supervisor.start("worker", [PY, str(ROOT / "manage.py"), worker_command])
    supervisor.start("scheduler", [PY, "-m", "ops.scheduler"])
    wait_http(f"http://{host}:{port}/api/openapi.json", supervisor)

    print("\nFieldVault is running (embedded stack):", flush=True)
    print(f"  web + API      http://{host}:{port}/   (API docs: /api/docs)")
    print(f"  S3 (SeaweedFS) {weed.endpoint_url}")
    print(f"  demo users     {', '.join(demo['users'].values())}  password: {demo['password']}")
    print(f"  demo camera    device {demo['device_id']}", flush=True)
    print(f"  destruction    {', '.join(demo.get('leaders', []))} (same password)")
    for line in demo.get("work", []):
        print(f"  demo: {line}", flush=True)

    if env.get("FV_DEMO_SYNC", "1") == "1" and demo.get("clip_starts"):
        demo_sync(env, supervisor, demo, f"http://{host}:{port}")
    on_up()
    print("\nCtrl+C stops everything.", flush=True)
    while True:
        supervisor.supervise_once()
        time.sleep(0.5)


def demo_sync(env: dict[str, str], supervisor: Supervisor, demo: dict[str, Any], base: str) -> None:
    """The demo camera docks: its clips go through the real sync protocol, then the legal
    officer asks to copy them (waiting for the demo supervisor's decision)."""
    from mobile_contract.simulator import DeviceClient, generate_clips, sync_folder

    var = Path(env["FV_VAR_DIR"])
    starts = [datetime.datetime.fromisoformat(text) for text in demo["clip_starts"]]
    folder = var / "demo-camera"
    print(f"\ndemo: the body camera docks with {len(starts)} clips recorded offline", flush=True)
    try:
        shutil.rmtree(folder, ignore_errors=True)
        generate_clips(folder, count=len(starts), starts=starts)
        client = DeviceClient(base, demo["device_token"])
        report = sync_folder(
            client, folder, delete_stored=True, log=lambda line: print(f"  {line}", flush=True)
        )
    except Exception as exc:
        raise StepFailed(f"the demo camera's sync failed: {_one_line(exc)}") from exc
    if report.kept:
        raise StepFailed(f"the demo camera's sync left clips unstored: {report.kept}")
    supervisor.manage("demo_load", "--access-request")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "…"


def main() -> int:
    var = Path(os.environ.get("FV_VAR_DIR", ROOT / "var")).resolve()
    var.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "FV_VAR_DIR": str(var),
        "PYTHONUNBUFFERED": "1",
    }
    supervisor = Supervisor(env=env)
    started = time.monotonic()
    up = False

    def on_up() -> None:
        nonlocal up
        up = True
        log(f"up in {time.monotonic() - started:.0f}s")

    signal.signal(signal.SIGINT, _handle_signal)
    signal.signal(signal.SIGTERM, _handle_signal)
    code = 0
    message = ""
    try:
        run(env, supervisor, on_up)
    except Interrupted as exc:
        message = f"{exc} received; stopping"
        code = 0 if up else 128 + exc.signum
    except StepFailed as exc:
        message = f"start-up failed: {exc}; stopped everything"
        code = 1
    except Exception as exc:  # a bug of ours: still stop every child, keep the trace in var/
        (var / "embedded-error.log").write_text(traceback.format_exc())
        message = (
            f"start-up failed: {type(exc).__name__}: {_one_line(exc)}; stopped everything "
            f"(trace in {var / 'embedded-error.log'})"
        )
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all()
    print(f"fieldvault: {message}", file=sys.stderr if code else sys.stdout, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
