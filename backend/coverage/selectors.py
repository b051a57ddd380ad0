"""Reads of coverage results and the reports, scoped to the caller (via the activities the
caller may see: supervisors their unit subtree, field officers their own activities).

The unit and officer reports feed the stored results into ``evaluation.monthly_figures``,
the one monthly aggregation (its docstring defines the figures). Explained = decided, not
compliant, with at least one accepted explanation (per officer: accepted from that officer).
The verdict itself never changes: it says what the footage shows, and the accepted
explanation is shown beside it.
Months are calendar months in Asia/Shanghai of the activity's start moment.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import Role, Unit, User
from backend.accounts.selectors import unit_scope_q, units_in_subtree
from backend.config.errors import NotFound
from backend.coverage.models import (
    CoverageEvaluation,
    ExplanationReason,
    ExplanationState,
    GapExplanation,
    OfficerCoverage,
    OfficerMonth,
    RecordingLink,
    UnitMonth,
)
from backend.coverage.services.aggregates import FIGURES
from backend.enforcement.models import Activity, ActivityOfficer
from backend.enforcement.selectors import activities_visible_to
from coverage_core.evaluation import (
    MonthlyEntry,
    Verdict,
    monthly_figures,
    seconds_to_us,
)
from coverage_core.wording import VERDICT_LABELS_ZH


def evaluations_visible_to(user: User) -> QuerySet[CoverageEvaluation]:
    return CoverageEvaluation.objects.filter(activity__in=activities_visible_to(user))


def explanation_get_visible(*, user: User, explanation_id: int) -> GapExplanation | None:
    return (
        GapExplanation.objects.select_related("activity")
        .filter(pk=explanation_id, activity__in=activities_visible_to(user))
        .first()
    )


def links_of_activity(activity: Activity) -> QuerySet[RecordingLink]:
    return (
        RecordingLink.objects.filter(activity=activity)
        .select_related("recording", "officer")
        .order_by("recording__started_at")
    )


EXPLANATION_STATUS_ZH = {
    "none": "无说明",
    "pending": "说明待审核",
    "accepted": "说明已采纳",
    "rejected": "说明未采纳",
}


def explanation_status(explanations: Iterable[GapExplanation]) -> str:
    """``none`` | ``pending`` (any awaiting a decision) | ``accepted`` (all decided, at
    least one accepted) | ``rejected``."""
    states = [e.state for e in explanations]
    if not states:
        return "none"
    if ExplanationState.PENDING in states:
        return "pending"
    return "accepted" if ExplanationState.ACCEPTED in states else "rejected"


def _explanation_line_zh(explanation: GapExplanation, officer_name: str) -> str:
    state = str(ExplanationState(explanation.state).label)
    text = f"：{explanation.text}" if explanation.text else ""
    note = f"，审核意见：{explanation.decision_note}" if explanation.decision_note else ""
    who = f"{officer_name} " if officer_name else ""
    return f"{who}说明「{ExplanationReason(explanation.reason).label}{text}」（{state}{note}）"


def _explanation_line_en(explanation: GapExplanation, officer_name: str) -> str:
    text = f": {explanation.text}" if explanation.text else ""
    note = f"; note: {explanation.decision_note}" if explanation.decision_note else ""
    who = f"{officer_name} " if officer_name else ""
    reason = explanation.reason.replace("_", " ")
    return f'{who}explained "{reason}{text}" ({explanation.state}{note})'


def verdict_with_explanations(
    evaluation: CoverageEvaluation | None,
    explanations: Sequence[GapExplanation],
    officer_names: Mapping[int, str] | None = None,
) -> tuple[str, str]:
    """The verdict line a supervisor reads, with every explanation and its decision:
    ``记录中断（覆盖率 83.3%）；李明 说明「电量耗尽：…」（已采纳，审核意见：已核实）``."""
    names = officer_names or {}
    zh = evaluation.summary_zh if evaluation else "尚未检查"
    en = evaluation.summary_en if evaluation else "not checked yet"
    if not explanations:
        return zh, en
    zh_parts = [_explanation_line_zh(e, names.get(e.officer_id, "")) for e in explanations]
    en_parts = [_explanation_line_en(e, names.get(e.officer_id, "")) for e in explanations]
    return f"{zh}；{'；'.join(zh_parts)}", f"{en}; {'; '.join(en_parts)}"


def gaps_with_explanations(
    gaps: Sequence[dict[str, Any]], explanations: Sequence[GapExplanation]
) -> list[dict[str, Any]]:
    """Each stored gap with the explanations that concern it: those whose ``gap_from`` –
    ``gap_to`` overlaps it, and those given for the activity as a whole (no times)."""
    out = []
    for gap in gaps:
        start = datetime.datetime.fromisoformat(gap["from"])
        end = datetime.datetime.fromisoformat(gap["to"])
        matching = [
            e
            for e in explanations
            if (e.gap_from is None or e.gap_from <= end) and (e.gap_to is None or e.gap_to >= start)
        ]
        out.append(
            {
                **gap,
                "explanation_ids": [e.pk for e in matching],
                "explanation_status": explanation_status(matching),
            }
        )
    return out


# --------------------------------------------------------------------- reports


def _month(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m")


def _scoped_activities(
    user: User,
    *,
    date_from: datetime.date | None,
    date_to: datetime.date | None,
    unit_id: int | None = None,
) -> QuerySet[Activity]:
    queryset = activities_visible_to(user)
    zone = timezone.get_default_timezone()
    if date_from:
        start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=zone)
        queryset = queryset.filter(started_at__gte=start)
    if date_to:
        end = datetime.datetime.combine(
            date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
        )
        queryset = queryset.filter(started_at__lt=end)
    if unit_id is not None:
        _check_unit_in_scope(user, unit_id)
        queryset = queryset.filter(unit_id=unit_id)
    return queryset


def _check_unit_in_scope(user: User, unit_id: int) -> None:
    """A unit outside the caller's tree answers 404 like every id outside scope (an empty
    200 would still tell that the unit exists)."""
    if user.role == Role.SYSTEM_ADMIN:
        units = Unit.objects.all()
    else:
        units = units_in_subtree(user.unit) if user.unit else Unit.objects.none()
    if not units.filter(pk=unit_id).exists():
        raise NotFound(str(_("没有该单位")), code="unit_not_found")


ACTIVITY_REPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("activity_id", "活动编号"),
    ("started_at", "开始时刻"),
    ("stopped_at", "结束时刻"),
    ("unit", "单位"),
    ("category", "执法类别"),
    ("stage", "执法环节"),
    ("officers", "执法人员"),
    ("uncertified", "未持证人员"),
    ("verdict", "结论代码"),
    ("verdict_zh", "结论"),
    ("covered_percent", "覆盖率(%)"),
    ("late_start_seconds", "开始延迟(秒)"),
    ("early_stop_seconds", "提前停止(秒)"),
    ("recorded", "有记录"),
    ("gap_count", "中断次数"),
    ("median_gap_seconds", "中断时长中位数(秒)"),
    ("longest_gap_seconds", "最长中断(秒)"),
    ("explanations", "说明状态代码"),
    ("explanations_zh", "说明状态"),
    ("reasons_zh", "原因"),
    ("verdict_explained_zh", "结论及说明"),
)


def report_activities(
    user: User,
    *,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    unit_id: int | None = None,
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """One row per activity with its stored verdict."""
    activities = (
        _scoped_activities(user, date_from=date_from, date_to=date_to, unit_id=unit_id)
        .select_related("coverage", "unit")
        .prefetch_related(
            Prefetch("participants", queryset=ActivityOfficer.objects.select_related("officer")),
            "explanations",
        )
        .order_by("started_at")[:limit]
    )
    rows = []
    for activity in activities:
        evaluation: CoverageEvaluation | None = getattr(activity, "coverage", None)
        participants = list(activity.participants.all())
        explanations = list(activity.explanations.all())
        holes = list(evaluation.interior_gap_seconds) if evaluation else []
        status = explanation_status(explanations)
        names = {p.officer_id: p.officer.name for p in participants}
        rows.append(
            {
                "activity_id": str(activity.pk),
                "started_at": timezone.localtime(activity.started_at).isoformat(),
                "stopped_at": timezone.localtime(activity.stopped_at).isoformat()
                if activity.stopped_at
                else None,
                "unit": activity.unit.name,
                "category": activity.category,
                "stage": activity.stage,
                "officers": "、".join(p.officer.name for p in participants),
                "uncertified": "、".join(
                    p.officer.name for p in participants if not p.certificate_valid
                ),
                "verdict": evaluation.verdict if evaluation else None,
                "verdict_zh": VERDICT_LABELS_ZH[Verdict(evaluation.verdict)] if evaluation else "",
                "covered_percent": round(evaluation.covered_fraction * 100, 1)
                if evaluation
                else None,
                "late_start_seconds": evaluation.late_start_seconds if evaluation else None,
                "early_stop_seconds": evaluation.early_stop_seconds if evaluation else None,
                "recorded": ("是" if evaluation.any_recording else "否") if evaluation else None,
                "gap_count": len(holes),
                "median_gap_seconds": statistics.median_low(holes) if holes else None,
                "longest_gap_seconds": max(holes) if holes else None,
                "explanations": status,
                "explanations_zh": EXPLANATION_STATUS_ZH[status],
                "reasons_zh": "；".join(evaluation.reasons_zh) if evaluation else "",
                "verdict_explained_zh": verdict_with_explanations(evaluation, explanations, names)[
                    0
                ],
            }
        )
    return rows


FIGURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("activities", "活动数"),
    ("required", "应记录活动数"),
    ("recorded", "有记录活动数"),
    ("decided", "可判定活动数"),
    ("compliant", "符合要求数"),
    ("undecidable", "无法判定数"),
    ("late_start", "开始过晚次数"),
    ("early_stop", "提前停止次数"),
    ("with_gaps", "有中断活动数"),
    ("gap_count", "中断次数"),
    ("median_gap_seconds", "中断时长中位数(秒)"),
    ("activation_rate", "启用率"),
    ("compliance_rate", "合规率"),
    ("explained", "说明已采纳数"),
    ("compliance_rate_explained", "计入已采纳说明的合规率"),
)
UNIT_REPORT_COLUMNS = (
    ("month", "月份"),
    ("unit_id", "单位编号"),
    ("unit", "单位"),
    *FIGURE_COLUMNS,
)
OFFICER_REPORT_COLUMNS = (
    ("month", "月份"),
    ("officer_id", "执法人员编号"),
    ("officer", "执法人员"),
    ("unit", "单位"),
    *FIGURE_COLUMNS,
)


def _entry(
    started: datetime.datetime,
    key: int,
    verdict: str,
    recorded: bool,
    late: bool,
    early: bool,
    holes: Sequence[float],
    explained: bool,
) -> MonthlyEntry:
    """A stored result as an entry of the one monthly aggregation (stored gap lengths are
    seconds; the aggregation counts whole microseconds)."""
    return MonthlyEntry(
        month=_month(started),
        key=key,
        verdict=Verdict(verdict),
        recorded=recorded,
        late_start=late,
        early_stop=early,
        gap_lengths_us=tuple(seconds_to_us(length) for length in holes),
        explained=explained,
    )


def report_units(
    user: User,
    *,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    unit_id: int | None = None,
) -> list[dict[str, Any]]:
    """Per unit per month."""
    scoped = _scoped_activities(user, date_from=date_from, date_to=date_to, unit_id=unit_id)
    explained = set(
        GapExplanation.objects.filter(
            activity__in=scoped, state=ExplanationState.ACCEPTED
        ).values_list("activity_id", flat=True)
    )
    rows = (
        CoverageEvaluation.objects.filter(activity__in=scoped)
        .values_list(
            "activity_id",
            "activity__started_at",
            "activity__unit_id",
            "activity__unit__name",
            "verdict",
            "any_recording",
            "late_start",
            "early_stop",
            "interior_gap_seconds",
        )
        .iterator(chunk_size=2000)
    )
    names: dict[Hashable, str] = {}
    entries = []
    for activity_id, started, unit, name, verdict, recorded, late, early, holes in rows:
        names[unit] = name
        entries.append(
            _entry(started, unit, verdict, recorded, late, early, holes, activity_id in explained)
        )
    return [
        {"month": f.month, "unit_id": f.key, "unit": names[f.key], **f.report_figures()}
        for f in monthly_figures(entries)
    ]


def report_officers(
    user: User,
    *,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    unit_id: int | None = None,
) -> list[dict[str, Any]]:
    """Per officer per month (an officer counts in every activity they took part in)."""
    scoped = _scoped_activities(user, date_from=date_from, date_to=date_to, unit_id=unit_id)
    explained = set(
        GapExplanation.objects.filter(
            activity__in=scoped, state=ExplanationState.ACCEPTED
        ).values_list("activity_id", "officer_id")
    )
    rows = (
        OfficerCoverage.objects.filter(evaluation__activity__in=scoped)
        .values_list(
            "evaluation__activity_id",
            "evaluation__activity__started_at",
            "officer_id",
            "officer__name",
            "officer__unit__name",
            "evaluation__verdict",
            "recorded",
            "evaluation__late_start",
            "evaluation__early_stop",
            "interior_gap_seconds",
        )
        .iterator(chunk_size=2000)
    )
    names: dict[Hashable, tuple[str, str]] = {}
    entries = []
    for activity_id, started, officer, name, unit, verdict, recorded, late, early, holes in rows:
        names[officer] = (name, unit)
        entries.append(
            _entry(
                started,
                officer,
                verdict,
                recorded,
                late,
                early,
                holes,
                (activity_id, officer) in explained,
            )
        )
    return [
        {
            "month": f.month,
            "officer_id": f.key,
            "officer": names[f.key][0],
            "unit": names[f.key][1],
            **f.report_figures(),
        }
        for f in monthly_figures(entries)
    ]


# ------------------------------------------------- reports from the monthly rows


def whole_months(
    date_from: datetime.date, date_to: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """The calendar months (Asia/Shanghai) that hold the period: the first day of the
    first month and the last day of the last (the page's figures are kept per month)."""
    first = date_from.replace(day=1)
    following = datetime.date(date_to.year + date_to.month // 12, date_to.month % 12 + 1, 1)
    return first, following - datetime.timedelta(days=1)


def _month_rows(
    model: type[UnitMonth] | type[OfficerMonth],
    user: User,
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    unit_id: int | None,
) -> QuerySet[Any]:
    rows = model.objects.filter(  # type: ignore[attr-defined]
        unit_scope_q(user, unit_field="unit"),
        month__gte=date_from.replace(day=1),
        month__lte=date_to,
    )
    if unit_id is not None:
        _check_unit_in_scope(user, unit_id)
        rows = rows.filter(unit_id=unit_id)
    return rows  # type: ignore[no-any-return]


def report_unit_months(
    user: User,
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    unit_id: int | None = None,
) -> list[dict[str, Any]]:
    """Per unit per month, from the kept monthly rows (one query; the rows grow with units
    × months, never with activities). The months touched by the period count whole."""
    rows = (
        _month_rows(UnitMonth, user, date_from=date_from, date_to=date_to, unit_id=unit_id)
        .filter(activities__gt=0)
        .order_by("month", "unit_id")
        .values("month", "unit_id", "unit__name", *FIGURES)
    )
    return [
        {**row, "month": row["month"].strftime("%Y-%m"), "unit": row.pop("unit__name")}
        for row in rows
    ]


def report_officer_totals(
    user: User,
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    unit_id: int | None = None,
) -> list[dict[str, Any]]:
    """Per officer over the period (the months touched, whole), from the kept monthly rows
    of the activities' units in scope (one grouped query)."""
    rows = (
        _month_rows(OfficerMonth, user, date_from=date_from, date_to=date_to, unit_id=unit_id)
        .values("officer_id", "officer__name", "officer__unit__name")
        .annotate(**{f"sum_{name}": Sum(name) for name in FIGURES})
        .filter(sum_activities__gt=0)
        .order_by("officer_id")
    )
    return [
        {
            "officer_id": row["officer_id"],
            "officer": row["officer__name"],
            "unit": row["officer__unit__name"],
            **{name: row[f"sum_{name}"] for name in FIGURES},
        }
        for row in rows
    ]
