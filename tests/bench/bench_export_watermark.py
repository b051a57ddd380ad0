"""Watermarked proxy copies for outside parties (issue 6, item 9): how fast, vs the same
transcode without the watermark, measured in the same run.

    .venv/bin/python tests/bench/bench_export_watermark.py               # 30 s of 1080p30
    .venv/bin/python tests/bench/bench_export_watermark.py --seconds 10

Makes a 1080p30 H.264 + AAC clip with ffmpeg's test source, then over --rounds rounds:
  plain      backend.review.packaging.viewing_copy_command without the watermark overlay
  watermark  backend.review.packaging.watermark_media: the same with drawtext (CJK font,
             text from a file, expansion off)
Prints each round, the medians as a multiple of real time, and the ratio watermark / plain.
The watermark is burned in by a background job (export_proxies_prepare) before the
package can be downloaded, so this figure says how long an outside party's export takes to
become downloadable per minute of footage.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from media.tools import ffmpeg_binary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings.test")
    django.setup()  # packaging imports the models; no database is touched
    from backend.review.packaging import viewing_copy_command, watermark_media

    work = Path(tempfile.mkdtemp(prefix="fv-bench-watermark-"))
    source = work / "source.mp4"
    subprocess.run(
        [
            ffmpeg_binary(),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
            "-t",
            str(args.seconds),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            str(source),
        ],
        check=True,
    )

    def plain() -> float:
        started = time.perf_counter()
        command = viewing_copy_command(
            source=str(source), target=work / "plain.mp4", media_kind="video"
        )
        subprocess.run(command, check=True)
        return args.seconds / (time.perf_counter() - started)

    def watermark() -> float:
        started = time.perf_counter()
        watermark_media(
            source=str(source),
            target=work / "watermarked.mp4",
            text="甲县人民法院 <b>张三</b> 2026-11-23",
            media_kind="video",
            work_dir=work,
        )
        return args.seconds / (time.perf_counter() - started)

    figures: dict[str, list[float]] = {"plain": [], "watermark": []}
    for round_no in range(1, args.rounds + 1):
        figures["plain"].append(plain())
        figures["watermark"].append(watermark())
        print(
            f"round {round_no}: "
            + ", ".join(f"{name} {values[-1]:.2f}x" for name, values in figures.items())
            + " real time"
        )
    medians = {name: statistics.median(values) for name, values in figures.items()}
    print(
        f"reference (same transcode without the watermark, same run): "
        f"{medians['plain']:.2f}x real time"
    )
    print(
        f"watermarked proxy: {medians['watermark']:.2f}x real time; "
        f"ratio watermark / plain: {medians['watermark'] / medians['plain']:.2f}; "
        f"one hour of footage needs about {60 / medians['watermark']:.0f} min of job time"
    )


if __name__ == "__main__":
    main()
