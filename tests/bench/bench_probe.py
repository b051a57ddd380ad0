"""Benchmark: probe latency per file, ffprobe (a process per call) vs PyAV in-process.

    .venv/bin/python tests/bench/bench_probe.py [DIR] [--repeat N]

Without a directory, 20 small files of the kinds devices produce (MP4 H.264/HEVC, MOV,
MPEG-TS, AVI/MJPEG+PCM, MKV, WAV, M4A, JPEG, PNG) are generated once into
/tmp/fieldvault_bench/probe_corpus/. Each file is probed ``--repeat`` times by each prober,
alternating; prints the median per file and the median over files, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from media.probe import ProbeResult, probe_ffprobe, probe_inprocess
from media.tools import ffmpeg_binary

CORPUS = Path(tempfile.gettempdir()) / "fieldvault_bench" / "probe_corpus"

_AV = ["-f", "lavfi", "-i", "testsrc2=s={size}:r=30:d={d}", "-f", "lavfi", "-i", "sine=d={d}"]
RECIPES: list[tuple[str, list[str]]] = [
    ("h264_{i}.mp4", [*_AV, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"]),
    ("hevc_{i}.mp4", [*_AV, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                      "log-level=error", "-c:a", "aac", "-shortest"]),
    ("clip_{i}.mov", [*_AV, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"]),
    ("stream_{i}.ts", [*_AV, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                       "-shortest", "-f", "mpegts"]),
    ("cheap_{i}.avi", [*_AV, "-c:v", "mjpeg", "-c:a", "pcm_s16le", "-shortest"]),
    ("clip_{i}.mkv", [*_AV, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"]),
    ("voice_{i}.wav", ["-f", "lavfi", "-i", "sine=d={d}", "-c:a", "pcm_s16le"]),
    ("voice_{i}.m4a", ["-f", "lavfi", "-i", "sine=d={d}", "-c:a", "aac"]),
    ("photo_{i}.jpg", ["-f", "lavfi", "-i", "testsrc2=s={size}", "-frames:v", "1"]),
    ("screen_{i}.png", ["-f", "lavfi", "-i", "testsrc2=s={size}", "-frames:v", "1"]),
]  # fmt: skip


def make_corpus() -> list[Path]:
    """Generate two variants of each recipe (20 files) once."""
    CORPUS.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for index, (size, seconds) in enumerate([("640x360", 3), ("1280x720", 5)]):
        for name, recipe in RECIPES:
            path = CORPUS / name.format(i=index)
            if not path.exists():
                args = [part.format(size=size, d=seconds) for part in recipe]
                subprocess.run(
                    [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", *args, str(path)], check=True
                )
            files.append(path)
    return files


def timed(prober: Callable[[Path], ProbeResult], path: Path) -> float:
    started = time.perf_counter()
    prober(path)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    if options.directory:
        files = sorted(p for p in options.directory.iterdir() if p.is_file())
    else:
        files = make_corpus()
    per_file_ffprobe: list[float] = []
    per_file_inprocess: list[float] = []
    print(f"{'file':24s} {'ffprobe ms':>11s} {'in-process ms':>14s} {'ratio':>7s}")
    for path in files:
        ffprobe_ms: list[float] = []
        inprocess_ms: list[float] = []
        for _ in range(options.repeat):
            ffprobe_ms.append(timed(probe_ffprobe, path))
            inprocess_ms.append(timed(probe_inprocess, path))
        slow, fast = statistics.median(ffprobe_ms), statistics.median(inprocess_ms)
        per_file_ffprobe.append(slow)
        per_file_inprocess.append(fast)
        print(f"{path.name:24s} {slow:11.1f} {fast:14.2f} {slow / fast:7.1f}x")
    slow, fast = statistics.median(per_file_ffprobe), statistics.median(per_file_inprocess)
    print(f"{len(files)} files, {options.repeat} probes each per prober (median of medians):")
    print(f"  ffprobe     {slow:8.1f} ms/file")
    print(f"  in-process  {fast:8.2f} ms/file")
    print(f"  in-process is {slow / fast:.1f}x faster")


if __name__ == "__main__":
    main()
