"""The scale-out layout as plain processes on one machine (what docker-compose.yml describes).

    .venv/bin/python -m ops.scaleout --web 2 --workers 2

PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/fieldvault), the Redis
channel layer (REDIS_URL, default redis://127.0.0.1:6379/0), SeaweedFS as the S3 server,
N ASGI processes on consecutive ports from 8000 and N workers, and in front of them the TLS
proxy (nginx, ops/proxy.py) on https://127.0.0.1:8443 (HTTP 8080 redirects) with an internal
CA and certificate made by ops/tls.py in <var>/tls (`--tls-host` names it; `--no-tls` runs
without the proxy). All on loopback.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ops.proxy import NginxProxy
from ops.seaweed import SeaweedServer
from ops.tls import ensure_tls
from ops.web import uvicorn_command

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--web", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--first-port", type=int, default=8000)
    parser.add_argument("--https-port", type=int, default=8443)
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument("--tls-host", action="append", help="certificate names (repeat)")
    parser.add_argument("--no-tls", action="store_true", help="no proxy: plain HTTP only")
    args = parser.parse_args()
    var = Path(os.environ.get("FV_VAR_DIR", ROOT / "var" / "scaleout"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get(
            "DJANGO_SETTINGS_MODULE", "backend.config.settings"
        ),
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fieldvault"
        ),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "FV_VAR_DIR": str(var),
        "FV_STORE_DISPATCH": "redrive",
        # W workers on one machine share its cores: each ffmpeg run gets cores / W threads.
        "FV_MEDIA_THREADS": os.environ.get(
            "FV_MEDIA_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, args.workers)))
        ),
    }
    proxy: NginxProxy | None = None
    if not args.no_tls:
        tls = ensure_tls(var / "tls", args.tls_host or ["localhost", "127.0.0.1"])
        proxy = NginxProxy(
            upstreams=[f"127.0.0.1:{args.first_port + index}" for index in range(args.web)],
            cert=tls.fullchain,
            key=tls.key,
            directory=var / "nginx",
            https_port=args.https_port,
            http_port=args.http_port,
        )
        env["FV_TRUSTED_PROXIES"] = os.environ.get("FV_TRUSTED_PROXIES", "127.0.0.1")
        env.setdefault("FV_TLS_CERT_FILE", str(tls.cert))
        env.setdefault("FV_TLS_CA_FILE", str(tls.ca))
    weed = SeaweedServer(
        data_dir=var / "seaweedfs", s3_port=int(os.environ.get("FV_S3_PORT", "8333"))
    )
    weed.start()
    env["FV_S3_ENDPOINT_URL"] = weed.endpoint_url
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "storage_init"], env=env, check=True, cwd=ROOT)
    processes = [
        subprocess.Popen(
            uvicorn_command(host="127.0.0.1", port=args.first_port + index, env=env),
            env=env,
            cwd=ROOT,
        )
        for index in range(args.web)
    ] + [
        subprocess.Popen([*manage, "fieldvault_worker"], env=env, cwd=ROOT)
        for _ in range(args.workers)
    ]
    processes.append(subprocess.Popen([sys.executable, "-m", "ops.scheduler"], env=env, cwd=ROOT))
    if proxy is not None:
        proxy.start()

    def stop(*_: object) -> None:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait()
        if proxy is not None:
            proxy.stop()
        weed.stop()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(
        f"{args.web} web on ports {args.first_port}..{args.first_port + args.web - 1}, "
        f"{args.workers} workers, 1 scheduler, S3 {weed.endpoint_url}"
        + (f", HTTPS https://127.0.0.1:{args.https_port}" if proxy else ""),
        flush=True,
    )
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
