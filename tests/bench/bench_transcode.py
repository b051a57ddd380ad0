"""Benchmark: media.transcode.transcode_proxy vs plain ffmpeg with the same arguments.

    .venv/bin/python tests/bench/bench_transcode.py [SAMPLE.mp4] [--rounds N]

Without a sample, a 60 s 1080p30 H.264 + AAC file is generated once and cached in
/tmp/fieldvault_bench/. Runs alternate (plain, pipeline, pipeline, plain, ...) in the same
process so machine load affects both equally. Prints seconds per run, medians, realtime
factor and the pipeline's overhead in percent (goal: <= 10 %).

Wall-clock time on a shared 2-core machine swings by tens of percent between runs, so the
CPU seconds (user + system) of each run are printed too: the ffmpeg child's (getrusage of
children) plus, for the pipeline, this process's own (probing, checks). Their ratio is the
load-robust form of the same overhead.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import media.transcode
from media.pipeline import process_original
from media.probe import probe_inprocess
from media.tools import ffmpeg_binary
from media.transcode import proxy_args, transcode_proxy

CACHE = Path(tempfile.gettempdir()) / "fieldvault_bench"


def make_sample(seconds: int = 60) -> Path:
    """Generate (once) a 1080p30 H.264/AAC MP4 like a body camera's, moov at the end."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"sample_1080p30_{seconds}s.mp4"
    if path.exists():
        return path
    print(f"generating {path} ...", flush=True)
    partial = path.with_suffix(".partial.mp4")
    subprocess.run(
        [
            ffmpeg_binary(), "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={seconds}",
            "-f", "lavfi", "-i", f"sine=f=440:d={seconds}",
            "-c:v", "libx264", "-preset", "superfast", "-b:v", "8M",
            "-c:a", "aac", "-b:a", "128k", "-shortest", str(partial),
        ],
        check=True,
    )  # fmt: skip
    partial.replace(path)
    return path


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_plain(args: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of one plain ffmpeg run."""
    children = cpu_seconds(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started, cpu_seconds(resource.RUSAGE_CHILDREN) - children


_ffmpeg_seconds: list[float] = []
_real_subprocess_run = subprocess.run


def _timed_subprocess_run(*args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        return _real_subprocess_run(*args, **kwargs)
    finally:
        _ffmpeg_seconds.append(time.perf_counter() - started)


def run_pipeline(src: Path, dst: Path) -> tuple[float, float, float]:
    """Total wall seconds, wall seconds outside the ffmpeg child (the wrapper's own cost),
    and CPU seconds (ffmpeg child + this process)."""
    _ffmpeg_seconds.clear()
    children = cpu_seconds(resource.RUSAGE_CHILDREN)
    own = cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with mock.patch.object(media.transcode.subprocess, "run", _timed_subprocess_run):
        transcode_proxy(src, dst)  # probes the source itself, like the worker does
    total = time.perf_counter() - started
    cpu = (cpu_seconds(resource.RUSAGE_CHILDREN) - children) + (
        cpu_seconds(resource.RUSAGE_SELF) - own
    )
    return total, total - sum(_ffmpeg_seconds), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sample", nargs="?", type=Path)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, alternating")
    parser.add_argument(
        "--full", action="store_true", help="also time one process_original() by stage"
    )
    options = parser.parse_args()
    src = options.sample or make_sample()
    source_probe = probe_inprocess(src)
    video = source_probe.video
    print(
        f"sample: {src} ({src.stat().st_size / 1e6:.1f} MB, {source_probe.duration_s:.1f} s, "
        f"{video.width if video else '?'}x{video.height if video else '?'} "
        f"@ {video.fps if video else '?'} fps)"
    )
    plain: list[float] = []
    pipeline: list[float] = []
    wrapper: list[float] = []
    plain_cpu: list[float] = []
    pipeline_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as work:
        out = Path(work)
        # The plain run gets exactly the argument list the pipeline uses.
        plain_args = proxy_args(src, out / "plain.mp4", source_probe)
        print("plain ffmpeg:", " ".join(plain_args))
        for round_index in range(options.rounds):
            order = ("plain", "pipeline") if round_index % 2 == 0 else ("pipeline", "plain")
            for which in order:
                if which == "plain":
                    seconds, cpu = run_plain(plain_args)
                    plain.append(seconds)
                    plain_cpu.append(cpu)
                else:
                    seconds, outside_ffmpeg, cpu = run_pipeline(src, out / "pipeline.mp4")
                    pipeline.append(seconds)
                    wrapper.append(outside_ffmpeg)
                    pipeline_cpu.append(cpu)
                print(
                    f"  round {round_index + 1} {which:8s} {seconds:7.2f} s wall"
                    f"  {cpu:7.2f} s CPU  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    plain_median = statistics.median(plain)
    pipeline_median = statistics.median(pipeline)
    duration = source_probe.duration_s or 0.0
    overhead = (pipeline_median / plain_median - 1) * 100
    for label, value in (("plain ffmpeg  ", plain_median), ("media pipeline", pipeline_median)):
        print(f"{label} median {value:7.2f} s  ({duration / value:.2f}x realtime)")
    print(
        f"overhead {overhead:+.1f} %  (ratio {pipeline_median / plain_median:.3f}; goal <= +10 %)"
    )
    plain_cpu_median = statistics.median(plain_cpu)
    pipeline_cpu_median = statistics.median(pipeline_cpu)
    print(
        f"CPU seconds median: plain {plain_cpu_median:.2f} s, pipeline {pipeline_cpu_median:.2f} s"
        f" -> CPU overhead {(pipeline_cpu_median / plain_cpu_median - 1) * 100:+.1f} %"
        f" (ratio {pipeline_cpu_median / plain_cpu_median:.3f}; goal <= +10 %)"
    )
    own = statistics.median(wrapper)
    print(
        f"pipeline time outside ffmpeg (probe, checks, rename): {own * 1000:.1f} ms "
        f"= {own / plain_median * 100:.2f} % of the plain run (load-independent part)"
    )
    if options.full:
        with tempfile.TemporaryDirectory() as work:
            outcome = process_original(src, work)
        stages = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in outcome.timings.items())
        print(f"process_original: {outcome.elapsed_s:.2f} s ({outcome.status.value}): {stages}")


if __name__ == "__main__":
    main()
