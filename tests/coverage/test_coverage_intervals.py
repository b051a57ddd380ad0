"""Interval arithmetic: examples and properties checked against brute force on a grid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage_core.intervals import (
    IntervalIndex,
    clip,
    complement,
    covering_at_least,
    from_us,
    interior_gaps,
    merge,
    to_us,
    total_length,
)

coordinate = st.integers(min_value=0, max_value=200)
raw_interval = st.tuples(coordinate, coordinate).map(lambda pair: (min(pair), max(pair)))
interval_lists = st.lists(raw_interval, max_size=12)
gap_size = st.integers(min_value=0, max_value=10)


def covered_points(intervals: list[tuple[int, int]]) -> set[int]:
    """Unit cells [x, x+1) covered by any interval."""
    return {x for start, end in intervals for x in range(start, end)}


def test_merge_joins_split_files_within_gap_and_keeps_real_gaps() -> None:
    files = [(0, 10), (12, 20), (40, 50), (50, 55)]
    assert merge(files, max_gap=2) == [(0, 20), (40, 55)]
    assert merge(files, max_gap=1) == [(0, 10), (12, 20), (40, 55)]


def test_merge_collapses_overlapping_duplicates_and_drops_empty() -> None:
    assert merge([(5, 30), (0, 10), (5, 30), (7, 7), (40, 40)]) == [(0, 30)]


def test_merge_refuses_negative_gap() -> None:
    with pytest.raises(ValueError):
        merge([(0, 1)], max_gap=-1)


def test_complement_lists_leading_inner_and_trailing_gaps() -> None:
    assert complement([(10, 20), (30, 40)], lo=0, hi=50) == [(0, 10), (20, 30), (40, 50)]
    assert complement([], lo=0, hi=5) == [(0, 5)]
    assert complement([(0, 5)], lo=0, hi=5) == []


def test_covering_at_least_counts_an_officer_once_per_instant() -> None:
    officer_a = merge([(0, 10), (0, 10)])  # duplicate file: still one officer
    officer_b = [(5, 20)]
    assert covering_at_least([officer_a, officer_b], k=2) == [(5, 10)]
    assert covering_at_least([officer_a], k=2) == []
    # Hand-over at the same instant: [0,10) then [10,20) by B while A covers all.
    assert covering_at_least([[(0, 20)], [(0, 10), (10, 20)]], k=2) == [(0, 20)]


def test_datetime_round_trip_and_naive_refused() -> None:
    moment = datetime(2026, 11, 23, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=8)))
    assert from_us(to_us(moment)) == moment
    assert from_us(to_us(moment)).tzinfo is UTC
    with pytest.raises(ValueError, match="naive"):
        to_us(datetime(2026, 1, 1))


@given(interval_lists, gap_size)
def test_merge_is_idempotent_sorted_and_disjoint(intervals: list, gap: int) -> None:
    merged = merge(intervals, max_gap=gap)
    assert merge(merged, max_gap=gap) == merged
    for (_, end), (next_start, _) in pairwise(merged):
        assert next_start - end > gap
    assert all(start < end for start, end in merged)


@given(interval_lists)
def test_merge_without_gap_covers_exactly_the_input(intervals: list) -> None:
    merged = merge(intervals)
    assert covered_points(merged) == covered_points(intervals)
    assert total_length(merged) == len(covered_points(intervals))


@given(interval_lists, gap_size)
def test_merge_with_gap_only_fills_holes_up_to_gap(intervals: list, gap: int) -> None:
    merged = merge(intervals, max_gap=gap)
    assert covered_points(intervals) <= covered_points(merged)
    for start, end in interior_gaps(merge(intervals)):
        filled = any(a <= start and end <= b for a, b in merged)
        assert filled == (end - start <= gap)


@given(interval_lists, coordinate, coordinate)
def test_clip_and_complement_partition_the_window(intervals: list, a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    clipped = clip(merge(intervals), lo=lo, hi=hi)
    gaps = complement(clipped, lo=lo, hi=hi)
    assert total_length(clipped) + total_length(gaps) == hi - lo
    assert covered_points(clipped) == covered_points(intervals) & set(range(lo, hi))
    assert not covered_points(clipped) & covered_points(gaps)


@given(st.lists(interval_lists, min_size=0, max_size=4), st.integers(min_value=1, max_value=4))
def test_covering_at_least_matches_brute_force(per_source: list, k: int) -> None:
    merged = [merge(intervals) for intervals in per_source]
    expected = {x for x in range(0, 201) if sum(x in covered_points(src) for src in merged) >= k}
    result = covering_at_least(merged, k=k)
    assert covered_points(result) == expected
    assert merge(result) == result  # disjoint, sorted, touching pieces joined


@given(
    st.lists(st.tuples(coordinate, st.integers(min_value=0, max_value=60)), max_size=30),
    coordinate,
    coordinate,
)
def test_interval_index_finds_exactly_the_overlapping(raw: list, a: int, b: int) -> None:
    items = [(start, start + length, position) for position, (start, length) in enumerate(raw)]
    index = IntervalIndex(items)
    lo, hi = min(a, b), max(a, b)
    found = sorted(index.payload(position) for position in index.overlapping(lo, hi))
    expected = sorted(payload for start, end, payload in items if start <= hi and end >= lo)
    assert found == expected
