"""Benchmark: 50 concurrent 20 MB tus uploads vs one 20 MB upload alone (same run).

    .venv/bin/python tests/bench/bench_upload_concurrent.py [--clients 50] [--size-mb 20]
        [--workers 1] [--single-runs 5]

Same server as bench_upload_single.py (uvicorn subprocess, Django store on PostgreSQL,
clips announced through the manifest service). Every upload is one `curl -X PATCH -T`
of the whole file. The single-stream figure is the median of `--single-runs` uploads
of the same size, one at a time; the aggregate is total bytes / wall time from the
first start to the last finish. Goal: aggregate >= 70 % of the single stream, 0 errors
(HTTP 204 and, in the database, received SHA-256 == declared for every upload).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_upload_single import (
    MB,
    announce,
    curl_patch,
    django_setup,
    make_file,
    server_env,
    upload_state,
)


def curl_command(base_url: str, path: str, token: str, file: Path) -> list[str]:
    return [
        "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH",
        "-H", "Tus-Resumable: 1.0.0", "-H", f"Authorization: Bearer {token}",
        "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
        "-H", "Expect:", "-T", str(file), base_url + path,
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--single-runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    size = args.size_mb * MB
    work = args.work or Path(tempfile.mkdtemp(prefix="fv-bench-concurrent-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    django_setup(work)
    from sync.tus.testing import UvicornServer

    files = [
        make_file(work / f"clip-{index:03d}.bin", size)
        for index in range(args.clients + args.single_runs)
    ]
    token, urls = announce(files)
    single_files, single_urls = files[: args.single_runs], urls[: args.single_runs]
    many_files, many_urls = files[args.single_runs :], urls[args.single_runs :]
    print(
        f"{args.clients} clients x {size / MB:.0f} MB, {args.workers} worker process(es), "
        f"scratch {work}"
    )
    errors: list[str] = []
    with UvicornServer(
        factory="sync.tus.app:django_app_factory",
        env=server_env(work),
        workers=args.workers,
        log_path=work / "server.log",
    ) as server:
        time.sleep(1.0 if args.workers > 1 else 0)  # let every worker finish booting
        single_rates = []
        for file, url in zip(single_files, single_urls, strict=True):
            status, seconds = curl_patch(server.url, url, token, file)
            single_rates.append(size / seconds / MB)
            if status != 204:
                errors.append(f"single {url}: HTTP {status}")
        single = statistics.median(single_rates)

        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                curl_command(server.url, url, token, file), stdout=subprocess.PIPE, text=True
            )
            for file, url in zip(many_files, many_urls, strict=True)
        ]
        statuses = [process.communicate()[0].strip() for process in processes]
        elapsed = time.perf_counter() - started
    for url, status in zip(many_urls, statuses, strict=True):
        if status != "204":
            errors.append(f"{url}: HTTP {status}")
    for url in urls:
        state, received, declared = upload_state(url)
        if state != "complete" or received != declared:
            errors.append(f"{url}: state {state}, sha {'ok' if received == declared else 'WRONG'}")
    for staged in (work / "staging").rglob("*.part"):
        staged.unlink()
    aggregate = args.clients * size / elapsed / MB
    print(f"single stream (median of {args.single_runs}): {single:7.1f} MB/s  {single_rates}")
    print(f"{args.clients} concurrent, aggregate      : {aggregate:7.1f} MB/s  ({elapsed:.2f} s)")
    print(f"aggregate / single                : {aggregate / single * 100:5.1f} %  (goal >= 70 %)")
    print(f"errors                            : {len(errors)}")
    for error in errors[:20]:
        print("  ", error)


if __name__ == "__main__":
    main()
