"""Interval arithmetic for the coverage check, on integer microseconds.

Pure stdlib, no Django. An interval is a half-open pair ``(start, end)`` of integer
microseconds since the Unix epoch (UTC), ``start <= end``. Functions that say they
take *merged* intervals expect the output of :func:`merge`: sorted, disjoint,
non-empty and separated by more than the merge tolerance.

Integers instead of datetimes because the bulk check handles millions of recordings:
integer comparisons are exact (no float drift when a window is shifted) and an order
of magnitude cheaper than ``datetime`` arithmetic.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from operator import itemgetter

Interval = tuple[int, int]

MICROSECONDS_PER_SECOND = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch (UTC).

    Naive datetimes are refused: a device time without a zone is ambiguous by hours.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} (need an aware UTC datetime)")
    return (moment - _EPOCH) // _ONE_MICROSECOND


def from_us(microseconds: int) -> datetime:
    """Integer microseconds since the epoch -> aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=microseconds)


def duration_us(length: timedelta) -> int:
    """timedelta -> integer microseconds."""
    return length // _ONE_MICROSECOND


def merge(intervals: Iterable[Interval], *, max_gap: int = 0) -> list[Interval]:
    """Sort and join intervals that overlap or are separated by at most ``max_gap``.

    Empty intervals (``start >= end``) are dropped: a zero-length recording covers
    nothing and must not bridge two files. With ``max_gap=0`` touching intervals join
    (``[a, b)`` and ``[b, c)`` cover ``[a, c)`` without a hole). Idempotent.
    """
    if max_gap < 0:
        raise ValueError("max_gap must be >= 0")
    ordered = sorted(intervals)
    # Empty intervals sort anywhere; skip them in the single pass below.
    merged: list[Interval] = []
    position = 0
    count = len(ordered)
    while position < count and ordered[position][0] >= ordered[position][1]:
        position += 1
    if position == count:
        return merged
    current_start, current_end = ordered[position]
    for start, end in ordered[position + 1 :]:
        if start >= end:
            continue
        if start - current_end <= max_gap:
            if end > current_end:
                current_end = end
        else:
            merged.append((current_start, current_end))
            current_start, current_end = start, end
    merged.append((current_start, current_end))
    return merged


def clip(merged: Sequence[Interval], *, lo: int, hi: int) -> list[Interval]:
    """Cut merged intervals to ``[lo, hi)``; pieces left empty are dropped."""
    clipped: list[Interval] = []
    for start, end in merged:
        if end <= lo:
            continue
        if start >= hi:
            break
        piece_start = start if start > lo else lo
        piece_end = end if end < hi else hi
        if piece_start < piece_end:
            clipped.append((piece_start, piece_end))
    return clipped


def total_length(intervals: Iterable[Interval]) -> int:
    """Sum of lengths (of disjoint intervals)."""
    return sum([end - start for start, end in intervals])


def complement(merged: Sequence[Interval], *, lo: int, hi: int) -> list[Interval]:
    """The uncovered pieces of ``[lo, hi)``: gaps, including a leading and a trailing one."""
    gaps: list[Interval] = []
    cursor = lo
    for start, end in merged:
        if end <= cursor:
            continue
        if start >= hi:
            break
        if start > cursor:
            gaps.append((cursor, start))
        cursor = end
        if cursor >= hi:
            break
    if cursor < hi:
        gaps.append((cursor, hi))
    return gaps


def interior_gaps(merged: Sequence[Interval]) -> list[Interval]:
    """The holes between consecutive merged intervals (no leading or trailing piece)."""
    return [(merged[i][1], merged[i + 1][0]) for i in range(len(merged) - 1)]


def covering_at_least(per_source: Sequence[Sequence[Interval]], *, k: int) -> list[Interval]:
    """Where at least ``k`` sources cover at once (sweep line).

    Each source's intervals must be merged (disjoint), so one officer with two
    overlapping duplicate files still counts once. Result is merged with max_gap 0.
    """
    if k <= 0:
        raise ValueError("k must be >= 1")
    if len(per_source) < k:
        return []
    events: list[tuple[int, int]] = []
    for intervals in per_source:
        for start, end in intervals:
            if start < end:
                events.append((start, 1))
                events.append((end, -1))
    # At equal times the -1 (end) sorts before +1 (start): [a,b) and [b,c) never overlap.
    events.sort()
    result: list[Interval] = []
    active = 0
    opened_at = 0
    for moment, delta in events:
        before = active
        active += delta
        if before < k <= active:
            opened_at = moment
        elif active < k <= before and moment > opened_at:
            if result and result[-1][1] == opened_at:
                result[-1] = (result[-1][0], moment)
            else:
                result.append((opened_at, moment))
    return result


class IntervalIndex:
    """Finds the intervals of one source that overlap a query window, in O(log n + k).

    Intervals are sorted by start; ``prefix_max_end[i]`` is the largest end among the
    first ``i + 1``. Scanning back from the last start before the window's end, we can
    stop as soon as that running maximum no longer reaches the window: nothing earlier
    can overlap. Long recordings that swallow later short ones stay correct.
    """

    __slots__ = ("_ends", "_items", "_prefix_max_end", "_starts")

    def __init__(self, items: Iterable[tuple[int, int, object]]) -> None:
        self._items = sorted(items, key=itemgetter(0, 1))
        self._starts = [item[0] for item in self._items]
        self._ends = [item[1] for item in self._items]
        self._prefix_max_end = list(accumulate(self._ends, max))

    def __len__(self) -> int:
        return len(self._starts)

    def overlapping(self, lo: int, hi: int) -> list[int]:
        """Positions (in start order) of the items with ``start <= hi`` and ``end >= lo``.

        Closed on both sides so that a zero-length window still finds the recording
        running at that instant, and a file ending exactly at the window start is seen
        (it may be joined to a later split file).
        """
        position = bisect_left(self._starts, hi + 1) - 1
        found: list[int] = []
        ends = self._ends
        prefix = self._prefix_max_end
        while position >= 0 and prefix[position] >= lo:
            if ends[position] >= lo:
                found.append(position)
            position -= 1
        found.reverse()
        return found

    def items_overlapping(self, lo: int, hi: int) -> list[tuple[int, int, object]]:
        """The ``(start, end, payload)`` items :meth:`overlapping` finds, in start order."""
        items = self._items
        return [items[position] for position in self.overlapping(lo, hi)]

    def interval(self, position: int) -> Interval:
        return (self._starts[position], self._ends[position])

    def payload(self, position: int) -> object:
        return self._items[position][2]
