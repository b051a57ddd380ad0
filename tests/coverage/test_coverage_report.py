"""Monthly report figures from judged activities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.coverage.evaluation import (
    ActivityWindow,
    CoverageResult,
    CoverageRule,
    RecordingInterval,
    ReportItem,
    Verdict,
    aggregate_monthly,
    evaluate_activity,
)

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
S = timedelta(seconds=1)
RULE = CoverageRule(full_process=True, late_start_grace=30 * S, early_stop_grace=30 * S)


def judged(
    recordings: dict[str, list[tuple[int, int]]],
    *,
    rule: CoverageRule = RULE,
    stop: int | None = 3600,
) -> CoverageResult:
    return evaluate_activity(
        window=ActivityWindow(start=T0, stop=None if stop is None else T0 + stop * S),
        rule=rule,
        required_officers=list(recordings),
        recordings_by_officer={
            officer: [RecordingInterval(T0 + a * S, T0 + b * S) for a, b in spans]
            for officer, spans in recordings.items()
        },
    )


def test_unit_and_officer_figures() -> None:
    results = [
        judged({"a": [(0, 3600)]}),  # compliant
        judged({"a": [(300, 3600)]}),  # late start
        judged({"a": [(0, 1000), (1060, 2000), (2100, 3000)], "b": []}),  # gaps 60, 100 + early
        judged({"b": []}),  # not recorded
        judged({"a": [(0, 600)]}, stop=None),  # open: undecidable
        judged({"a": []}, rule=CoverageRule(required=False)),  # not required
    ]
    verdicts = [r.verdict for r in results]
    assert verdicts == [
        Verdict.COMPLIANT,
        Verdict.LATE_START,
        Verdict.EARLY_STOP,
        Verdict.NOT_RECORDED,
        Verdict.UNDECIDABLE,
        Verdict.NOT_REQUIRED,
    ]
    items = [ReportItem(result=r, unit="城关司法所", month="2026-11") for r in results]
    items.append(ReportItem(result=results[0], unit="城关司法所", month="2026-12"))

    by_unit = aggregate_monthly(items, by="unit")
    assert [(f.month, f.key) for f in by_unit] == [
        ("2026-11", "城关司法所"),
        ("2026-12", "城关司法所"),
    ]
    november = by_unit[0]
    assert (november.activities, november.required, november.recorded) == (6, 5, 4)
    assert november.activation_rate == pytest.approx(4 / 5)
    assert (november.decided, november.compliant, november.undecidable) == (4, 1, 1)
    assert november.compliance_rate == pytest.approx(1 / 4)
    assert (november.late_start, november.early_stop, november.gaps) == (1, 1, 1)
    assert november.gap_count == 2
    assert november.median_gap_us == 60_000_000
    assert by_unit[1].compliance_rate == 1.0
    assert by_unit[1].median_gap_us is None

    by_officer = {f.key: f for f in aggregate_monthly(items[:-1], by="officer")}
    assert by_officer["b"].required == 2
    assert by_officer["b"].recorded == 0
    assert by_officer["b"].activation_rate == 0.0
    assert by_officer["a"].required == 4
    assert by_officer["a"].recorded == 4
    assert by_officer["a"].to_dict()["median_gap_seconds"] == 60.0


def test_empty_input_gives_no_rows() -> None:
    assert aggregate_monthly([], by="unit") == []
