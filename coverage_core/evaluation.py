"""The coverage check: was an activity recorded from its start moment to its stop moment?

Pure stdlib, no Django: the services in this app load activities and recordings and
call :func:`evaluate_activity` (one activity) or :func:`evaluate_many` (bulk).

How one activity is judged (all times clock-corrected by the caller, UTC):

1. Only the activity's required officers count; recordings of anyone else are ignored.
2. Per officer, recordings are sorted and split files joined when the hole between
   them is at most ``rule.max_split_gap``; overlapping duplicates collapse. Then the
   result is clipped to the window ``[start moment, stop moment)``.
3. Combined coverage is the union over officers, joined with the same tolerance (a
   hand-over between two officers within ``max_split_gap`` is continuous).
4. Findings, each with Chinese and English reasons:
   - ``not_recorded``: no required officer recorded any part of the window.
   - ``late_start``: combined coverage begins more than ``late_start_grace`` after the
     start moment; ``early_stop``: it ends more than ``early_stop_grace`` before the
     stop moment.
   - ``gaps``: holes inside the combined coverage, after the start grace and before the
     stop grace (uncovered time inside a grace is forgiven wherever it falls). Blocking
     only for full-process rules (全过程音像记录); for the other rules the record list
     asks for the key moments (关键环节) and a hole is reported as a notice.
   - ``insufficient_officers``: fewer participants than ``min_officers``; fewer officers
     recorded than that; or, outside the graces, someone recorded while fewer than
     ``min_officers`` did for longer than ``max_split_gap`` (sweep line).
   - per-officer notices (not blocking): a participant with no recording at all.
   - ``undecidable``: the stop moment is not reached yet; or recordings with an
     unknown clock offset exist and the recordings with a known offset do not already
     satisfy the rule (so the unplaceable ones could change the answer), unless a
     staffing shortfall already decides it (no recording adds a participant).
   - ``not_required``: the rule does not require recording (short-circuits).
5. The verdict is the kind of the most severe *blocking* finding in
   :data:`VERDICT_ORDER`, or ``compliant`` when there is none.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from itertools import starmap
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from coverage_core import wording
from coverage_core.intervals import (
    Interval,
    IntervalIndex,
    clip,
    complement,
    covering_at_least,
    duration_us,
    from_us,
    interior_gaps,
    merge,
    to_us,
    total_length,
)
from coverage_core.wording import (
    VERDICT_LABELS_ZH,
)
from media.garbage_collection import collector_paused

OfficerKey = TypeVar("OfficerKey", bound=Hashable)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)

DISPLAY_TIMEZONE = ZoneInfo("Asia/Shanghai")
DEFAULT_LATE_START_GRACE = timedelta(seconds=30)
DEFAULT_EARLY_STOP_GRACE = timedelta(seconds=30)
DEFAULT_MAX_SPLIT_GAP = timedelta(seconds=5)
# An activity without a stop moment is judged provisionally up to ``as_of``; in bulk,
# without ``as_of``, recordings are looked up this far after the start moment.
OPEN_ACTIVITY_HORIZON = timedelta(hours=24)


class InvalidWindowError(ValueError):
    """The activity's stop moment is before its start moment."""


class InvalidRecordingError(ValueError):
    """A recording ends before it starts."""


class Verdict(StrEnum):
    COMPLIANT = "compliant"
    LATE_START = "late_start"
    EARLY_STOP = "early_stop"
    GAPS = "gaps"
    NOT_RECORDED = "not_recorded"
    NOT_REQUIRED = "not_required"
    UNDECIDABLE = "undecidable"
    INSUFFICIENT_OFFICERS = "insufficient_officers"


# Most severe first. ``not_required`` short-circuits and never meets another finding.
# ``undecidable`` outranks everything: a verdict built on incomplete facts must not be
# shown as settled. Missing the start moment (the officer announcing identity and
# cause) outranks missing the end, which outranks a hole in the middle.
VERDICT_ORDER: tuple[Verdict, ...] = (
    Verdict.NOT_REQUIRED,
    Verdict.UNDECIDABLE,
    Verdict.NOT_RECORDED,
    Verdict.INSUFFICIENT_OFFICERS,
    Verdict.LATE_START,
    Verdict.EARLY_STOP,
    Verdict.GAPS,
    Verdict.COMPLIANT,
)
_SEVERITY_RANK = {verdict: rank for rank, verdict in enumerate(VERDICT_ORDER)}


def verdict_rank(verdict: Verdict) -> int:
    """Position in :data:`VERDICT_ORDER`; lower is more severe."""
    return _SEVERITY_RANK[verdict]


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class CoverageRule:
    """What one record-list rule asks of an activity."""

    min_officers: int = 1
    late_start_grace: timedelta = DEFAULT_LATE_START_GRACE
    early_stop_grace: timedelta = DEFAULT_EARLY_STOP_GRACE
    max_split_gap: timedelta = DEFAULT_MAX_SPLIT_GAP
    full_process: bool = False
    required: bool = True

    def __post_init__(self) -> None:
        if self.min_officers < 1:
            raise ValueError("min_officers must be >= 1")
        for name in ("late_start_grace", "early_stop_grace", "max_split_gap"):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True, slots=True)
class ActivityWindow:
    """From the start moment to the stop moment (``None`` while not reached)."""

    start: datetime
    stop: datetime | None = None
    start_label: str = ""
    stop_label: str = ""


@dataclass(frozen=True, slots=True)
class RecordingInterval:
    """One recording's corrected span. ``offset_known=False``: the device clock offset
    is unknown, so the span cannot be placed on the real time line."""

    start: datetime
    end: datetime
    offset_known: bool = True
    recording_id: Hashable = None


@dataclass(frozen=True, slots=True)
class ActivityInput:
    """One activity for :func:`evaluate_many`."""

    activity_id: Hashable
    window: ActivityWindow
    rule: CoverageRule
    officers: tuple[Hashable, ...]
    # Participants without a certificate valid on the activity's day (持证上岗): they take
    # part and their recordings count as footage, but not toward ``rule.min_officers``.
    uncertified: frozenset[Hashable] = frozenset()
    # This activity's own recordings per officer (e.g. the ones linked to it in the
    # database). When given, they are judged as they are, with no search by time; when
    # None, evaluate_many finds the officers' recordings in its shared mapping.
    recordings_by_officer: Mapping[Any, Sequence[RecordingInterval]] | None = None


# -------------------------------------------------------------------------- results


class Span(NamedTuple):
    """A stretch of time, ``[start, end)``, kept in integer microseconds (UTC).

    A named tuple rather than a dataclass: the bulk check makes millions of them.
    """

    start_us: int
    end_us: int

    @property
    def start(self) -> datetime:
        return from_us(self.start_us)

    @property
    def end(self) -> datetime:
        return from_us(self.end_us)

    @property
    def length_us(self) -> int:
        return self.end_us - self.start_us

    @property
    def length(self) -> timedelta:
        return timedelta(microseconds=self.end_us - self.start_us)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "seconds": self.length_us / 1_000_000,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Verdict
    blocking: bool
    reason_zh: str
    reason_en: str
    officer_id: Hashable = None
    span: Span | None = None
    amount_us: int | None = None

    @classmethod
    def worded(cls, kind: Verdict, blocking: bool, words: wording.Wording, **extra: Any) -> Finding:
        """A finding with its reason from :mod:`coverage_core.wording`."""
        reason_zh, reason_en = words
        return cls(kind=kind, blocking=blocking, reason_zh=reason_zh, reason_en=reason_en, **extra)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "blocking": self.blocking,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
            "officer_id": _json_id(self.officer_id),
            "span": self.span.to_dict() if self.span else None,
            "seconds": None if self.amount_us is None else self.amount_us / 1_000_000,
        }


@dataclass(frozen=True, slots=True)
class OfficerCoverage:
    officer_id: Hashable
    recorded: bool
    covered_us: int
    covered_fraction: float
    intervals: tuple[Span, ...]
    gaps: tuple[Span, ...]
    late_start_us: int | None
    early_stop_us: int | None
    unknown_offset_recordings: int

    @property
    def interior_gaps(self) -> tuple[Span, ...]:
        return _interior(self.intervals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "officer_id": _json_id(self.officer_id),
            "recorded": self.recorded,
            "covered_seconds": self.covered_us / 1_000_000,
            "covered_fraction": self.covered_fraction,
            "intervals": [span.to_dict() for span in self.intervals],
            "gaps": [span.to_dict() for span in self.gaps],
            "late_start_seconds": _seconds_or_none(self.late_start_us),
            "early_stop_seconds": _seconds_or_none(self.early_stop_us),
            "unknown_offset_recordings": self.unknown_offset_recordings,
        }


@dataclass(frozen=True, slots=True)
class CoverageResult:
    verdict: Verdict
    findings: tuple[Finding, ...]
    window_start_us: int
    # The stop moment, or the provisional end of an open activity.
    window_end_us: int
    window_closed: bool
    covered_us: int
    covered_fraction: float
    # Every uncovered piece of the window, leading and trailing ones included, so that
    # ``covered_us + sum(gap lengths) == window length``.
    gaps: tuple[Span, ...]
    coverage: tuple[Span, ...]
    late_start_us: int | None
    early_stop_us: int | None
    officers: tuple[OfficerCoverage, ...]
    officers_recorded: tuple[Hashable, ...]
    min_officers: int
    min_officers_covered_us: int
    min_officers_fraction: float
    unknown_offset_recordings: int
    activity_id: Hashable = None

    @property
    def window_us(self) -> int:
        return self.window_end_us - self.window_start_us

    @property
    def interior_gaps(self) -> tuple[Span, ...]:
        """Holes between covered stretches (what the ``gaps`` finding is about)."""
        return _interior(self.coverage)

    @property
    def reasons_zh(self) -> list[str]:
        findings = [finding.reason_zh for finding in self.findings]
        return findings or [wording.compliant(self.covered_fraction)[0]]

    @property
    def reasons_en(self) -> list[str]:
        findings = [finding.reason_en for finding in self.findings]
        return findings or [wording.compliant(self.covered_fraction)[1]]

    @property
    def summary_zh(self) -> str:
        return wording.summary(self.verdict, self.covered_fraction)[0]

    @property
    def summary_en(self) -> str:
        return wording.summary(self.verdict, self.covered_fraction)[1]

    def has_blocking(self, kind: Verdict) -> bool:
        return any(finding.blocking and finding.kind is kind for finding in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "activity_id": _json_id(self.activity_id),
            "verdict": self.verdict.value,
            "verdict_label_zh": VERDICT_LABELS_ZH[self.verdict],
            "summary_zh": self.summary_zh,
            "summary_en": self.summary_en,
            "window": {
                "from": from_us(self.window_start_us).isoformat(),
                "to": from_us(self.window_end_us).isoformat(),
                "closed": self.window_closed,
            },
            "covered_seconds": self.covered_us / 1_000_000,
            "covered_fraction": self.covered_fraction,
            "gaps": [span.to_dict() for span in self.gaps],
            "late_start_seconds": _seconds_or_none(self.late_start_us),
            "early_stop_seconds": _seconds_or_none(self.early_stop_us),
            "officers": [officer.to_dict() for officer in self.officers],
            "officers_recorded": [_json_id(officer) for officer in self.officers_recorded],
            "min_officers": self.min_officers,
            "min_officers_covered_seconds": self.min_officers_covered_us / 1_000_000,
            "min_officers_fraction": self.min_officers_fraction,
            "unknown_offset_recordings": self.unknown_offset_recordings,
            "findings": [finding.to_dict() for finding in self.findings],
        }


def _json_id(value: Hashable) -> str | int | None:
    """Ids as JSON can hold them: ints and strings as they are, anything else (UUID…)
    as its string."""
    if value is None or isinstance(value, str | int):
        return value
    return str(value)


def _seconds_or_none(value: int | None) -> float | None:
    return None if value is None else value / 1_000_000


def _interior(coverage: tuple[Span, ...]) -> tuple[Span, ...]:
    return tuple(
        Span(coverage[i].end_us, coverage[i + 1].start_us) for i in range(len(coverage) - 1)
    )


# -------------------------------------------------------------------- evaluation


@dataclass(slots=True)
class _RuleUs:
    min_officers: int
    late_grace: int
    early_grace: int
    split_gap: int
    full_process: bool
    required: bool


def _rule_us(rule: CoverageRule) -> _RuleUs:
    return _RuleUs(
        min_officers=rule.min_officers,
        late_grace=duration_us(rule.late_start_grace),
        early_grace=duration_us(rule.early_stop_grace),
        split_gap=duration_us(rule.max_split_gap),
        full_process=rule.full_process,
        required=rule.required,
    )


def evaluate_activity(
    *,
    window: ActivityWindow,
    rule: CoverageRule,
    required_officers: Sequence[OfficerKey],
    recordings_by_officer: Mapping[OfficerKey, Sequence[RecordingInterval]],
    as_of: datetime | None = None,
    officer_labels: Mapping[OfficerKey, str] | None = None,
    display_timezone: tzinfo = DISPLAY_TIMEZONE,
    activity_id: Hashable = None,
    uncertified_officers: Collection[OfficerKey] = (),
) -> CoverageResult:
    """Judge one activity. Raises InvalidWindowError / InvalidRecordingError on bad input.

    ``as_of`` (only used while the stop moment is missing) is the provisional end of
    the window; without it the latest recording end is used. ``uncertified_officers``:
    participants without a certificate valid on the day, who do not count toward the
    rule's minimum officers (持证上岗).
    """
    start_us = to_us(window.start)
    stop_us = None if window.stop is None else to_us(window.stop)
    if stop_us is not None and stop_us < start_us:
        raise InvalidWindowError(f"stop moment {window.stop} is before start moment {window.start}")
    known: dict[Hashable, list[Interval]] = {}
    unknown: dict[Hashable, int] = {}
    for officer in dict.fromkeys(required_officers):
        spans: list[Interval] = []
        unknown_count = 0
        for begin, end, offset_known in _own_items(recordings_by_officer.get(officer, ())):
            if offset_known:
                spans.append((begin, end))
            else:
                unknown_count += 1
        known[officer] = spans
        unknown[officer] = unknown_count
    return _evaluate(
        start_us=start_us,
        stop_us=stop_us,
        as_of_us=None if as_of is None else to_us(as_of),
        rule=_rule_us(rule),
        officers=tuple(known),
        known=known,
        unknown=unknown,
        start_label=window.start_label,
        stop_label=window.stop_label,
        renderer_zone=display_timezone,
        labels=officer_labels,
        activity_id=activity_id,
        uncertified=frozenset(uncertified_officers),
    )


def evaluate_many(
    activities: Sequence[ActivityInput],
    recordings_by_officer: Mapping[OfficerKey, Sequence[RecordingInterval]] | None = None,
    *,
    link_buffer: timedelta = timedelta(0),
    as_of: datetime | None = None,
    officer_labels: Mapping[OfficerKey, str] | None = None,
    display_timezone: tzinfo = DISPLAY_TIMEZONE,
) -> list[CoverageResult]:
    """Judge many activities against many recordings, in the order given.

    Each officer's recordings are sorted once into an :class:`IntervalIndex`; each
    activity then finds its officers' recordings overlapping the window widened by
    ``max(link_buffer, rule.max_split_gap)`` by bisection: O((R + A) log R) overall,
    never activities × recordings. Same answers as :func:`evaluate_activity` given the
    recordings that overlap that widened window.

    An activity that carries its own ``recordings_by_officer`` (per-activity input, as the
    database path passes each activity's linked recordings) is judged on exactly those,
    as :func:`evaluate_activity` would.
    """
    # The cyclic garbage collector is paused for the run: everything built here is
    # acyclic (tuples, slotted dataclasses) and freed by reference counting, but with
    # millions of live objects each full collection walks them all — measured 35 % of
    # the run at 1,000,000 recordings and growing with the input (tests/bench).
    with collector_paused():
        return _evaluate_many(
            activities,
            recordings_by_officer or {},
            link_buffer=link_buffer,
            as_of=as_of,
            officer_labels=officer_labels,
            display_timezone=display_timezone,
        )


def _evaluate_many(
    activities: Sequence[ActivityInput],
    recordings_by_officer: Mapping[OfficerKey, Sequence[RecordingInterval]],
    *,
    link_buffer: timedelta,
    as_of: datetime | None,
    officer_labels: Mapping[OfficerKey, str] | None,
    display_timezone: tzinfo,
) -> list[CoverageResult]:
    indexes: dict[Hashable, IntervalIndex] = {}  # keyed by officer
    for officer, recordings in recordings_by_officer.items():
        items: list[tuple[int, int, object]] = []
        append = items.append
        for recording in recordings:
            # Inline to_us(): this loop runs once per recording of the whole input.
            # A naive datetime makes the subtraction raise TypeError (re-raised below).
            try:
                begin = (recording.start - _EPOCH) // _ONE_MICROSECOND
                end = (recording.end - _EPOCH) // _ONE_MICROSECOND
            except TypeError:
                to_us(recording.start)
                to_us(recording.end)
                raise
            if end < begin:
                raise InvalidRecordingError(
                    f"recording {recording.recording_id!r} ends before it starts"
                )
            append((begin, end, recording.offset_known))
        indexes[officer] = IntervalIndex(items)

    buffer_us = duration_us(link_buffer)
    as_of_us = None if as_of is None else to_us(as_of)
    horizon_us = duration_us(OPEN_ACTIVITY_HORIZON)
    rule_cache: dict[CoverageRule, _RuleUs] = {}
    empty = IntervalIndex(())
    results: list[CoverageResult] = []
    for activity in activities:
        window = activity.window
        rule = rule_cache.get(activity.rule)
        if rule is None:
            rule = rule_cache[activity.rule] = _rule_us(activity.rule)
        start_us = to_us(window.start)
        stop_us = None if window.stop is None else to_us(window.stop)
        if stop_us is not None and stop_us < start_us:
            raise InvalidWindowError(
                f"activity {activity.activity_id!r}: stop moment before start moment"
            )
        widen = buffer_us if buffer_us > rule.split_gap else rule.split_gap
        if stop_us is not None:
            query_end = stop_us
        elif as_of_us is not None:
            query_end = max(as_of_us, start_us)
        else:
            query_end = start_us + horizon_us
        known: dict[Hashable, list[Interval]] = {}
        unknown: dict[Hashable, int] = {}
        own = activity.recordings_by_officer
        for participant in dict.fromkeys(activity.officers):
            spans: list[Interval] = []
            unknown_count = 0
            found = (
                _own_items(own.get(participant, ()))
                if own is not None
                else indexes.get(participant, empty).items_overlapping(
                    start_us - widen, query_end + widen
                )
            )
            for begin, end, offset_known in found:
                if offset_known:
                    spans.append((begin, end))
                else:
                    unknown_count += 1
            known[participant] = spans
            unknown[participant] = unknown_count
        results.append(
            _evaluate(
                start_us=start_us,
                stop_us=stop_us,
                as_of_us=as_of_us,
                rule=rule,
                officers=tuple(known),
                known=known,
                unknown=unknown,
                start_label=window.start_label,
                stop_label=window.stop_label,
                renderer_zone=display_timezone,
                labels=officer_labels,
                activity_id=activity.activity_id,
                uncertified=activity.uncertified,
            )
        )
    return results


def _own_items(recordings: Sequence[RecordingInterval]) -> list[tuple[int, int, bool]]:
    """One activity's own recordings as (begin µs, end µs, offset known)."""
    items = []
    for recording in recordings:
        begin, end = to_us(recording.start), to_us(recording.end)
        if end < begin:
            raise InvalidRecordingError(
                f"recording {recording.recording_id!r} ends before it starts"
            )
        items.append((begin, end, recording.offset_known))
    return items


def _evaluate(
    *,
    start_us: int,
    stop_us: int | None,
    as_of_us: int | None,
    rule: _RuleUs,
    officers: tuple[Hashable, ...],
    known: Mapping[Hashable, list[Interval]],
    unknown: Mapping[Hashable, int],
    start_label: str,
    stop_label: str,
    renderer_zone: tzinfo,
    labels: Mapping[Any, str] | None,
    activity_id: Hashable,
    uncertified: frozenset[Hashable] = frozenset(),
) -> CoverageResult:
    split_gap = rule.split_gap
    merged_by_officer = {officer: merge(known[officer], max_gap=split_gap) for officer in officers}
    window_closed = stop_us is not None
    if stop_us is not None:
        end_us = stop_us
    elif as_of_us is not None:
        end_us = max(as_of_us, start_us)
    else:
        latest = max(
            (spans[-1][1] for spans in merged_by_officer.values() if spans), default=start_us
        )
        end_us = max(latest, start_us)
    length = end_us - start_us
    render = wording.Renderer(zone=renderer_zone, window_start_us=start_us, labels=labels)
    moments = wording.Moments(start_label, stop_label)

    unknown_total = sum(unknown.values())
    if not rule.required:
        return CoverageResult(
            verdict=Verdict.NOT_REQUIRED,
            findings=(Finding.worded(Verdict.NOT_REQUIRED, True, wording.not_required()),),
            window_start_us=start_us,
            window_end_us=end_us,
            window_closed=window_closed,
            covered_us=0,
            covered_fraction=0.0,
            gaps=(),
            coverage=(),
            late_start_us=None,
            early_stop_us=None,
            officers=(),
            officers_recorded=(),
            min_officers=rule.min_officers,
            min_officers_covered_us=0,
            min_officers_fraction=0.0,
            unknown_offset_recordings=unknown_total,
            activity_id=activity_id,
        )

    # Per officer.
    officer_results: list[OfficerCoverage] = []
    clipped_by_officer: list[list[Interval]] = []
    recorded_officers: list[Hashable] = []
    # Only certified participants count toward the minimum officers (持证上岗).
    counted_recorded: list[Hashable] = []
    not_counted = [officer for officer in officers if officer in uncertified]
    for officer in officers:
        merged = merged_by_officer[officer]
        if length > 0:
            clipped = clip(merged, lo=start_us, hi=end_us)
            recorded = bool(clipped)
            covered = total_length(clipped)
            fraction = covered / length
            gaps = complement(clipped, lo=start_us, hi=end_us)
            late = clipped[0][0] - start_us if clipped else None
            early = end_us - clipped[-1][1] if clipped else None
        else:
            clipped = [(start_us, start_us)] if _covers_point(merged, start_us) else []
            recorded = bool(clipped)
            covered = 0
            fraction = 1.0 if recorded else 0.0
            gaps = []
            late = 0 if recorded else None
            early = 0 if recorded else None
        clipped_by_officer.append(clipped)
        if recorded:
            recorded_officers.append(officer)
            if officer not in uncertified:
                counted_recorded.append(officer)
        officer_results.append(
            OfficerCoverage(
                officer_id=officer,
                recorded=recorded,
                covered_us=covered,
                covered_fraction=fraction,
                intervals=tuple(Span(a, b) for a, b in clipped if a < b),
                gaps=tuple(starmap(Span, gaps)),
                late_start_us=late,
                early_stop_us=early,
                unknown_offset_recordings=unknown.get(officer, 0),
            )
        )

    # Combined.
    if length > 0:
        union = merge(
            [pair for clipped in clipped_by_officer for pair in clipped], max_gap=split_gap
        )
        covered_us = total_length(union)
        covered_fraction = covered_us / length
        union_gaps = complement(union, lo=start_us, hi=end_us)
        late_us = union[0][0] - start_us if union else None
        early_us = end_us - union[-1][1] if union else None
        k_cover = (
            covering_at_least(
                [
                    clipped
                    for officer, clipped in zip(officers, clipped_by_officer, strict=True)
                    if officer not in uncertified
                ],
                k=rule.min_officers,
            )
            if rule.min_officers > 1
            else union
        )
        k_covered_us = total_length(k_cover)
        k_fraction = k_covered_us / length
    else:
        union = []
        covered_us = 0
        any_recorded = bool(recorded_officers)
        covered_fraction = 1.0 if any_recorded else 0.0
        union_gaps = []
        k_cover = []
        late_us = 0 if any_recorded else None
        early_us = 0 if any_recorded else None
        k_covered_us = 0
        k_fraction = 1.0 if len(counted_recorded) >= rule.min_officers else 0.0

    findings: list[Finding] = []
    if not window_closed:
        findings.append(Finding.worded(Verdict.UNDECIDABLE, True, wording.window_open(moments)))

    participants = len(officers)
    counted = participants - len(not_counted)
    staffing_short = counted < rule.min_officers
    not_counted_names = [render.officer(officer) for officer in not_counted]
    if staffing_short:
        findings.append(
            Finding.worded(
                Verdict.INSUFFICIENT_OFFICERS,
                True,
                wording.uncertified_participants(
                    not_counted_names, counted=counted, min_officers=rule.min_officers
                )
                if not_counted
                else wording.too_few_participants(participants, rule.min_officers),
            )
        )
    elif not_counted:
        findings.append(
            Finding.worded(
                Verdict.INSUFFICIENT_OFFICERS, False, wording.uncertified_notice(not_counted_names)
            )
        )

    any_recorded = bool(recorded_officers)
    if not any_recorded:
        findings.append(
            Finding.worded(Verdict.NOT_RECORDED, True, wording.none_recorded(participants, moments))
        )
    else:
        if late_us is not None and late_us > rule.late_grace:
            findings.append(
                Finding.worded(
                    Verdict.LATE_START,
                    True,
                    wording.late_start(late_us, rule.late_grace, moments),
                    span=Span(start_us, start_us + late_us),
                    amount_us=late_us,
                )
            )
        if window_closed and early_us is not None and early_us > rule.early_grace:
            findings.append(
                Finding.worded(
                    Verdict.EARLY_STOP,
                    True,
                    wording.early_stop(early_us, rule.early_grace, moments),
                    span=Span(end_us - early_us, end_us),
                    amount_us=early_us,
                )
            )
        # Uncovered time inside the graces is forgiven wherever it falls, so a short
        # clip before a late-but-tolerated start does not turn into a "gap".
        middle_lo = start_us + rule.late_grace
        middle_hi = end_us - rule.early_grace if window_closed else end_us
        holes = clip(interior_gaps(union), lo=middle_lo, hi=middle_hi)
        if holes:
            total_hole = sum(b - a for a, b in holes)
            longest = max(holes, key=lambda pair: (pair[1] - pair[0], -pair[0]))
            longest_span = Span(*longest)
            longest_us = longest[1] - longest[0]
            findings.append(
                Finding.worded(
                    Verdict.GAPS,
                    rule.full_process,
                    wording.gaps(
                        count=len(holes),
                        total_us=total_hole,
                        longest_us=longest_us,
                        longest=render.span(*longest),
                        full_process=rule.full_process,
                    ),
                    span=longest_span,
                    amount_us=total_hole,
                )
            )
        if not staffing_short and rule.min_officers > 1:
            if len(counted_recorded) < rule.min_officers:
                findings.append(
                    Finding.worded(
                        Verdict.INSUFFICIENT_OFFICERS,
                        True,
                        wording.too_few_recorded(len(counted_recorded), rule.min_officers),
                    )
                )
            else:
                # Time (outside the graces) when someone recorded but fewer than
                # min_officers did; hand-overs within the split-file tolerance pass.
                shortfall = total_length(clip(union, lo=middle_lo, hi=middle_hi)) - total_length(
                    clip(k_cover, lo=middle_lo, hi=middle_hi)
                )
                if shortfall > rule.split_gap:
                    findings.append(
                        Finding.worded(
                            Verdict.INSUFFICIENT_OFFICERS,
                            True,
                            wording.shortfall(shortfall, k_covered_us, rule.min_officers),
                            amount_us=shortfall,
                        )
                    )
        for officer_result in officer_results:
            # An officer whose only files cannot be placed gets the undecidable notice.
            if not officer_result.recorded and not officer_result.unknown_offset_recordings:
                name = render.officer(officer_result.officer_id)
                findings.append(
                    Finding.worded(
                        Verdict.NOT_RECORDED,
                        False,
                        wording.officer_not_recorded(name),
                        officer_id=officer_result.officer_id,
                    )
                )

    if unknown_total:
        # Unplaceable recordings could repair anything except a staffing shortfall.
        fixable = [f for f in findings if f.blocking and f.kind is not Verdict.UNDECIDABLE]
        could_change = bool(fixable) and not staffing_short
        for officer in officers:
            count = unknown.get(officer, 0)
            if not count:
                continue
            name = render.officer(officer)
            if could_change:
                findings.append(
                    Finding.worded(
                        Verdict.UNDECIDABLE,
                        True,
                        wording.unknown_offset_blocking(name, count),
                        officer_id=officer,
                    )
                )
            else:
                findings.append(
                    Finding.worded(
                        Verdict.UNDECIDABLE,
                        False,
                        wording.unknown_offset_notice(name, count),
                        officer_id=officer,
                    )
                )

    verdict = Verdict.COMPLIANT
    for finding in findings:
        if finding.blocking and _SEVERITY_RANK[finding.kind] < _SEVERITY_RANK[verdict]:
            verdict = finding.kind
    findings.sort(key=lambda finding: (not finding.blocking, _SEVERITY_RANK[finding.kind]))

    return CoverageResult(
        verdict=verdict,
        findings=tuple(findings),
        window_start_us=start_us,
        window_end_us=end_us,
        window_closed=window_closed,
        covered_us=covered_us,
        covered_fraction=covered_fraction,
        gaps=tuple(starmap(Span, union_gaps)),
        coverage=tuple(starmap(Span, union)),
        late_start_us=late_us,
        early_stop_us=early_us,
        officers=tuple(officer_results),
        officers_recorded=tuple(recorded_officers),
        min_officers=rule.min_officers,
        min_officers_covered_us=k_covered_us,
        min_officers_fraction=k_fraction,
        unknown_offset_recordings=unknown_total,
        activity_id=activity_id,
    )


def _covers_point(merged: Sequence[Interval], moment: int) -> bool:
    return any(start <= moment <= end for start, end in merged)


# ---------------------------------------------------------------- monthly report


@dataclass(frozen=True, slots=True)
class MonthlyEntry:
    """What one activity adds to one group's month (per officer: the officer's own part).

    Built from the stored results (coverage/selectors.py, the report pages) and aggregated
    by :func:`monthly_figures`, the one aggregation."""

    month: str  # "YYYY-MM" in the unit's zone; the caller decides the zone
    key: Hashable  # unit or officer
    verdict: Verdict
    recorded: bool
    late_start: bool  # a blocking late-start finding
    early_stop: bool  # a blocking early-stop finding
    gap_lengths_us: tuple[int, ...]  # holes inside the (officer's) coverage, microseconds
    explained: bool = False  # at least one accepted explanation (per officer: from them)


@dataclass(frozen=True, slots=True)
class MonthlyFigures:
    key: Hashable
    month: str
    activities: int
    required: int
    recorded: int
    decided: int
    compliant: int
    undecidable: int
    late_start: int
    early_stop: int
    gaps: int
    gap_count: int
    median_gap_us: int | None
    activation_rate: float | None
    compliance_rate: float | None
    explained: int = 0
    compliance_rate_explained: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": _json_id(self.key),
            "month": self.month,
            "activities": self.activities,
            "required": self.required,
            "recorded": self.recorded,
            "decided": self.decided,
            "compliant": self.compliant,
            "undecidable": self.undecidable,
            "late_start": self.late_start,
            "early_stop": self.early_stop,
            "gaps": self.gaps,
            "gap_count": self.gap_count,
            "median_gap_seconds": _seconds_or_none(self.median_gap_us),
            "activation_rate": self.activation_rate,
            "compliance_rate": self.compliance_rate,
            "explained": self.explained,
            "compliance_rate_explained": self.compliance_rate_explained,
        }

    def report_figures(self) -> dict[str, Any]:
        """The figures as the report pages and exports show them (rates to 4 places)."""
        return {
            "activities": self.activities,
            "required": self.required,
            "recorded": self.recorded,
            "decided": self.decided,
            "compliant": self.compliant,
            "undecidable": self.undecidable,
            "late_start": self.late_start,
            "early_stop": self.early_stop,
            "with_gaps": self.gaps,
            "gap_count": self.gap_count,
            "median_gap_seconds": _seconds_or_none(self.median_gap_us),
            "activation_rate": _rounded(self.activation_rate),
            "compliance_rate": _rounded(self.compliance_rate),
            "explained": self.explained,
            "compliance_rate_explained": _rounded(self.compliance_rate_explained),
        }


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 4)


@dataclass(slots=True)
class _Tally:
    activities: int = 0
    required: int = 0
    recorded: int = 0
    decided: int = 0
    compliant: int = 0
    undecidable: int = 0
    late_start: int = 0
    early_stop: int = 0
    gaps: int = 0
    explained: int = 0
    gap_lengths: list[int] = field(default_factory=list)

    def add(self, entry: MonthlyEntry) -> None:
        self.activities += 1
        if entry.verdict is Verdict.NOT_REQUIRED:
            return
        self.required += 1
        self.recorded += int(entry.recorded)
        if entry.verdict is Verdict.UNDECIDABLE:
            self.undecidable += 1
        else:
            self.decided += 1
            self.compliant += int(entry.verdict is Verdict.COMPLIANT)
            self.explained += int(entry.explained and entry.verdict is not Verdict.COMPLIANT)
        self.late_start += int(entry.late_start)
        self.early_stop += int(entry.early_stop)
        self.gaps += int(bool(entry.gap_lengths_us))
        self.gap_lengths.extend(entry.gap_lengths_us)


def _group_order(group: tuple[str, Hashable]) -> tuple[str, int, int, str]:
    month, key = group
    if isinstance(key, int):  # unit and officer ids: numerically
        return (month, 0, key, "")
    return (month, 1, 0, str(key))


def monthly_figures(entries: Iterable[MonthlyEntry]) -> list[MonthlyFigures]:
    """Monthly figures per group (unit or officer), sorted by month, then key (ids
    numerically). The one aggregation, the one the report pages use.

    - activation rate = required activities with any recording ÷ required activities
      (per officer: the officer's own recording);
    - compliance rate = compliant ÷ decided, where decided = required minus undecidable
      (an open activity or an unplaceable clock is not counted either way);
    - late start / early stop / gaps = activities with that blocking finding;
    - median gap = median (lower middle value) length of the holes inside the coverage
      (per officer: inside the officer's own coverage) over the group's required
      activities, in whole microseconds (never a float's rounding);
    - explained = decided, not compliant, with an accepted explanation;
      ``compliance_rate_explained`` = (compliant + explained) ÷ decided.
    ``not_required`` activities count in ``activities`` only.
    """
    tallies: dict[tuple[str, Hashable], _Tally] = defaultdict(_Tally)
    for entry in entries:
        tallies[(entry.month, entry.key)].add(entry)
    figures = []
    for (month, key), tally in sorted(tallies.items(), key=lambda kv: _group_order(kv[0])):
        lengths = tally.gap_lengths
        figures.append(
            MonthlyFigures(
                key=key,
                month=month,
                activities=tally.activities,
                required=tally.required,
                recorded=tally.recorded,
                decided=tally.decided,
                compliant=tally.compliant,
                undecidable=tally.undecidable,
                late_start=tally.late_start,
                early_stop=tally.early_stop,
                gaps=tally.gaps,
                gap_count=len(lengths),
                median_gap_us=statistics.median_low(lengths) if lengths else None,
                activation_rate=tally.recorded / tally.required if tally.required else None,
                compliance_rate=tally.compliant / tally.decided if tally.decided else None,
                explained=tally.explained,
                compliance_rate_explained=(tally.compliant + tally.explained) / tally.decided
                if tally.decided
                else None,
            )
        )
    return figures


def seconds_to_us(seconds: float) -> int:
    """Stored seconds (JSON numbers) back to whole microseconds."""
    return round(seconds * 1_000_000)
