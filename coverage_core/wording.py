"""The words of the coverage check, Chinese first, English second.

:mod:`coverage_core.evaluation` decides (which findings, which verdict, which figures);
this module only says it. Every reason is a ``(zh, en)`` pair (:data:`Wording`); the
decision code never builds a sentence. Times are shown in the supervisor's zone
(:class:`Renderer`), durations rounded to a tenth of a second.

Verdict labels are keyed by the verdict's value (``Verdict`` is a ``StrEnum``, so a
``Verdict`` member looks them up as well).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import tzinfo
from typing import Any

from coverage_core.intervals import from_us

Wording = tuple[str, str]  # (zh, en)

VERDICT_LABELS_ZH: Mapping[str, str] = {
    "compliant": "符合要求",
    "late_start": "开始记录过晚",
    "early_stop": "提前停止记录",
    "gaps": "记录中断",
    "not_recorded": "未记录",
    "not_required": "无需记录",
    "undecidable": "无法判定",
    "insufficient_officers": "记录人员不足",
}
VERDICT_LABELS_EN: Mapping[str, str] = {
    "compliant": "compliant",
    "late_start": "late start",
    "early_stop": "early stop",
    "gaps": "gaps",
    "not_recorded": "not recorded",
    "not_required": "not required",
    "undecidable": "undecidable",
    "insufficient_officers": "insufficient officers",
}


# -- durations and times ------------------------------------------------------------------


def format_duration_zh(microseconds: int) -> str:
    """``3分12秒``, ``1小时5秒``, ``12.4秒``; rounded to a tenth of a second."""
    hours, minutes, tenths = _split_duration(microseconds)
    parts = []
    if hours:
        parts.append(f"{hours}小时")
    if minutes:
        parts.append(f"{minutes}分")
    if tenths or not parts:
        parts.append(f"{_tenths_text(tenths)}秒")
    return "".join(parts)


def format_duration_en(microseconds: int) -> str:
    """``3 min 12 s``, ``1 h 5 s``, ``12.4 s``; rounded to a tenth of a second."""
    hours, minutes, tenths = _split_duration(microseconds)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if tenths or not parts:
        parts.append(f"{_tenths_text(tenths)} s")
    return " ".join(parts)


def _split_duration(microseconds: int) -> tuple[int, int, int]:
    total_tenths = (abs(microseconds) + 50_000) // 100_000
    hours, rest = divmod(total_tenths, 36_000)
    minutes, tenths = divmod(rest, 600)
    return hours, minutes, tenths


def _tenths_text(tenths: int) -> str:
    whole, fraction = divmod(tenths, 10)
    return f"{whole}" if fraction == 0 else f"{whole}.{fraction}"


class Renderer:
    """Times shown in the supervisor's zone; the date only when it differs from the
    date the activity started (recordings crossing midnight). Officers by their label."""

    __slots__ = ("labels", "window_start_us", "zone")

    def __init__(
        self, *, zone: tzinfo, window_start_us: int, labels: Mapping[Any, str] | None
    ) -> None:
        self.zone = zone
        self.window_start_us = window_start_us
        self.labels = labels or {}

    def clock(self, microseconds: int) -> str:
        local = from_us(microseconds).astimezone(self.zone)
        reference_date = from_us(self.window_start_us).astimezone(self.zone).date()
        if local.date() == reference_date:
            return local.strftime("%H:%M:%S")
        return local.strftime("%Y-%m-%d %H:%M:%S")

    def span(self, start_us: int, end_us: int) -> str:
        return f"{self.clock(start_us)}–{self.clock(end_us)}"

    def officer(self, officer_id: Hashable) -> str:
        return self.labels.get(officer_id) or str(officer_id)


class Moments:
    """How the window's two moments are named: the record list's words when it has them."""

    __slots__ = ("start_en", "start_zh", "stop_en", "stop_zh")

    def __init__(self, start_label: str, stop_label: str) -> None:
        self.start_zh = f"「{start_label}」" if start_label else "开始时刻"
        self.stop_zh = f"「{stop_label}」" if stop_label else "结束时刻"
        self.start_en = f"“{start_label}”" if start_label else "the start moment"
        self.stop_en = f"“{stop_label}”" if stop_label else "the stop moment"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- summaries ----------------------------------------------------------------------------


def compliant(covered_fraction: float) -> Wording:
    percent = covered_fraction * 100
    return (
        f"符合要求：覆盖率 {percent:.1f}%",
        f"Compliant: {percent:.1f}% of the window recorded",
    )


def summary(verdict: str, covered_fraction: float) -> Wording:
    zh, en = VERDICT_LABELS_ZH[verdict], VERDICT_LABELS_EN[verdict]
    if verdict == "not_required":
        return zh, en
    percent = covered_fraction * 100
    return f"{zh}（覆盖率 {percent:.1f}%）", f"{en} (covered {percent:.1f}%)"


# -- findings -----------------------------------------------------------------------------


def not_required() -> Wording:
    return "该执法环节不要求音像记录", "This stage does not require audio/video recording"


def window_open(moments: Moments) -> Wording:
    return (
        f"尚未到达{moments.stop_zh}，暂无法判定",
        f"{_cap(moments.stop_en)} has not been reached yet; cannot decide",
    )


def too_few_participants(participants: int, min_officers: int) -> Wording:
    return (
        f"参与执法人员 {participants} 人，少于要求的 {min_officers} 人",
        f"{participants} officer(s) took part; at least {min_officers} are required",
    )


def uncertified_participants(names: Sequence[str], *, counted: int, min_officers: int) -> Wording:
    """Participants without a certificate valid on the day do not count (持证上岗)."""
    return (
        f"执法人员 {'、'.join(names)} 当日无有效执法证件，不计入执法人数；"
        f"持证参与 {counted} 人，少于要求的 {min_officers} 人",
        f"Officer(s) {', '.join(names)} held no enforcement certificate valid on the day "
        f"and do not count; {counted} certified officer(s) took part, at least "
        f"{min_officers} are required",
    )


def uncertified_notice(names: Sequence[str]) -> Wording:
    return (
        f"执法人员 {'、'.join(names)} 当日无有效执法证件，未计入执法人数",
        f"Officer(s) {', '.join(names)} held no enforcement certificate valid on the day "
        "and were not counted",
    )


def none_recorded(participants: int, moments: Moments) -> Wording:
    return (
        f"要求的执法人员（{participants} 人）在{moments.start_zh}至{moments.stop_zh}"
        "期间均无音像记录",
        f"None of the {participants} required officer(s) recorded between "
        f"{moments.start_en} and {moments.stop_en}",
    )


def late_start(late_us: int, grace_us: int, moments: Moments) -> Wording:
    return (
        f"开始记录晚于{moments.start_zh}{format_duration_zh(late_us)}"
        f"（允许延迟{format_duration_zh(grace_us)}）",
        f"Recording started {format_duration_en(late_us)} after "
        f"{moments.start_en} (grace {format_duration_en(grace_us)})",
    )


def early_stop(early_us: int, grace_us: int, moments: Moments) -> Wording:
    return (
        f"停止记录早于{moments.stop_zh}{format_duration_zh(early_us)}"
        f"（允许提前{format_duration_zh(grace_us)}）",
        f"Recording stopped {format_duration_en(early_us)} before "
        f"{moments.stop_en} (grace {format_duration_en(grace_us)})",
    )


def gaps(
    *, count: int, total_us: int, longest_us: int, longest: str, full_process: bool
) -> Wording:
    if full_process:
        prefix_zh, prefix_en, suffix_en = "全过程记录中断", "Full-process recording interrupted", ""
    else:
        prefix_zh, prefix_en = "记录中断（非全过程事项，仅提示）", "Recording interrupted"
        suffix_en = " (key-moment rule: notice only)"
    return (
        f"{prefix_zh} {count} 处，共 {format_duration_zh(total_us)}，"
        f"最长 {format_duration_zh(longest_us)}（{longest}）",
        f"{prefix_en} {count} time(s), {format_duration_en(total_us)} "
        f"in total, longest {format_duration_en(longest_us)} ({longest}){suffix_en}",
    )


def too_few_recorded(recorded: int, min_officers: int) -> Wording:
    return (
        f"仅 {recorded} 名执法人员有记录，要求至少 {min_officers} 人记录",
        f"Only {recorded} officer(s) recorded; at least {min_officers} are required",
    )


def shortfall(shortfall_us: int, together_us: int, min_officers: int) -> Wording:
    return (
        f"有 {format_duration_zh(shortfall_us)} 少于 {min_officers} "
        f"名执法人员同时记录（{min_officers} 人同时记录共 "
        f"{format_duration_zh(together_us)}）",
        f"For {format_duration_en(shortfall_us)} fewer than "
        f"{min_officers} officers were recording at once "
        f"({min_officers} together: {format_duration_en(together_us)})",
    )


def officer_not_recorded(name: str) -> Wording:
    return (
        f"执法人员 {name} 在活动期间无记录",
        f"Officer {name} has no recording during the activity",
    )


def unknown_offset_blocking(name: str, count: int) -> Wording:
    return (
        f"执法人员 {name} 有 {count} 条记录的设备时钟偏差未知，无法确定其时间，暂无法判定",
        f"Officer {name} has {count} recording(s) from a device clock "
        "with unknown offset; cannot decide",
    )


def unknown_offset_notice(name: str, count: int) -> Wording:
    return (
        f"执法人员 {name} 有 {count} 条记录的设备时钟偏差未知，未计入",
        f"Officer {name}: {count} recording(s) with unknown clock offset were not counted",
    )
