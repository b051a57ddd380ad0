"""持证上岗 in the pure check: a participant without a certificate valid on the day takes
part and their footage counts, but they do not count toward the rule's minimum officers."""

from __future__ import annotations

from coverage_core.evaluation import (
    ActivityInput,
    CoverageResult,
    CoverageRule,
    Verdict,
    evaluate_activity,
    evaluate_many,
)
from tests.coverage.test_coverage_evaluation import STRICT, rec, window

TWO = CoverageRule(
    min_officers=2,
    late_start_grace=STRICT.late_start_grace,
    early_stop_grace=STRICT.early_stop_grace,
    max_split_gap=STRICT.max_split_gap,
)
LABELS = {"a": "李明", "b": "王芳", "c": "赵强"}
BOTH_RECORD = {"a": [rec(0, 600)], "b": [rec(0, 600)]}


def judge(uncertified: tuple[str, ...]) -> CoverageResult:
    """a and b take part in a two-officer activity and both record all of it."""
    return evaluate_activity(
        window=window(0, 600),
        rule=TWO,
        required_officers=["a", "b"],
        recordings_by_officer=BOTH_RECORD,
        officer_labels=LABELS,
        uncertified_officers=uncertified,
    )


def test_two_certified_officers_recording_are_compliant() -> None:
    assert judge(()).verdict is Verdict.COMPLIANT


def test_an_uncertified_second_officer_does_not_make_two() -> None:
    result = judge(("b",))
    assert result.verdict is Verdict.INSUFFICIENT_OFFICERS
    [finding] = [f for f in result.findings if f.blocking]
    assert finding.kind is Verdict.INSUFFICIENT_OFFICERS
    assert "王芳" in finding.reason_zh and "无有效执法证件" in finding.reason_zh
    assert "持证参与 1 人，少于要求的 2 人" in finding.reason_zh
    assert "王芳" in finding.reason_en and "certificate" in finding.reason_en
    # The footage still counts as footage: the window is covered.
    assert result.covered_fraction == 1.0


def test_a_lone_uncertified_officer_does_not_satisfy_a_one_officer_rule() -> None:
    result = evaluate_activity(
        window=window(0, 600),
        rule=STRICT,
        required_officers=["c"],
        recordings_by_officer={"c": [rec(0, 600)]},
        officer_labels=LABELS,
        uncertified_officers=["c"],
    )
    assert result.verdict is Verdict.INSUFFICIENT_OFFICERS
    assert any("赵强" in reason for reason in result.reasons_zh)


def test_an_uncertified_third_officer_is_named_but_does_not_block() -> None:
    result = evaluate_activity(
        window=window(0, 600),
        rule=TWO,
        required_officers=["a", "b", "c"],
        recordings_by_officer={**BOTH_RECORD, "c": [rec(0, 600)]},
        officer_labels=LABELS,
        uncertified_officers=["c"],
    )
    assert result.verdict is Verdict.COMPLIANT
    [notice] = [f for f in result.findings if f.kind is Verdict.INSUFFICIENT_OFFICERS]
    assert not notice.blocking
    assert "赵强" in notice.reason_zh and "未计入执法人数" in notice.reason_zh


def test_uncertified_recordings_do_not_fill_the_two_officer_overlap() -> None:
    # a and b certified, c not: b records only the first half, c the second. Two
    # certified officers took part, but for half the window only one of them recorded.
    result = evaluate_activity(
        window=window(0, 600),
        rule=TWO,
        required_officers=["a", "b", "c"],
        recordings_by_officer={"a": [rec(0, 600)], "b": [rec(0, 300)], "c": [rec(300, 600)]},
        officer_labels=LABELS,
        uncertified_officers=["c"],
    )
    assert result.verdict is Verdict.INSUFFICIENT_OFFICERS
    certified_only = evaluate_activity(
        window=window(0, 600),
        rule=TWO,
        required_officers=["a", "b", "c"],
        recordings_by_officer={"a": [rec(0, 600)], "b": [rec(0, 300)], "c": [rec(300, 600)]},
        officer_labels=LABELS,
    )
    assert certified_only.verdict is Verdict.COMPLIANT


def test_bulk_check_agrees() -> None:
    activities = [
        ActivityInput(activity_id=1, window=window(0, 600), rule=TWO, officers=("a", "b")),
        ActivityInput(
            activity_id=2,
            window=window(0, 600),
            rule=TWO,
            officers=("a", "b"),
            uncertified=frozenset({"b"}),
        ),
    ]
    certified, uncertified = evaluate_many(activities, BOTH_RECORD, officer_labels=LABELS)
    assert certified.verdict is Verdict.COMPLIANT
    assert uncertified.verdict is Verdict.INSUFFICIENT_OFFICERS
    assert uncertified.reasons_zh == judge(("b",)).reasons_zh
