"""Monthly report figures from judged activities: ``monthly_figures``, the one aggregation
the report pages use, fed as coverage/selectors.py feeds it (stored results: gap lengths as
JSON seconds, per unit or per officer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coverage_core.evaluation import (
    ActivityWindow,
    CoverageResult,
    CoverageRule,
    MonthlyEntry,
    RecordingInterval,
    Verdict,
    evaluate_activity,
    monthly_figures,
    seconds_to_us,
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


def stored_entries(
    items: list[tuple[CoverageResult, object, str]], *, by: str
) -> list[MonthlyEntry]:
    """(result, unit, month) as the report pages read them back from the stored rows."""
    entries = []
    for result, unit, month in items:
        late = result.has_blocking(Verdict.LATE_START)
        early = result.has_blocking(Verdict.EARLY_STOP)
        if by == "unit":
            keyed = [(unit, bool(result.officers_recorded), result.interior_gaps)]
        else:
            keyed = [(o.officer_id, o.recorded, o.interior_gaps) for o in result.officers]
        for key, recorded, holes in keyed:
            entries.append(
                MonthlyEntry(
                    month=month,
                    key=key,
                    verdict=result.verdict,
                    recorded=recorded,
                    late_start=late,
                    early_stop=early,
                    gap_lengths_us=tuple(seconds_to_us(h.length_us / 1_000_000) for h in holes),
                )
            )
    return entries


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
    items: list[tuple[CoverageResult, object, str]] = [
        (r, "城关司法所", "2026-11") for r in results
    ]
    items.append((results[0], "城关司法所", "2026-12"))

    by_unit = monthly_figures(stored_entries(items, by="unit"))
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

    by_officer = {f.key: f for f in monthly_figures(stored_entries(items[:-1], by="officer"))}
    assert by_officer["b"].required == 2
    assert by_officer["b"].recorded == 0
    assert by_officer["b"].activation_rate == 0.0
    assert by_officer["a"].required == 4
    assert by_officer["a"].recorded == 4
    assert by_officer["a"].to_dict()["median_gap_seconds"] == 60.0


def test_empty_input_gives_no_rows() -> None:
    assert monthly_figures([]) == []


def entry(
    verdict: Verdict, *, key: object = 1, explained: bool = False, **kw: object
) -> MonthlyEntry:
    fields: dict = {
        "recorded": True,
        "late_start": False,
        "early_stop": False,
        "gap_lengths_us": (),
    }
    fields.update(kw)
    return MonthlyEntry(month="2026-11", key=key, verdict=verdict, explained=explained, **fields)


def test_explained_counts_only_decided_activities_that_are_not_compliant() -> None:
    (figures,) = monthly_figures(
        [
            entry(Verdict.COMPLIANT, explained=True),  # compliant: nothing to explain
            entry(Verdict.LATE_START, late_start=True, explained=True),  # explained
            entry(Verdict.EARLY_STOP, early_stop=True),  # not explained
            entry(Verdict.UNDECIDABLE, explained=True),  # not decided: not counted
            entry(Verdict.NOT_REQUIRED, recorded=False, explained=True),  # activities only
        ]
    )
    assert (figures.activities, figures.required, figures.decided) == (5, 4, 3)
    assert figures.explained == 1
    assert figures.compliance_rate == pytest.approx(1 / 3)
    assert figures.compliance_rate_explained == pytest.approx(2 / 3)
    page = figures.report_figures()
    assert (page["explained"], page["compliance_rate_explained"]) == (1, 0.6667)
    assert page["with_gaps"] == figures.gaps == 0


def test_gap_lengths_are_whole_microseconds_from_stored_seconds() -> None:
    # Stored results keep gap lengths as JSON seconds; the aggregation counts whole
    # microseconds, so a stored 0.1 + 0.2 s is the same gap as a fresh 300 ms one.
    stored = [0.1 + 0.2, 120.0, 59.999999]
    assert [seconds_to_us(s) for s in stored] == [300_000, 120_000_000, 59_999_999]
    (figures,) = monthly_figures(
        [entry(Verdict.EARLY_STOP, gap_lengths_us=tuple(seconds_to_us(s) for s in stored))]
    )
    assert figures.median_gap_us == 59_999_999
    assert isinstance(figures.median_gap_us, int)
    assert figures.report_figures()["median_gap_seconds"] == 59.999999


def test_groups_sort_by_month_then_id_numerically() -> None:
    figures = monthly_figures(
        [
            entry(Verdict.COMPLIANT, key=10),
            entry(Verdict.COMPLIANT, key=9),
            MonthlyEntry("2026-10", 10, Verdict.COMPLIANT, True, False, False, ()),
        ]
    )
    assert [(f.month, f.key) for f in figures] == [("2026-10", 10), ("2026-11", 9), ("2026-11", 10)]
