"""Bulk coverage check: N recordings x N/10 activities, then 2N, on one core.

    .venv/bin/python tests/bench/bench_coverage.py            # N = 1,000,000
    .venv/bin/python tests/bench/bench_coverage.py --n 200000 # quicker

Prints, for N and 2N (best of ``--repeat`` runs): seconds for ``evaluate_many`` (index
build + overlap search + evaluation of every activity), and as a same-run reference the
seconds to merely sort the same recordings by start (``sorted`` by ``start``), with the
ratio. Then the 2N/N ratio (goal <= 2.2) and the verdict mix as a sanity check.
Seconds are CPU seconds of this single-threaded process (``time.process_time``), with
wall seconds beside them: the machine is shared, and under load wall time measures the
neighbours. ``--pin`` pins to one CPU.

Generated data: officers = activities / 100 (the agency grows with the data), one
year of activities 10-90 min long with 1-3 officers (2+ for evidence collection).
For each officer of each activity a recording pattern is drawn: on time, late start,
early stop, split files with small holes, a real gap, duplicates from a second device,
a recording crossing midnight, nothing, or an unknown clock offset. The rest of the
recordings are unrelated (patrol footage outside any activity).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from coverage_core.evaluation import (
    ActivityInput,
    ActivityWindow,
    CoverageRule,
    RecordingInterval,
    evaluate_many,
)

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 24 * 3600
RULES = (
    CoverageRule(min_officers=2),  # 调查取证
    CoverageRule(full_process=True),  # 现场检查, 听证, 谈话
    CoverageRule(),  # 送达, 走访 …
)


@dataclass(frozen=True)
class Sample:
    eval_cpu: float
    eval_wall: float
    sort_cpu: float
    sort_wall: float
    verdicts: Counter[str]


def generate(
    activity_count: int, recording_count: int, seed: int
) -> tuple[list[ActivityInput], dict[int, list[RecordingInterval]]]:
    rng = random.Random(seed)
    officer_count = max(10, activity_count // 100)
    activities: list[ActivityInput] = []
    recordings: dict[int, list[RecordingInterval]] = defaultdict(list)
    made = 0
    second = timedelta(seconds=1)

    def add(officer: int, begin: datetime, end: datetime, known: bool = True) -> None:
        nonlocal made
        recordings[officer].append(RecordingInterval(begin, end, known, made))
        made += 1

    for activity_id in range(activity_count):
        start = YEAR_START + rng.randrange(YEAR_SECONDS) * second
        if rng.random() < 0.01:  # activities around midnight (Asia/Shanghai = 16:00 UTC)
            start = start.replace(hour=15, minute=50)
        stop = start + rng.randrange(600, 5400) * second
        rule = RULES[activity_id % 3]
        officer_total = 2 if rule.min_officers == 2 else rng.choice((1, 1, 2, 3))
        officers = tuple(rng.sample(range(officer_count), officer_total))
        open_activity = rng.random() < 0.005
        activities.append(
            ActivityInput(
                activity_id=activity_id,
                window=ActivityWindow(
                    start=start,
                    stop=None if open_activity else stop,
                    start_label="进入调查取证场所",
                    stop_label="离开调查取证场所",
                ),
                rule=rule,
                officers=officers,
            )
        )
        for officer in officers:
            pattern = rng.random()
            if pattern < 0.08:
                continue  # not recorded
            begin = start - rng.randrange(0, 20) * second
            end = stop + rng.randrange(0, 20) * second
            if pattern < 0.16:
                begin = start + rng.randrange(60, 600) * second  # late start
            elif pattern < 0.24:
                end = stop - rng.randrange(60, 600) * second  # early stop
            if pattern > 0.97:
                add(officer, begin, end, known=False)  # device clock offset unknown
                continue
            # Split into files of ~10 min with 0-3 s holes; sometimes a 2-minute gap.
            cursor = begin
            while cursor < end:
                piece_end = min(end, cursor + rng.randrange(300, 900) * second)
                add(officer, cursor, piece_end)
                hole = 120 if rng.random() < 0.05 else rng.randrange(0, 4)
                cursor = piece_end + hole * second
            if pattern > 0.9:  # duplicate from a second device
                add(officer, begin + 5 * second, end - 5 * second)
    # Unrelated footage up to the requested total.
    while made < recording_count:
        officer = rng.randrange(officer_count)
        begin = YEAR_START + rng.randrange(YEAR_SECONDS) * second
        add(officer, begin, begin + rng.randrange(30, 1800) * second)
    return activities, dict(recordings)


def timed(action: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result)."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run(recording_count: int, activity_count: int, seed: int, repeat: int) -> Sample:
    activities, recordings = generate(activity_count, recording_count, seed)
    flat = [recording for items in recordings.values() for recording in items]
    random.Random(seed).shuffle(flat)
    samples: list[Sample] = []
    verdicts: Counter[str] = Counter()
    for _ in range(repeat):
        sort_wall, sort_cpu, reference = timed(lambda: sorted(flat, key=attrgetter("start")))
        del reference
        eval_wall, eval_cpu, results = timed(lambda: evaluate_many(activities, recordings))
        verdicts = Counter(result.verdict.value for result in results)  # type: ignore[attr-defined]
        del results
        samples.append(Sample(eval_cpu, eval_wall, sort_cpu, sort_wall, verdicts))
    best = min(samples, key=lambda sample: sample.eval_cpu)
    print(
        f"recordings={len(flat):>9,} activities={len(activities):>8,}  "
        f"evaluate_many={best.eval_cpu:6.2f} s CPU ({best.eval_wall:6.2f} s wall)  "
        f"sort-reference={best.sort_cpu:5.2f} s CPU ({best.sort_wall:5.2f} s wall)  "
        f"ratio={best.eval_cpu / best.sort_cpu:5.1f}x  "
        f"[CPU samples: {', '.join(f'{s.eval_cpu:.2f}' for s in samples)}]",
        flush=True,
    )
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000, help="recordings (activities: n/10)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    parser.add_argument("--pin", action="store_true", help="pin the process to one CPU")
    args = parser.parse_args()
    if args.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    n = args.n
    first = run(n, n // 10, args.seed, args.repeat)
    second = run(2 * n, 2 * n // 10, args.seed + 1, args.repeat)
    print(
        f"2N/N ratio: evaluate_many {second.eval_cpu / first.eval_cpu:.2f}x CPU "
        f"({second.eval_wall / first.eval_wall:.2f}x wall; goal <= 2.2), "
        f"sort-reference {second.sort_cpu / first.sort_cpu:.2f}x CPU"
    )
    verdict = "met" if first.eval_cpu <= 20 else "MISSED"
    print(f"goal <= 20 s at N={n:,}: {verdict} ({first.eval_cpu:.2f} s CPU)")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print("verdicts at N:", dict(sorted(first.verdicts.items())))


if __name__ == "__main__":
    main()
