"""The coverage check: examples for every verdict, bad input, and hypothesis properties.

Pure functions, no database: plain test functions (pytest-django's db is never used).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coverage_core.evaluation import (
    VERDICT_ORDER,
    ActivityInput,
    ActivityWindow,
    CoverageResult,
    CoverageRule,
    InvalidRecordingError,
    InvalidWindowError,
    RecordingInterval,
    Verdict,
    evaluate_activity,
    evaluate_many,
    verdict_rank,
)
from coverage_core.wording import format_duration_en, format_duration_zh

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
S = timedelta(seconds=1)
MIN = timedelta(minutes=1)
STRICT = CoverageRule(late_start_grace=30 * S, early_stop_grace=30 * S, max_split_gap=5 * S)


def rec(start: float, end: float, *, known: bool = True, base: datetime = T0) -> RecordingInterval:
    """A recording from ``start`` to ``end`` seconds after ``base``."""
    return RecordingInterval(start=base + start * S, end=base + end * S, offset_known=known)


def window(start: float, stop: float | None, *, base: datetime = T0) -> ActivityWindow:
    return ActivityWindow(
        start=base + start * S,
        stop=None if stop is None else base + stop * S,
        start_label="进入调查取证场所",
        stop_label="离开调查取证场所",
    )


def check(
    win: ActivityWindow,
    recordings: dict[str, list[RecordingInterval]],
    rule: CoverageRule = STRICT,
    officers: tuple[str, ...] | None = None,
    **kwargs: Any,
) -> CoverageResult:
    return evaluate_activity(
        window=win,
        rule=rule,
        required_officers=list(officers if officers is not None else recordings),
        recordings_by_officer=recordings,
        **kwargs,
    )


def blocking_kinds(result: CoverageResult) -> list[Verdict]:
    return [finding.kind for finding in result.findings if finding.blocking]


# ------------------------------------------------------------------ examples


def test_one_recording_over_the_whole_window_is_compliant() -> None:
    result = check(window(0, 3600), {"a": [rec(-10, 3610)]})
    assert result.verdict is Verdict.COMPLIANT
    assert result.covered_fraction == 1.0
    assert result.gaps == ()
    assert result.officers_recorded == ("a",)
    assert result.reasons_zh == ["符合要求：覆盖率 100.0%"]


def test_late_start_reason_names_the_moment_and_the_delay() -> None:
    result = check(window(0, 3600), {"a": [rec(192, 3600)]})
    assert result.verdict is Verdict.LATE_START
    assert result.late_start_us == 192_000_000
    assert result.reasons_zh == ["开始记录晚于「进入调查取证场所」3分12秒（允许延迟30秒）"]
    assert result.reasons_en == [
        "Recording started 3 min 12 s after “进入调查取证场所” (grace 30 s)"
    ]


def test_start_within_grace_is_compliant() -> None:
    result = check(window(0, 3600), {"a": [rec(30, 3600)]})
    assert result.verdict is Verdict.COMPLIANT
    assert result.late_start_us == 30_000_000
    assert result.gaps[0].length == 30 * S  # still listed as an uncovered piece


def test_early_stop() -> None:
    result = check(window(0, 3600), {"a": [rec(0, 3000)]})
    assert result.verdict is Verdict.EARLY_STOP
    assert result.early_stop_us == 600_000_000
    assert result.reasons_zh == ["停止记录早于「离开调查取证场所」10分（允许提前30秒）"]


def test_gap_blocks_a_full_process_rule_and_is_a_notice_otherwise() -> None:
    recordings = {"a": [rec(0, 1000), rec(1125, 3600)]}
    full = check(window(0, 3600), recordings, CoverageRule(full_process=True))
    assert full.verdict is Verdict.GAPS
    assert [(g.start_us - full.window_start_us, g.length_us) for g in full.interior_gaps] == [
        (1000_000_000, 125_000_000)
    ]
    assert full.reasons_zh == ["全过程记录中断 1 处，共 2分5秒，最长 2分5秒（09:16:40–09:18:45）"]
    key_moments = check(window(0, 3600), recordings, CoverageRule(full_process=False))
    assert key_moments.verdict is Verdict.COMPLIANT
    assert key_moments.findings[0].kind is Verdict.GAPS
    assert not key_moments.findings[0].blocking


def test_split_files_within_the_tolerance_are_continuous() -> None:
    files = [rec(0, 600), rec(603, 1200), rec(1205, 3600)]
    result = check(
        window(0, 3600), {"a": files}, CoverageRule(max_split_gap=5 * S, full_process=True)
    )
    assert result.verdict is Verdict.COMPLIANT
    assert result.covered_fraction == 1.0
    tighter = check(
        window(0, 3600), {"a": files}, CoverageRule(max_split_gap=4 * S, full_process=True)
    )
    assert tighter.verdict is Verdict.GAPS
    assert [g.length_us for g in tighter.interior_gaps] == [5_000_000]


def test_split_file_before_the_window_bridges_into_it() -> None:
    # The file ending 2 s before the start joins the one starting 2 s after it.
    result = check(
        window(0, 600), {"a": [rec(-300, -2), rec(2, 600)]}, CoverageRule(late_start_grace=0 * S)
    )
    assert result.late_start_us == 0
    assert result.verdict is Verdict.COMPLIANT


def test_overlapping_duplicate_recordings_count_once() -> None:
    single = check(window(0, 3600), {"a": [rec(0, 1800)]})
    duplicated = check(window(0, 3600), {"a": [rec(0, 1800), rec(0, 1800), rec(100, 1700)]})
    assert duplicated.covered_us == single.covered_us == 1800_000_000
    assert duplicated.verdict is single.verdict is Verdict.EARLY_STOP


def test_nobody_recorded() -> None:
    result = check(window(0, 600), {"a": [rec(700, 900)], "b": []})
    assert result.verdict is Verdict.NOT_RECORDED
    assert result.covered_fraction == 0.0
    assert result.late_start_us is None
    assert result.reasons_zh[0] == (
        "要求的执法人员（2 人）在「进入调查取证场所」至「离开调查取证场所」期间均无音像记录"
    )


def test_recordings_of_officers_not_required_are_ignored() -> None:
    result = check(window(0, 600), {"a": [], "stranger": [rec(0, 600)]}, officers=("a",))
    assert result.verdict is Verdict.NOT_RECORDED
    assert [officer.officer_id for officer in result.officers] == ["a"]


def test_not_required_short_circuits() -> None:
    result = check(window(0, 600), {"a": []}, CoverageRule(required=False))
    assert result.verdict is Verdict.NOT_REQUIRED
    assert result.reasons_zh == ["该执法环节不要求音像记录"]


def test_open_activity_is_undecidable_but_shows_what_is_known() -> None:
    result = check(window(0, None), {"a": [rec(200, 900)]}, as_of=T0 + 1000 * S)
    assert result.verdict is Verdict.UNDECIDABLE
    assert not result.window_closed
    assert result.window_end_us - result.window_start_us == 1000_000_000
    kinds = blocking_kinds(result)
    assert Verdict.LATE_START in kinds  # the late start is already a fact
    assert Verdict.EARLY_STOP not in kinds  # the end is not
    assert result.reasons_zh[0] == "尚未到达「离开调查取证场所」，暂无法判定"


def test_unknown_clock_offset_makes_a_failing_activity_undecidable() -> None:
    # Device clock 8 hours off with unknown offset: its file cannot be placed.
    result = check(window(0, 600), {"a": [rec(8 * 3600, 8 * 3600 + 600, known=False)]})
    assert result.verdict is Verdict.UNDECIDABLE
    assert result.unknown_offset_recordings == 1
    assert "设备时钟偏差未知" in result.reasons_zh[0]
    # Not "not recorded": that finding stays, but ranks below undecidable.
    assert Verdict.NOT_RECORDED in blocking_kinds(result)


def test_unknown_clock_offset_does_not_block_an_already_compliant_activity() -> None:
    result = check(window(0, 600), {"a": [rec(0, 600), rec(50, 60, known=False)]})
    assert result.verdict is Verdict.COMPLIANT
    assert [(f.kind, f.blocking) for f in result.findings] == [(Verdict.UNDECIDABLE, False)]


def test_evidence_collection_with_one_participant_is_insufficient() -> None:
    rule = CoverageRule(min_officers=2)
    result = check(window(0, 600), {"a": [rec(0, 600)]}, rule)
    assert result.verdict is Verdict.INSUFFICIENT_OFFICERS
    assert result.reasons_zh == ["参与执法人员 1 人，少于要求的 2 人"]
    # An unplaceable file cannot add a participant: still insufficient, not undecidable.
    with_unknown = check(window(0, 600), {"a": [rec(0, 600), rec(0, 600, known=False)]}, rule)
    assert with_unknown.verdict is Verdict.INSUFFICIENT_OFFICERS


def test_evidence_collection_where_only_one_of_two_recorded() -> None:
    result = check(window(0, 600), {"a": [rec(0, 600)], "b": []}, CoverageRule(min_officers=2))
    assert result.verdict is Verdict.INSUFFICIENT_OFFICERS
    assert result.covered_fraction == 1.0
    assert result.min_officers_fraction == 0.0
    assert result.reasons_zh[0] == "仅 1 名执法人员有记录，要求至少 2 人记录"
    assert any(f.officer_id == "b" and not f.blocking for f in result.findings)


def test_second_officer_stopping_early_leaves_one_recording() -> None:
    rule = CoverageRule(min_officers=2, max_split_gap=5 * S)
    result = check(window(0, 3600), {"a": [rec(0, 3600)], "b": [rec(0, 3000)]}, rule)
    assert result.verdict is Verdict.INSUFFICIENT_OFFICERS
    assert result.min_officers_covered_us == 3000_000_000
    assert result.reasons_zh[0].startswith("有 9分30秒 少于 2 名执法人员同时记录")
    both = check(window(0, 3600), {"a": [rec(0, 3600)], "b": [rec(10, 3590)]}, rule)
    assert both.verdict is Verdict.COMPLIANT


def test_combined_coverage_across_officers_fills_one_officers_gap() -> None:
    result = check(
        window(0, 3600),
        {"a": [rec(0, 1800)], "b": [rec(1790, 3600)]},
        CoverageRule(full_process=True),
    )
    assert result.verdict is Verdict.COMPLIANT
    assert [o.covered_fraction for o in result.officers] == [0.5, pytest.approx(1810 / 3600)]
    assert result.covered_fraction == 1.0


def test_most_severe_finding_wins() -> None:
    result = check(
        window(0, 3600),
        {"a": [rec(300, 1000), rec(1200, 3000)]},
        CoverageRule(full_process=True),
    )
    assert blocking_kinds(result) == [Verdict.LATE_START, Verdict.EARLY_STOP, Verdict.GAPS]
    assert result.verdict is Verdict.LATE_START


def test_recording_across_midnight_shows_the_date_when_it_changes() -> None:
    # 23:50 to 00:40 Asia/Shanghai (15:50 to 16:40 UTC), hole at 00:10-00:12 local.
    base = datetime(2026, 11, 23, 15, 50, tzinfo=UTC)
    result = check(
        window(0, 3000, base=base),
        {"a": [rec(0, 1200, base=base), rec(1320, 3000, base=base)]},
        CoverageRule(full_process=True),
    )
    assert result.verdict is Verdict.GAPS
    assert "（2026-11-24 00:10:00–2026-11-24 00:12:00）" in result.reasons_zh[0]
    assert result.covered_us == 2880_000_000


def test_zero_length_window() -> None:
    assert check(window(100, 100), {"a": [rec(0, 200)]}).verdict is Verdict.COMPLIANT
    assert check(window(100, 100), {"a": [rec(0, 50)]}).verdict is Verdict.NOT_RECORDED


def test_bad_input_is_refused_precisely() -> None:
    with pytest.raises(InvalidWindowError):
        check(window(600, 0), {"a": []})
    with pytest.raises(InvalidRecordingError):
        check(window(0, 600), {"a": [rec(600, 0)]})
    with pytest.raises(ValueError, match="naive"):
        check(ActivityWindow(start=datetime(2026, 1, 1), stop=None), {"a": []})
    naive = RecordingInterval(datetime(2026, 1, 1), datetime(2026, 1, 2))
    activity = ActivityInput(activity_id=1, window=window(0, 600), rule=STRICT, officers=("a",))
    with pytest.raises(ValueError, match="naive"):
        evaluate_many([activity], {"a": [naive]})
    with pytest.raises(InvalidRecordingError):
        evaluate_many([activity], {"a": [rec(600, 0)]})
    with pytest.raises(InvalidWindowError):
        evaluate_many(
            [ActivityInput(activity_id=1, window=window(9, 0), rule=STRICT, officers=())], {}
        )
    with pytest.raises(ValueError):
        CoverageRule(min_officers=0)
    with pytest.raises(ValueError):
        CoverageRule(max_split_gap=-S)


def test_officer_labels_and_result_serialisation() -> None:
    result = check(
        window(0, 600),
        {"a": [rec(0, 600)], "b": []},
        CoverageRule(min_officers=1),
        officer_labels={"b": "李四"},
    )
    assert result.reasons_zh == ["执法人员 李四 在活动期间无记录"]
    data = result.to_dict()
    assert data["verdict"] == "compliant"
    assert data["officers"][1]["recorded"] is False
    assert data["window"]["from"] == "2026-11-23T01:00:00+00:00"
    json.dumps(data)  # JSON-safe as it is


def test_result_dict_turns_uuid_ids_into_strings() -> None:
    officer = uuid.UUID(int=7)
    result = evaluate_activity(
        window=window(0, 600),
        rule=STRICT,
        required_officers=[officer],
        recordings_by_officer={officer: [rec(0, 600)]},
        activity_id=uuid.UUID(int=9),
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["activity_id"] == str(uuid.UUID(int=9))
    assert data["officers_recorded"] == [str(officer)]
    assert data["officers"][0]["officer_id"] == str(officer)


def test_durations_render_in_chinese_and_english() -> None:
    assert format_duration_zh(192_000_000) == "3分12秒"
    assert format_duration_zh(3_605_000_000) == "1小时5秒"
    assert format_duration_zh(12_440_000) == "12.4秒"
    assert format_duration_zh(0) == "0秒"
    assert format_duration_en(3_720_000_000) == "1 h 2 min"


def test_verdict_order_is_complete_and_documented() -> None:
    assert set(VERDICT_ORDER) == set(Verdict)
    assert verdict_rank(Verdict.UNDECIDABLE) < verdict_rank(Verdict.NOT_RECORDED)
    assert verdict_rank(Verdict.LATE_START) < verdict_rank(Verdict.GAPS)
    assert VERDICT_ORDER[-1] is Verdict.COMPLIANT


def test_evaluate_many_finds_recordings_and_matches_single_evaluation() -> None:
    recordings = {
        "a": [rec(-4000, -3000), rec(0, 1000), rec(1003, 2000), rec(5000, 9000)],
        "b": [rec(0, 2000, known=False), rec(-100000, 100000)],
    }
    activities = [
        ActivityInput(activity_id=1, window=window(0, 2000), rule=STRICT, officers=("a",)),
        ActivityInput(activity_id=2, window=window(6000, 7000), rule=STRICT, officers=("a", "b")),
        ActivityInput(activity_id=3, window=window(2500, 4000), rule=STRICT, officers=("a",)),
        ActivityInput(activity_id=4, window=window(0, 100), rule=STRICT, officers=("c",)),
    ]
    results = evaluate_many(activities, recordings)
    assert [r.verdict for r in results] == [
        Verdict.COMPLIANT,
        Verdict.COMPLIANT,
        Verdict.NOT_RECORDED,
        Verdict.NOT_RECORDED,
    ]
    assert results[1].officers_recorded == ("a", "b")
    assert [r.activity_id for r in results] == [1, 2, 3, 4]


# ---------------------------------------------------------------- properties

seconds = st.integers(min_value=-200, max_value=1400)
recording_strategy = st.builds(
    lambda start, length, known, micro: RecordingInterval(
        start=T0 + start * S + micro * timedelta(microseconds=1),
        end=T0 + (start + length) * S,
        offset_known=known,
    ),
    seconds,
    st.integers(min_value=1, max_value=900),
    st.booleans().map(lambda unknown: not unknown) | st.just(True),
    st.integers(min_value=0, max_value=999_999),
)
officer_names = st.sampled_from(["a", "b", "c"])
recordings_strategy = st.dictionaries(
    officer_names, st.lists(recording_strategy, max_size=5), max_size=3
)
rule_strategy = st.builds(
    CoverageRule,
    min_officers=st.integers(min_value=1, max_value=3),
    late_start_grace=st.integers(min_value=0, max_value=60).map(lambda n: n * S),
    early_stop_grace=st.integers(min_value=0, max_value=60).map(lambda n: n * S),
    max_split_gap=st.integers(min_value=0, max_value=30).map(lambda n: n * S),
    full_process=st.booleans(),
)


@st.composite
def activities(
    draw: st.DrawFn, *, closed_only: bool = False
) -> tuple[ActivityWindow, CoverageRule, list[str], dict]:
    start = draw(st.integers(min_value=0, max_value=600))
    length = draw(st.integers(min_value=0, max_value=900))
    still_open = not closed_only and draw(st.integers(min_value=0, max_value=9)) == 0
    officers = draw(st.lists(officer_names, min_size=0, max_size=3, unique=True))
    return (
        window(start, None if still_open else start + length),
        draw(rule_strategy),
        officers,
        draw(recordings_strategy),
    )


def run(case: tuple, *, shift: timedelta = timedelta(0)) -> CoverageResult:
    win, rule, officers, recordings = case
    if shift:
        win = ActivityWindow(
            start=win.start + shift,
            stop=None if win.stop is None else win.stop + shift,
            start_label=win.start_label,
            stop_label=win.stop_label,
        )
        recordings = {
            officer: [
                RecordingInterval(r.start + shift, r.end + shift, r.offset_known) for r in items
            ]
            for officer, items in recordings.items()
        }
    return evaluate_activity(
        window=win, rule=rule, required_officers=officers, recordings_by_officer=recordings
    )


def comparable(result: CoverageResult) -> tuple:
    """Everything except absolute times and texts that print clock times."""
    return (
        result.verdict,
        [(f.kind, f.blocking, f.amount_us, f.officer_id) for f in result.findings],
        result.covered_us,
        result.covered_fraction,
        [g.length_us for g in result.gaps],
        result.late_start_us,
        result.early_stop_us,
        [(o.officer_id, o.covered_us, o.recorded) for o in result.officers],
        result.min_officers_covered_us,
    )


@given(activities())
def test_fractions_are_within_bounds_and_union_dominates(case: tuple) -> None:
    result = run(case)
    assert 0.0 <= result.covered_fraction <= 1.0
    assert 0.0 <= result.min_officers_fraction <= 1.0
    for officer in result.officers:
        assert 0.0 <= officer.covered_fraction <= 1.0
        assert result.covered_us >= officer.covered_us
        assert result.covered_fraction >= officer.covered_fraction
    assert result.min_officers_covered_us <= result.covered_us


@given(activities())
def test_gaps_and_coverage_add_up_to_the_window(case: tuple) -> None:
    result = run(case)
    assert result.covered_us + sum(g.length_us for g in result.gaps) == result.window_us
    for officer in result.officers:
        assert officer.covered_us + sum(g.length_us for g in officer.gaps) == result.window_us


@given(activities())
def test_verdict_is_the_most_severe_blocking_finding(case: tuple) -> None:
    result = run(case)
    ranks = [verdict_rank(f.kind) for f in result.findings if f.blocking]
    expected = VERDICT_ORDER[min(ranks)] if ranks else Verdict.COMPLIANT
    assert result.verdict is expected
    assert run(case).to_dict() == result.to_dict()  # deterministic


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(activities(), st.integers(min_value=-48, max_value=48), st.integers(0, 3599))
def test_shifting_everything_changes_nothing(case: tuple, hours: int, extra: int) -> None:
    shift = timedelta(hours=hours, seconds=extra)
    assert comparable(run(case, shift=shift)) == comparable(run(case))


@given(activities(), officer_names, recording_strategy)
def test_adding_a_recording_never_lowers_coverage(
    case: tuple, officer: str, extra: RecordingInterval
) -> None:
    win, rule, officers, recordings = case
    before = run(case)
    grown = dict(recordings)
    grown[officer] = [*grown.get(officer, []), extra]
    after = run((win, rule, officers, grown))
    assert after.covered_us >= before.covered_us
    assert after.min_officers_covered_us >= before.min_officers_covered_us
    for old, new in zip(before.officers, after.officers, strict=True):
        assert new.covered_us >= old.covered_us
    if before.verdict is Verdict.COMPLIANT and rule.min_officers == 1:
        assert after.verdict is Verdict.COMPLIANT


@given(activities(closed_only=True), st.integers(0, 100), st.integers(0, 100))
def test_recordings_covering_the_window_are_compliant(case: tuple, before: int, after: int) -> None:
    win, rule, _, _ = case
    assert win.stop is not None
    officers = ["a", "b", "c"][: rule.min_officers]
    covering = RecordingInterval(win.start - before * S, win.stop + after * S)
    assume(covering.end > covering.start)  # a zero-length file covers nothing
    result = run((win, rule, officers, {officer: [covering] for officer in officers}))
    assert result.verdict is Verdict.COMPLIANT
    assert result.covered_fraction == 1.0


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(activities(closed_only=True), min_size=1, max_size=5), recordings_strategy)
def test_bulk_evaluation_equals_one_by_one(cases: list, recordings: dict) -> None:
    inputs = [
        ActivityInput(activity_id=i, window=win, rule=rule, officers=tuple(officers))
        for i, (win, rule, officers, _) in enumerate(cases)
    ]
    bulk = evaluate_many(inputs, recordings)
    for activity, result in zip(inputs, bulk, strict=True):
        # Bulk looks at the recordings overlapping the window widened by the split gap.
        lo = activity.window.start - activity.rule.max_split_gap
        assert activity.window.stop is not None
        hi = activity.window.stop + activity.rule.max_split_gap
        nearby = {
            officer: [r for r in items if r.start <= hi and r.end >= lo]
            for officer, items in recordings.items()
        }
        single = evaluate_activity(
            window=activity.window,
            rule=activity.rule,
            required_officers=list(activity.officers),
            recordings_by_officer=nearby,
            activity_id=activity.activity_id,
        )
        assert result.to_dict() == single.to_dict()


def test_a_hole_inside_the_start_grace_is_not_a_gap() -> None:
    rule = CoverageRule(full_process=True, late_start_grace=30 * S, max_split_gap=0 * S)
    result = check(window(0, 3600), {"a": [rec(0, 2), rec(10, 3600)]}, rule)
    assert result.verdict is Verdict.COMPLIANT
    assert [g.length_us for g in result.interior_gaps] == [8_000_000]  # still listed
    late_hole = check(window(0, 3600), {"a": [rec(0, 2), rec(40, 3600)]}, rule)
    assert late_hole.verdict is Verdict.GAPS
    assert late_hole.findings[0].amount_us == 10_000_000  # only the part after the grace


def test_hand_over_between_officers_within_the_split_gap_is_continuous() -> None:
    recordings = {"a": [rec(0, 1800)], "b": [rec(1803, 3600)]}
    tolerant = CoverageRule(full_process=True, max_split_gap=5 * S)
    assert check(window(0, 3600), recordings, tolerant).verdict is Verdict.COMPLIANT
    strict = CoverageRule(full_process=True, max_split_gap=2 * S)
    assert check(window(0, 3600), recordings, strict).verdict is Verdict.GAPS


def test_evaluate_many_sees_a_split_file_just_before_the_window() -> None:
    rule = CoverageRule(late_start_grace=0 * S, max_split_gap=5 * S)
    recordings = {"a": [rec(-300, -2), rec(2, 600)]}
    activity = ActivityInput(activity_id=1, window=window(0, 600), rule=rule, officers=("a",))
    (result,) = evaluate_many([activity], recordings)
    assert result.verdict is Verdict.COMPLIANT
    assert result.late_start_us == 0


def test_evaluate_many_restores_the_garbage_collector_state() -> None:
    import gc

    activities = [ActivityInput(activity_id=1, window=window(0, 10), rule=STRICT, officers=("a",))]
    assert gc.isenabled()
    evaluate_many(activities, {"a": [rec(0, 10)]})
    assert gc.isenabled()
    with pytest.raises(InvalidRecordingError):
        evaluate_many(activities, {"a": [rec(10, 0)]})
    assert gc.isenabled()
    gc.disable()
    try:
        evaluate_many(activities, {"a": [rec(0, 10)]})
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_evaluate_many_judges_per_activity_inputs_on_their_own_recordings() -> None:
    # The same officer in two activities at the same time: each is judged only on the
    # recordings given with it (the database passes each activity's linked recordings),
    # never on the other's, and exactly as evaluate_activity judges them.
    linked = {"a": [rec(-5000, -4000), rec(0, 600)]}  # one far away: still counts as given
    first = ActivityInput(
        activity_id=1,
        window=window(0, 600),
        rule=STRICT,
        officers=("a",),
        recordings_by_officer=linked,
    )
    second = ActivityInput(
        activity_id=2,
        window=window(0, 600),
        rule=STRICT,
        officers=("a",),
        recordings_by_officer={},
    )
    one, two = evaluate_many([first, second])
    assert one.verdict is Verdict.COMPLIANT
    assert two.verdict is Verdict.NOT_RECORDED
    single = evaluate_activity(
        window=first.window,
        rule=STRICT,
        required_officers=["a"],
        recordings_by_officer=linked,
        activity_id=1,
    )
    assert one.to_dict() == single.to_dict()
    with pytest.raises(InvalidRecordingError):
        evaluate_many(
            [
                ActivityInput(
                    activity_id=3,
                    window=window(0, 600),
                    rule=STRICT,
                    officers=("a",),
                    recordings_by_officer={"a": [rec(600, 0)]},
                )
            ]
        )
