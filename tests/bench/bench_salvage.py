"""Benchmark: salvage of a moov-less 1080p MP4 (cut at 60 %) vs reading its bytes.

    .venv/bin/python tests/bench/bench_salvage.py [SAMPLE.mp4] [--keep 0.6]

Uses the 60 s 1080p30 sample of bench_transcode.py (moov at the end) unless given one: the
first ``--keep`` of its bytes is the "power-loss" file, the intact sample is the reference
(same encoder settings). Prints the salvage time, what was recovered, and as same-run
reference the time to hash the damaged file (pure I/O + SHA-256), with their ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_transcode import make_sample

from media.hashing import sha256_file
from media.probe import probe_inprocess
from media.salvage import salvage_moovless_mp4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sample", nargs="?", type=Path)
    parser.add_argument("--keep", type=float, default=0.6)
    options = parser.parse_args()
    sample = options.sample or make_sample()
    full_duration = probe_inprocess(sample).duration_s or 0.0
    with tempfile.TemporaryDirectory() as work:
        damaged = Path(work) / "cut.mp4"
        data = sample.read_bytes()
        damaged.write_bytes(data[: int(len(data) * options.keep)])
        del data
        started = time.perf_counter()
        sha256_file(damaged)
        hash_s = time.perf_counter() - started
        started = time.perf_counter()
        result = salvage_moovless_mp4(damaged, Path(work) / "salvaged.mp4", sample)
        salvage_s = time.perf_counter() - started
    print(f"sample {sample.name}: {full_duration:.1f} s; kept {options.keep:.0%} of the bytes")
    print(
        f"salvage: {salvage_s:.2f} s, recovered={result.recovered} method={result.method} "
        f"frames={result.frames} seconds={result.recovered_seconds} "
        f"decode_errors={result.decode_errors}"
    )
    print(f"  notes: {'; '.join(result.notes)}")
    print(f"reference (sha256 of the damaged file): {hash_s:.2f} s")
    print(f"salvage / hash time ratio: {salvage_s / hash_s:.1f}x")
    if result.recovered_seconds and full_duration:
        share = result.recovered_seconds / (full_duration * options.keep)
        print(f"recovered {share:.0%} of the kept share of the duration")


if __name__ == "__main__":
    main()
