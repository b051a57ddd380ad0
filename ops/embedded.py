"""`make run`: the embedded stack on one machine, with a small demo.

SQLite, the in-memory channel layer, SeaweedFS `weed mini` on loopback, the ASGI server
on http://127.0.0.1:8000 and one worker. Everything binds to 127.0.0.1. Stop with Ctrl+C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ops.seaweed import SeaweedServer

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("FV_VAR_DIR", ROOT / "var"))
PY = sys.executable
HOST = os.environ.get("FV_HOST", "127.0.0.1")
PORT = int(os.environ.get("FV_PORT", "8000"))


def manage(*args: str, env: dict[str, str], capture: bool = False) -> str:
    result = subprocess.run(
        [PY, str(ROOT / "manage.py"), *args],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=capture,
        text=True,
    )
    return result.stdout if capture else ""


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own loopback server
            return
        except Exception as exc:
            if getattr(exc, "code", None):  # any HTTP answer means the server is up
                return
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "FV_VAR_DIR": str(VAR),
        "PYTHONUNBUFFERED": "1",
    }
    weed = SeaweedServer(
        data_dir=VAR / "seaweedfs",
        s3_port=int(os.environ.get("FV_S3_PORT", "8333")),
        access_key=env.get("FV_S3_ACCESS_KEY", "fieldvault-embedded"),
        secret_key=env.get("FV_S3_SECRET_KEY", "fieldvault-embedded-secret"),
    )
    processes: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        weed.stop()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    print(f"starting SeaweedFS (S3 on 127.0.0.1:{weed.s3_port}) …", flush=True)
    weed.start()
    env["FV_S3_ENDPOINT_URL"] = weed.endpoint_url
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("storage_init", env=env)
    roster = ROOT / "mobile_contract" / "examples" / "officers.csv"
    demo = json.loads(
        manage(
            "demo_load",
            "--roster",
            str(roster),
            "--password",
            env.get("FV_DEMO_PASSWORD", ""),
            env=env,
            capture=True,
        )
    )

    processes.append(
        subprocess.Popen(
            [
                PY,
                "-m",
                "uvicorn",
                "backend.config.asgi:application",
                "--host",
                HOST,
                "--port",
                str(PORT),
                "--lifespan",
                "off",
                "--no-access-log",
            ],
            env=env,
            cwd=ROOT,
        )
    )
    worker_command = os.environ.get("FV_WORKER_COMMAND", "fieldvault_worker")
    processes.append(
        subprocess.Popen([PY, str(ROOT / "manage.py"), worker_command], env=env, cwd=ROOT)
    )
    processes.append(subprocess.Popen([PY, "-m", "ops.scheduler"], env=env, cwd=ROOT))
    wait_http(f"http://{HOST}:{PORT}/api/openapi.json")

    print("\nFieldVault is running (embedded stack):", flush=True)
    print(f"  web + API      http://{HOST}:{PORT}/   (API docs: /api/docs)")
    print(f"  S3 (SeaweedFS) {weed.endpoint_url}")
    print(f"  demo users     {', '.join(demo['users'].values())}  password: {demo['password']}")
    print(f"  demo camera    device {demo['device_id']}")

    if os.environ.get("FV_DEMO_SYNC", "1") == "1":
        from mobile_contract.simulator import DeviceClient, generate_clips, sync_folder

        folder = Path(tempfile.mkdtemp(prefix="fv-demo-camera-"))
        print(f"\ndemo: a body camera docks with 3 clips recorded offline ({folder})", flush=True)
        generate_clips(folder, count=3)
        client = DeviceClient(f"http://{HOST}:{PORT}", demo["device_token"])
        sync_folder(
            client, folder, delete_stored=True, log=lambda line: print(f"  {line}", flush=True)
        )
    print("\nCtrl+C stops everything.", flush=True)
    while all(process.poll() is None for process in processes):
        time.sleep(1)
    print("a process exited; stopping", flush=True)
    stop()


if __name__ == "__main__":
    main()
