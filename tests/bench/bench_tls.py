"""Benchmark: what TLS costs an upload, and what a metrics scrape costs, same run.

    .venv/bin/python tests/bench/bench_tls.py [--size-mib 256] [--rounds 3]

One real web process (uvicorn as every layout starts it, ops/web.py; PostgreSQL; proxy
headers from 127.0.0.1) and the real TLS proxy (Debian's nginx, ops/proxy.py, certificate
from the internal CA of ops/tls.py) in front of it. Each round uploads the same file twice,
back to back, as one tus PATCH by curl:

  * plain HTTP straight to uvicorn (the reference)
  * plain HTTP through the same nginx (what the proxy hop costs without TLS)
  * HTTPS through nginx, curl pinning the CA (`--cacert`)

and prints MB/s of each, the medians and the ratios (goal: TLS costs <= 10 %). Then it times
GET /metrics (20 scrapes, median) against GET /healthz on the same process (the reference:
one round trip through the same stack), with the bench database's recording count;
`--county` first loads a county's data (scale_load, 80,000 recordings) when it is not there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "bench"))

from bench_upload_single import MB, MiB, announce, django_setup, make_file, upload_state  # noqa: E402


def curl(url: str, *extra: str) -> tuple[int, float]:
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", *extra, url],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:  # not listening yet, or refused
        return 0, 0.0
    status, seconds = done.stdout.split()
    return int(status), float(seconds)


def patch(url: str, token: str, file: Path, *extra: str) -> tuple[int, float]:
    return curl(
        url,
        "-X",
        "PATCH",
        "-H",
        "Tus-Resumable: 1.0.0",
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        "Upload-Offset: 0",
        "-H",
        "Content-Type: application/offset+octet-stream",
        "-H",
        "Expect:",
        "-T",
        str(file),
        *extra,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--county", action="store_true", help="scrape at a county's data")
    args = parser.parse_args()
    size = args.size_mib * MiB
    work = Path(tempfile.mkdtemp(prefix="fv-bench-tls-", dir="/var/tmp"))
    os.environ["FV_TRUSTED_PROXIES"] = "127.0.0.1"
    django_setup(work)
    from ops.ports import free_port
    from ops.proxy import NginxProxy
    from ops.tls import ensure_tls
    from ops.web import uvicorn_command

    tls = ensure_tls(work / "tls", ["localhost", "127.0.0.1"])
    source = make_file(work / "clip.bin", size)
    token, urls = announce([source] * (3 * args.rounds))
    if args.county:
        from backend.footage.models import Recording
        from backend.wiring.scale_load import ScaleSize, scale_load

        if Recording.objects.count() < 80_000:
            report = scale_load(ScaleSize.county(), prefix="tlsbench", seed=29)
            print(f"scale_load county: {report.total_rows:,} rows in {report.seconds:.0f} s")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    port = free_port()
    web = subprocess.Popen(
        uvicorn_command(host="127.0.0.1", port=port, env=env, access_log=False),
        cwd=REPO,
        env=env,
        stdout=(work / "web.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    proxy = NginxProxy(
        upstreams=[f"127.0.0.1:{port}"],
        cert=tls.fullchain,
        key=tls.key,
        directory=work / "nginx",
        https_port=free_port(),
        http_port=free_port(),
        bench_plain_port=free_port(),
    )
    try:
        deadline = time.monotonic() + 30
        while curl(f"http://127.0.0.1:{port}/healthz")[0] != 200:
            assert time.monotonic() < deadline and web.poll() is None, "web did not start"
            time.sleep(0.2)
        proxy.start()
        plain_base = f"http://127.0.0.1:{port}"
        tls_base = f"https://localhost:{proxy.https_port}"
        pin = ("--cacert", str(tls.ca))
        print(f"file {size / MB:.0f} MB, rounds {args.rounds}, scratch {work}")
        hop_base = f"http://127.0.0.1:{proxy.bench_plain_port}"
        plain: list[float] = []
        hop: list[float] = []
        secure: list[float] = []
        for index in range(args.rounds):
            mine = urls[3 * index : 3 * index + 3]
            for base, url, extra, results in (
                (plain_base, mine[0], (), plain),
                (hop_base, mine[1], (), hop),
                (tls_base, mine[2], pin, secure),
            ):
                status, seconds = patch(base + url, token, source, *extra)
                assert status == 204, (status, base)
                results.append(size / MB / seconds)
            for url in mine:
                state, received, declared = upload_state(url)
                assert state == "complete" and received == declared, (state, url)
            print(
                f"round {index + 1}: direct {plain[-1]:.0f}, nginx http {hop[-1]:.0f}, "
                f"nginx https {secure[-1]:.0f} MB/s"
            )
        p, h, s = (statistics.median(x) for x in (plain, hop, secure))
        print(
            f"upload median: direct HTTP {p:.0f} MB/s, HTTP via nginx {h:.0f} MB/s, "
            f"HTTPS via nginx {s:.0f} MB/s; HTTPS/direct {s / p:.2f}, "
            f"HTTPS/HTTP-via-nginx {s / h:.2f} (TLS alone costs {100 * (1 - s / h):.1f} %, "
            f"the hop {100 * (1 - h / p):.1f} %; goal: TLS <= 10 %)"
        )

        from backend.footage.models import Recording

        scrape = [curl(plain_base + "/metrics")[1] for _ in range(20)]
        health = [curl(plain_base + "/healthz")[1] for _ in range(20)]
        m, h = statistics.median(scrape), statistics.median(health)
        print(
            f"/metrics median {1000 * m:.1f} ms vs /healthz {1000 * h:.1f} ms "
            f"(ratio {m / h:.1f}) with {Recording.objects.count()} recordings in the bench db"
        )
    finally:
        proxy.stop()
        web.terminate()
        web.wait(timeout=30)


if __name__ == "__main__":
    main()
