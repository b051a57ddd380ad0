"""Benchmark: integrity check + proxy in one ffmpeg run vs the two runs they used to be.

    .venv/bin/python tests/bench/bench_one_decode.py [SAMPLE.mp4] [--rounds N] [--threads T]

The sample defaults to bench_transcode's cached 60 s 1080p30 H.264 + AAC file. Runs
alternate (two runs, one run, one run, two runs, ...) in the same process. Prints, per
set-up, the median wall seconds and the median CPU seconds (user + system of the ffmpeg
children and this process: load-robust), and the ratio one run / two runs. The reference
"two runs" is exactly what media.pipeline did before: check_integrity, then
transcode_proxy; "one run" is transcode_checked, which the pipeline uses now.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_transcode import make_sample

from media.integrity import check_integrity
from media.transcode import transcode_checked, transcode_proxy


def cpu_seconds() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def two_runs(src: Path, dst: Path, threads: int) -> int:
    report = check_integrity(src, threads=threads)
    transcode_proxy(src, dst, threads=threads)
    return report.decode_errors


def one_run(src: Path, dst: Path, threads: int) -> int:
    checked = transcode_checked(src, dst, threads=threads)
    assert checked.proxy is not None
    return checked.integrity.decode_errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sample", nargs="?", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="FV_MEDIA_THREADS (0: all)")
    args = parser.parse_args()
    src = args.sample or make_sample()
    work = Path(tempfile.mkdtemp(prefix="fv-bench-onedecode-"))
    results: dict[str, list[tuple[float, float]]] = {"two runs": [], "one run": []}
    errors: dict[str, set[int]] = {"two runs": set(), "one run": set()}
    order = ["two runs", "one run"]
    for round_no in range(args.rounds):
        for name in order if round_no % 2 == 0 else reversed(order):
            cpu, started = cpu_seconds(), time.perf_counter()
            run = two_runs if name == "two runs" else one_run
            errors[name].add(run(src, work / f"{name.replace(' ', '_')}.mp4", args.threads))
            results[name].append((time.perf_counter() - started, cpu_seconds() - cpu))
            print(
                f"  {name}: {results[name][-1][0]:.2f} s wall, {results[name][-1][1]:.2f} CPU s",
                flush=True,
            )
    print(
        f"sample {src.name}, {os.cpu_count()} CPUs, threads {args.threads or 'all'},"
        f" load {os.getloadavg()[0]:.1f}; decode errors found: {errors}"
    )
    medians = {
        name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for name, runs in results.items()
    }
    for name, (wall, cpu) in medians.items():
        print(f"{name:8s}: median {wall:.2f} s wall, {cpu:.2f} CPU s")
    print(
        f"one run / two runs: wall {medians['one run'][0] / medians['two runs'][0]:.2f},"
        f" CPU {medians['one run'][1] / medians['two runs'][1]:.2f}"
    )


if __name__ == "__main__":
    main()
